/** The admin gate on Node HTTP requests: allow, or answer 401/403 in OpenAI error JSON. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminCheck } from './admin.js';

/**
 * True when the request may use an admin endpoint; otherwise writes the
 * refusal (401 without or with a wrong token, 403 for a proxied or remote
 * caller when no token is configured) and returns false.
 *
 * @example
 * if (!adminGate(sy.identity.admin, req, res)) return;
 */
export function adminGate(admin: AdminCheck, req: IncomingMessage, res: ServerResponse): boolean {
  if (admin.allows({ peer: req.socket.remoteAddress, headers: req.headers })) return true;
  const [status, code, message] = admin.hasToken
    ? ([401, 'authentication_error', 'this endpoint needs the admin token: `Authorization: Bearer <token>` or `x-switchyard-admin-token`'] as const)
    : ([403, 'permission_denied', 'no admin token is configured, so only direct loopback callers (no Forwarded/X-Forwarded-For/X-Real-IP) may use this endpoint; set the admin token to use it through a proxy'] as const);
  const body = JSON.stringify({ error: { message, type: status === 401 ? 'authentication_error' : 'permission_error', param: null, code } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
  res.end(body);
  return false;
}
