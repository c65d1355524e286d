/**
 * The one place a request becomes an {@link Identity}, for every face (serve,
 * Express, Envoy ext_proc, the nginx decide endpoint): the core calls it
 * before parsing the body.
 *
 * - `keys`: a Switchyard-issued virtual key from `Authorization: Bearer`,
 *   `x-api-key` or `api-key`; missing, malformed, unknown, expired or
 *   disabled → 401. The key is never logged or echoed (only its public id).
 * - `header`: the tenant (and team) header, only from a trusted proxy (CIDRs
 *   and/or shared secret); anyone else → 401.
 * - `none`: a digest of whatever credential is presented; no credential →
 *   `anonymous`. A client-sent tenant header is ignored unless
 *   `auth.trustClientTenantHeader`.
 */
import type { AuthConfig, VirtualKey } from '../config/auth.js';
import { ConfigError } from '../config/load.js';
import type { HeaderBag } from '../core/parse.js';
import { SwitchyardError } from '../errors.js';
import { AdminCheck } from './admin.js';
import { readCredential, type RawHeaders } from './credentials.js';
import { ANONYMOUS, type Identity } from './identity.js';
import { keyIdOf, keyMatches } from './key-format.js';
import { ConfigKeyStore, openKeyStore, type KeyStore } from './key-store.js';
import { boundedId, credentialTenant, namedTenant } from './tenant-name.js';
import { ProxyTrust } from './trusted-proxy.js';

/** What a face knows about a request's sender. */
export interface IdentityInput {
  headers: HeaderBag;
  /** The TCP peer: the client, or the proxy in front (Envoy, nginx). */
  peer?: string | undefined;
  /** Node's `req.rawHeaders`, to see repeated headers Node folds (Authorization keeps only the first). */
  rawHeaders?: RawHeaders;
}

interface Cached {
  rec: VirtualKey | undefined;
  at: number;
  identity?: Identity;
}

const MAX_CACHED = 10_000;

function invalidKey(id: string | undefined): SwitchyardError {
  return new SwitchyardError('authentication_error', id ? `invalid API key (id ${id})` : 'invalid API key: expected a Switchyard key `sy-<id>.<secret>`');
}

function single(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 1) throw new SwitchyardError('invalid_credentials', `the \`${name}\` header is sent more than once`);
    return v[0];
  }
  return v;
}

/**
 * @example
 * const ids = new IdentityResolver(config.auth, process.env);
 * const who = await ids.resolve({ headers: req.headers, peer: req.socket.remoteAddress, rawHeaders: req.rawHeaders });
 * who.tenant; // 't:acme'
 */
export class IdentityResolver {
  readonly admin: AdminCheck;
  private readonly store: KeyStore | undefined;
  private readonly pepper: string;
  private readonly trust: ProxyTrust | undefined;
  private readonly cache = new Map<string, Cached>();
  /** Keys already checked (HMAC is the costly step): presented key → identity, with when it was checked and until when it is valid. */
  private readonly verified = new Map<string, { identity: Identity; at: number; until: number }>();

  constructor(
    private readonly cfg: AuthConfig,
    env: NodeJS.ProcessEnv,
    opts: { onError?: (e: Error) => void } = {},
  ) {
    this.admin = new AdminCheck(env[cfg.adminTokenEnv] || undefined);
    this.pepper = '';
    if (cfg.mode === 'keys') {
      const pepper = env[cfg.keys.pepperEnv];
      if (!pepper || pepper.length < 16) {
        throw new ConfigError([{ path: 'auth.keys.pepperEnv', message: `auth.mode keys needs a pepper of at least 16 characters in $${cfg.keys.pepperEnv}` }]);
      }
      this.pepper = pepper;
      this.store = openKeyStore(cfg.keys, opts.onError);
      // Another process revoked, disabled or rotated a key: drop it now, not after cacheTtlMs.
      this.store.watch?.((id) => this.invalidate(id));
    }
    if (cfg.mode === 'header') {
      try {
        this.trust = new ProxyTrust(cfg.header, env);
      } catch (e) {
        throw new ConfigError([{ path: 'auth.header', message: (e as Error).message }]);
      }
    }
  }

  get mode(): AuthConfig['mode'] {
    return this.cfg.mode;
  }

  /** The request's identity; throws (or rejects with) a SwitchyardError the caller renders in its protocol. */
  resolve(input: IdentityInput): Identity | Promise<Identity> {
    switch (this.cfg.mode) {
      case 'keys':
        return this.fromKey(input);
      case 'header':
        return this.fromProxy(input);
      case 'none':
        return this.fromCredential(input);
    }
  }

