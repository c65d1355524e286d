/**
 * Is this request from the proxy we trust? A peer address inside one of the
 * configured CIDR blocks and/or the shared secret header the proxy adds
 * (compared in constant time). When both are configured, both must hold.
 */
import { BlockList, isIP } from 'node:net';
import type { TrustConfig } from '../config/auth.js';
import type { HeaderBag } from '../core/parse.js';
import { safeEqual } from './compare.js';

/** `::ffff:127.0.0.1` → `127.0.0.1`; `[::1]` → `::1`. */
export function normalizeAddress(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  let a = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
  const pct = a.indexOf('%');
  if (pct !== -1) a = a.slice(0, pct);
  if (a.toLowerCase().startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  return isIP(a) ? a : undefined;
}

/**
 * A gRPC peer string → its address: `127.0.0.1:5000` and `[::1]:5000` (what
 * @grpc/grpc-js reports), or the `ipv4:`/`ipv6:`-prefixed forms of gRPC core.
 * A Unix socket peer has no address (trust it by shared secret).
 */
export function grpcPeerAddress(peer: string | undefined): string | undefined {
  if (!peer) return undefined;
  const p = peer.replace(/^ipv[46]:/, '');
  const m = /^([0-9.]+):\d+$/.exec(p) ?? /^\[([^\]]+)\]:\d+$/.exec(p);
  return normalizeAddress(m?.[1]);
}

/** Builds a block list from `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`. Throws on a malformed entry. */
export function blockListOf(cidrs: readonly string[]): BlockList {
  const bl = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined];
    const type = isIP(addr);
    if (type === 0) throw new Error(`"${c}" is not an IP address or CIDR block`);
    const family = type === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) bl.addAddress(addr, family);
    else {
      const n = Number(bits);
      if (!Number.isInteger(n) || n < 0 || n > (type === 4 ? 32 : 128)) throw new Error(`"${c}" has a bad prefix length`);
      bl.addSubnet(addr, n, family);
    }
  }
  return bl;
}

/** Whether an address lies in a block list (IPv4-mapped IPv6 is read as IPv4). */
export function inBlockList(bl: BlockList, address: string | undefined): boolean {
  const a = normalizeAddress(address);
  if (!a) return false;
  return bl.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * @example
 * const trust = new ProxyTrust({ trustedProxies: ['10.0.0.0/8'], sharedSecretHeader: 'x-switchyard-proxy-secret' }, process.env);
 * trust.trusts('10.1.2.3', headers); // true when from 10/8 (and the secret matches, if one is configured)
 */
export class ProxyTrust {
  private readonly blocks: BlockList | undefined;
  private readonly secret: string | undefined;
  private readonly header: string;

  constructor(cfg: TrustConfig, env: NodeJS.ProcessEnv) {
    this.blocks = cfg.trustedProxies.length > 0 ? blockListOf(cfg.trustedProxies) : undefined;
    this.header = cfg.sharedSecretHeader;
    if (cfg.sharedSecretEnv) {
      const s = env[cfg.sharedSecretEnv];
      if (!s) throw new Error(`the proxy shared secret is read from $${cfg.sharedSecretEnv}, which is not set`);
      this.secret = s;
    }
  }

  /** Anything configured at all? (Nothing configured trusts nobody.) */
  get configured(): boolean {
    return this.blocks !== undefined || this.secret !== undefined;
  }

  trusts(peer: string | undefined, headers: HeaderBag): boolean {
    if (!this.configured) return false;
    if (this.blocks && !inBlockList(this.blocks, peer)) return false;
    if (this.secret !== undefined) {
      const v = headers[this.header];
      if (typeof v !== 'string' || !safeEqual(v, this.secret)) return false;
    }
    return true;
  }
}
