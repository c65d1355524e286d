/**
 * Label values from bounded sets, so no request can grow the number of
 * metric series. Models, upstreams and tiers come from the config (anything
 * else — e.g. the model name a cached answer carries — is `other`); routes
 * from the fixed endpoint table; statuses and error codes from small fixed
 * sets; tenants from an allow list, else `other` or one of N hash buckets.
 * Rebuilt when the config object changes (a reload), never per request.
 */
import { createHash } from 'node:crypto';
import type { SwitchyardConfig } from '../config/schema.js';
import { ERROR_CODES } from '../errors.js';

export const OTHER = 'other';
const PINNED_PREFIX = 'switchyard/';
export const NONE = 'none';

const ROUTES: Record<string, string> = {
  'openai:chat': '/v1/chat/completions',
  'openai:completion': '/v1/completions',
  'openai:embedding': '/v1/embeddings',
  'anthropic:chat': '/v1/messages',
};

const STATUS = new Map<number, string>();

/** The route label of a protocol and operation. */
export function routeLabel(protocol: string, operation: string): string {
  return ROUTES[`${protocol}:${operation}`] ?? OTHER;
}

/** An HTTP status as a label (cached strings; unusual codes become their class, e.g. `5xx`). */
export function statusLabel(status: number): string {
  let s = STATUS.get(status);
  if (s === undefined) {
    s = status >= 100 && status < 600 ? String(status) : OTHER;
    if (STATUS.size < 64) STATUS.set(status, s);
    else s = `${Math.floor(status / 100)}xx`;
  }
  return s;
}

/** An error code as a label: a code of the error table, `client_disconnected`, or `other`. */
export function errorLabel(code: string): string {
  return code in ERROR_CODES || code === 'client_disconnected' ? code : OTHER;
}

/**
 * The label sets of one config.
 *
 * @example
 * const l = new LabelSets(config);
 * l.model('gpt-4o'); // 'gpt-4o' when configured, else 'other'
 */
export class LabelSets {
  private readonly models = new Set<string>();
  private readonly upstreams = new Set<string>();
  private readonly tiers = new Set<string>();
  /** Lower-cased tier name → configured name: a pinned `switchyard/low` counts under tier `LOW`. */
  private readonly tierByLower = new Map<string, string>();
  private readonly tenants: Set<string>;
  private readonly buckets: number;
  private readonly tenantCache = new Map<string, string>();

  constructor(readonly config: SwitchyardConfig) {
    for (const u of config.upstreams) {
      this.upstreams.add(u.name);
      for (const m of u.models) this.models.add(m.name);
    }
    for (const t of config.tiers) {
      this.tiers.add(t.name);
      if (!this.tierByLower.has(t.name.toLowerCase())) this.tierByLower.set(t.name.toLowerCase(), t.name);
    }
    this.tenants = new Set(config.observability.metrics.tenants);
    this.buckets = config.observability.metrics.tenantBuckets;
  }

  /** The configured names, for clients that map values the same way. */
  names(): { models: string[]; upstreams: string[]; tiers: string[] } {
    return { models: [...this.models], upstreams: [...this.upstreams], tiers: [...this.tiers] };
  }

  model(name: string | undefined): string {
    return name === undefined ? NONE : this.models.has(name) ? name : OTHER;
  }

  upstream(name: string | undefined): string {
    return name === undefined ? NONE : this.upstreams.has(name) ? name : OTHER;
  }

  /** A tier as configured; tier names match case-insensitively, as routing matches them. */
  tier(name: string | undefined): string {
    if (name === undefined) return NONE;
    return this.tiers.has(name) ? name : (this.tierByLower.get(name.toLowerCase()) ?? OTHER);
  }

  /**
   * The tier a request counts under: the tier it was routed to, else the
   * tier its `switchyard/<tier>` model pinned (a cache hit is not routed).
   */
  recordTier(r: { tier?: string; requested: string }): string {
    if (r.tier !== undefined) return this.tier(r.tier);
    if (r.requested.startsWith(PINNED_PREFIX)) return this.tierByLower.get(r.requested.slice(PINNED_PREFIX.length).toLowerCase()) ?? NONE;
    return NONE;
  }

  /** A listed tenant as itself; others `other`, or `bucket-NN` by hash when `tenantBuckets` > 0. */
  tenant(name: string): string {
    if (this.tenants.has(name)) return name;
    if (this.buckets === 0) return OTHER;
    let b = this.tenantCache.get(name);
    if (b === undefined) {
      const n = createHash('sha1').update(name).digest().readUInt32BE(0) % this.buckets;
      b = `bucket-${String(n).padStart(2, '0')}`;
      if (this.tenantCache.size > 10_000) this.tenantCache.clear();
      this.tenantCache.set(name, b);
    }
    return b;
  }
}