  private fromCredential(input: IdentityInput): Identity {
    if (this.cfg.trustClientTenantHeader) {
      const named = single(input.headers, this.cfg.header.tenantHeader);
      if (named) return { tenant: namedTenant(named), source: 'client-header' };
    }
    const c = readCredential(input.headers, input.rawHeaders, this.cfg.maxCredentialBytes);
    if (!c) return ANONYMOUS;
    return { tenant: c.kind === 'key' ? credentialTenant('key', c.value) : credentialTenant('basic', c.user), source: 'credential' };
  }

  private fromProxy(input: IdentityInput): Identity {
    const h = this.cfg.header;
    if (!this.trust!.trusts(input.peer, input.headers)) {
      throw new SwitchyardError('authentication_error', 'this gateway takes identity from its authenticating proxy, and the request did not come through it');
    }
    const tenant = single(input.headers, h.tenantHeader);
    if (!tenant) throw new SwitchyardError('authentication_error', `the authenticating proxy did not name a tenant (\`${h.tenantHeader}\`)`);
    if (Buffer.byteLength(tenant) > this.cfg.maxCredentialBytes) throw new SwitchyardError('header_too_large', `the \`${h.tenantHeader}\` header is longer than ${this.cfg.maxCredentialBytes} bytes`);
    const team = single(input.headers, h.teamHeader);
    const keyId = single(input.headers, 'x-switchyard-key-id');
    return {
      tenant: namedTenant(tenant),
      source: 'proxy',
      ...(team ? { team: namedTenant(team) } : {}),
      ...(keyId ? { keyId: boundedId(keyId) } : {}),
    };
  }

  private fromKey(input: IdentityInput): Identity | Promise<Identity> {
    const c = readCredential(input.headers, input.rawHeaders, this.cfg.maxCredentialBytes);
    if (!c) throw new SwitchyardError('authentication_error', 'missing API key: send `Authorization: Bearer sy-…` (or `x-api-key` / `api-key`)');
    if (c.kind !== 'key') throw new SwitchyardError('authentication_error', 'this gateway takes Switchyard keys as `Authorization: Bearer`, `x-api-key` or `api-key`, not Basic');
    const id = keyIdOf(c.value);
    if (!id) throw invalidKey(undefined);
    const now = Date.now();
    const seen = this.verified.get(c.value);
    if (seen && now < seen.until && (this.store instanceof ConfigKeyStore || now - seen.at < this.cfg.keys.cacheTtlMs)) return seen.identity;
    if (this.store instanceof ConfigKeyStore) return this.verify(c.value, id, { rec: this.store.getSync(id), at: now }, now);
    const hit = this.cache.get(id);
    if (hit && now - hit.at < this.cfg.keys.cacheTtlMs) return this.verify(c.value, id, hit, now);
    return this.store!.get(id).then(
      (rec) => {
        const entry: Cached = { rec, at: Date.now() };
        if (this.cfg.keys.cacheTtlMs > 0) {
          if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
          this.cache.set(id, entry);
        }
        return this.verify(c.value, id, entry, Date.now());
      },
      (e: unknown) => {
        throw new SwitchyardError('auth_unavailable', 'the key store did not answer in time; try again', { cause: e, retryAfter: 1 });
      },
    );
  }

  private verify(key: string, id: string, entry: Cached, now: number): Identity {
    const rec = entry.rec;
    if (!rec || !keyMatches(key, rec.hash, this.pepper)) throw invalidKey(id);
    if (rec.disabled) throw new SwitchyardError('authentication_error', `API key ${id} is disabled`);
    const until = rec.expiresAt !== undefined ? Date.parse(rec.expiresAt) : Number.POSITIVE_INFINITY;
    if (until <= now) throw new SwitchyardError('authentication_error', `API key ${id} expired at ${rec.expiresAt}`);
    const identity = (entry.identity ??= {
      tenant: namedTenant(rec.tenant),
      keyId: id,
      source: 'key',
      key: rec,
      ...(rec.team ? { team: namedTenant(rec.team) } : {}),
    });
    if (this.store instanceof ConfigKeyStore || this.cfg.keys.cacheTtlMs > 0) {
      if (this.verified.size >= MAX_CACHED) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(key, { identity, at: entry.at, until });
    }
    return identity;
  }

  /** The virtual keys (`keys` mode), without their digests; [] in other modes. */
  async listKeys(): Promise<Omit<VirtualKey, 'hash'>[]> {
    if (!this.store) return [];
    return (await this.store.list()).map(({ hash: _hash, ...rest }) => rest);
  }

  /** Forget cached key records (a local revoke/rotate, or an invalidation from the key store). */
  invalidate(id?: string): void {
    if (id === undefined) this.cache.clear();
    else this.cache.delete(id);
    this.verified.clear();
    for (const fn of this.invalidated) fn(id);
  }

  private readonly invalidated = new Set<(id?: string) => void>();

  /** Calls `fn` after each invalidation (for tests and metrics); returns the unsubscribe. */
  onInvalidate(fn: (id?: string) => void): () => void {
    this.invalidated.add(fn);
    return () => this.invalidated.delete(fn);
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}
