/**
 * Who may use the management and observability endpoints (`/switchyard/*`,
 * `/metrics` unless public) and send admin feedback.
 *
 * - With an admin token (from the env var `auth.adminTokenEnv`, default
 *   `SWITCHYARD_ADMIN_TOKEN`): only a request carrying it, as
 *   `Authorization: Bearer <token>` or `x-switchyard-admin-token`, compared in
 *   constant time.
 * - Without one: only a direct loopback caller. A request carrying
 *   `Forwarded`, `X-Forwarded-For` or `X-Real-IP` came through a proxy (the
 *   shipped nginx adds them), so the loopback address is the proxy's, not the
 *   caller's: it is refused.
 */
import type { HeaderBag } from '../core/parse.js';
import { safeEqual } from './compare.js';
import { normalizeAddress } from './trusted-proxy.js';

const LOOPBACK_V4 = /^127\./;
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const;

/** Is the address a loopback one (127.0.0.0/8, ::1, IPv4-mapped 127.x)? */
export function isLoopback(addr: string | undefined): boolean {
  const a = normalizeAddress(addr);
  return a !== undefined && (a === '::1' || LOOPBACK_V4.test(a));
}

/** Did the request pass through a proxy that said so? */
export function viaProxy(headers: HeaderBag): boolean {
  return PROXY_HEADERS.some((h) => headers[h] !== undefined);
}

/** The admin token presented, if any (Bearer or `x-switchyard-admin-token`). */
function presented(headers: HeaderBag): string | undefined {
  const t = headers['x-switchyard-admin-token'];
  if (typeof t === 'string') return t.trim();
  const a = headers['authorization'];
  const v = Array.isArray(a) ? a[0] : a;
  if (v && v.length > 7 && v.slice(0, 7).toLowerCase() === 'bearer ') return v.slice(7).trim();
  return undefined;
}

/**
 * @example
 * const admin = new AdminCheck(process.env.SWITCHYARD_ADMIN_TOKEN);
 * admin.allows({ peer: req.socket.remoteAddress, headers: req.headers });
 */
export class AdminCheck {
  constructor(private readonly token: string | undefined) {}

  /** Whether a token is configured. */
  get hasToken(): boolean {
    return Boolean(this.token);
  }

  allows(req: { peer?: string | undefined; headers: HeaderBag }): boolean {
    if (this.token) {
      const p = presented(req.headers);
      return p !== undefined && safeEqual(p, this.token);
    }
    return isLoopback(req.peer) && !viaProxy(req.headers);
  }

  /** Whether the request presents the admin token (not merely loopback): what admin-sourced feedback needs when a token is set. */
  presentsToken(headers: HeaderBag): boolean {
    if (!this.token) return false;
    const p = presented(headers);
    return p !== undefined && safeEqual(p, this.token);
  }
}
