/**
 * Who is calling: what every face's request resolves to before anything else
 * runs. Cache partitions, budgets, rate limits, feedback and learning all key
 * on it, so none of them can be claimed by saying a name.
 */
import type { VirtualKey } from '../config/auth.js';

/** How an identity was established. */
export type IdentitySource =
  /** A Switchyard-issued virtual key (`auth.mode: keys`). */
  | 'key'
  /** A tenant header set by a trusted proxy (`auth.mode: header`). */
  | 'proxy'
  /** A digest of the presented credential (`auth.mode: none`). */
  | 'credential'
  /** A client-sent tenant header, trusted only by `auth.trustClientTenantHeader` in `none` mode. */
  | 'client-header'
  /** No credential at all (`auth.mode: none`): the shared `anonymous` tenant. */
  | 'anonymous';

/**
 * A resolved caller.
 *
 * @example
 * const id: Identity = { tenant: 't:acme', keyId: 'k3j9x0a1b2c3', source: 'key' };
 */
export interface Identity {
  /** `t:<name>` (named), `t#<sha256>` (a long or unprintable name, hashed), `k:<digest>` (a credential) or `anonymous`. */
  readonly tenant: string;
  /** The virtual key's id (`keys` mode). */
  readonly keyId?: string;
  /** `t:<name>`-style team, when the key or the proxy names one. */
  readonly team?: string;
  readonly source: IdentitySource;
  /** The key's record (allowed models, budgets, limits), in `keys` mode. */
  readonly key?: VirtualKey;
}

/** The identity of requests without any credential in `none` mode. */
export const ANONYMOUS: Identity = Object.freeze({ tenant: 'anonymous', source: 'anonymous' as const });
