/**
 * Configuration of identity and access: how a request proves who it is
 * (`auth.mode`), where virtual keys live, which proxies may name a tenant,
 * the admin token and the nginx decide endpoint's trust. Composed into the
 * main schema (`schema.ts`) as `auth`; `src/identity/` implements it.
 *
 * @example
 * ```yaml
 * auth:
 *   mode: keys
 *   keys:
 *     store: redis
 *     redis: { url: redis://127.0.0.1:6379 }
 * ```
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const usd = z.number().nonnegative();
const perMinute = z.number().int().nonnegative();
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name')
  .toLowerCase();

/** An IPv4 or IPv6 address with an optional prefix length (`10.0.0.0/8`, `::1`, `fd00::/8`). */
const cidr = z.string().refine(
  (v) => {
    const [addr, bits, extra] = v.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
  },
  { message: 'an IP address or CIDR block, e.g. 10.0.0.0/8 or fd00::/8' },
);

/** Per-key spending caps (USD per UTC day / month). */
export const keyBudgetSchema = z.object({ dailyUsd: usd.optional(), monthlyUsd: usd.optional() }).strict();
/** Per-key rate limits. */
export const keyRateLimitSchema = z.object({ requestsPerMinute: perMinute.optional(), tokensPerMinute: perMinute.optional() }).strict();

/**
 * One Switchyard-issued virtual key as stored: never the key, only its
 * peppered SHA-256 (HMAC) digest.
 */
export const virtualKeySchema = z
  .object({
    /** Public key id (the part of the key after `sy-`, before the `.`). */
    id: z.string().regex(/^[a-z0-9]{8,32}$/, '8–32 lower-case letters and digits'),
    /** hex HMAC-SHA-256(pepper, key): what `switchyard keys create` prints and stores. */
    hash: z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits'),
    /** The tenant this key acts as. */
    tenant: z.string().min(1).max(512),
    team: z.string().min(1).max(512).optional(),
    /** A label for people (`keys list` shows it). */
    name: z.string().max(200).optional(),
    createdAt: z.string().optional(),
    /** ISO date-time after which the key is refused. */
    expiresAt: z.string().datetime({ offset: true }).optional(),
    disabled: z.boolean().default(false),
    /** Models (names as clients send them, or `switchyard/auto`, `switchyard/<tier>`) this key may request; absent = any. */
    models: z.array(z.string().min(1)).optional(),
    /** Tiers this key may be routed to; absent = any. */
    tiers: z.array(z.string().min(1)).optional(),
    budget: keyBudgetSchema.optional(),
    rateLimit: keyRateLimitSchema.optional(),
  })
  .strict();

export const keysStoreSchema = z
  .object({
    /** `config`: the `entries` below; `file`: a JSON file `switchyard keys` manages; `redis`: shared by replicas. */
    store: z.enum(['config', 'file', 'redis']).default('config'),
    /** Environment variable holding the per-deployment pepper (required in `keys` mode). */
    pepperEnv: envName.default('SWITCHYARD_KEY_PEPPER'),
    entries: z.array(virtualKeySchema).default([]),
    /** JSON file for `store: file`. */
    file: z.string().min(1).optional(),
    redis: z
      .object({
        url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
        /** Prefix of every key-store key; each key lives in its own hash slot (`{id}`). */
        keyPrefix: z.string().min(1).default('switchyard:keys:'),
        commandTimeoutMs: z.number().int().positive().default(250),
      })
      .strict()
      .default({ url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:keys:', commandTimeoutMs: 250 }),
    /** How long a looked-up key is trusted before the store is asked again (a revoke takes up to this long); 0 = always ask. */
    cacheTtlMs: z.number().int().min(0).default(5_000),
  })
  .strict()
  .refine((k) => k.store !== 'file' || Boolean(k.file), { message: '`file` is required when `store` is "file"', path: ['file'] });

/** Who may speak for a tenant: peers in these blocks and/or holders of the shared secret. */
export const trustSchema = z
  .object({
    trustedProxies: z.array(cidr).default([]),
    /** Header the proxy adds with the shared secret. */
    sharedSecretHeader: headerName.default('x-switchyard-proxy-secret'),
    /** Environment variable holding the shared secret; unset = no secret required. */
    sharedSecretEnv: envName.optional(),
  })
  .strict();

export const headerModeSchema = trustSchema
  .extend({
    tenantHeader: headerName.default('x-switchyard-tenant'),
    teamHeader: headerName.default('x-switchyard-team'),
  })
  .strict();

export const nginxDecideSchema = trustSchema
  .extend({
    /** Serve `POST /switchyard/decide/*` (the nginx data-plane variant). Off unless set. */
    enabled: z.boolean().default(false),
    /** Where nginx connects from; default loopback (nginx on the same host). */
    trustedProxies: z.array(cidr).default(['127.0.0.1/32', '::1/128']),
    /** nginx `upstream` blocks Switchyard may redirect to (default: every upstream). */
    upstreams: z.array(z.string().min(1)).optional(),
    /** Upstreams that ignore the request's model field (default: `local: true` ones). */
    modelAgnostic: z.array(z.string().min(1)).optional(),
    /**
     * Accept `POST /switchyard/decide-usage {request_id, usage}` from the trusted proxy to correct the
     * estimate a redirected request was charged with its real usage (nginx cannot read the answer by
     * itself: njs or a log shipper posts it). Off: the estimate stands.
     */
    usageReport: z.boolean().default(false),
  })
  .strict();

export const authSchema = z
  .object({
    /**
     * `none` (default, local development): the tenant is a digest of the presented credential;
     * `keys`: Switchyard-issued virtual keys; `header`: a trusted authenticating proxy names the tenant.
     */
    mode: z.enum(['none', 'keys', 'header']).default('none'),
    /** `none` mode only: take the tenant from `header.tenantHeader` when the client sends it (never for production). */
    trustClientTenantHeader: z.boolean().default(false),
    /** Environment variable holding the admin token (management endpoints, /metrics, admin feedback). */
    adminTokenEnv: envName.default('SWITCHYARD_ADMIN_TOKEN'),
    /** Longest credential accepted (bytes); longer ones get 400. */
    maxCredentialBytes: z.number().int().min(64).max(16_384).default(2_048),
    keys: keysStoreSchema.default(keysStoreSchema.parse({})),
    header: headerModeSchema.default(headerModeSchema.parse({})),
    nginx: nginxDecideSchema.default(nginxDecideSchema.parse({})),
    /** Feedback requests per minute per tenant (`POST /switchyard/feedback`). */
    feedbackPerMinute: z.number().int().positive().default(60),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.mode === 'header' && a.header.trustedProxies.length === 0 && !a.header.sharedSecretEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: 'header mode needs `trustedProxies` and/or `sharedSecretEnv`: otherwise any client could name a tenant',
      });
    }
  });

/** The `auth` section after validation. */
export type AuthConfig = z.output<typeof authSchema>;
export type VirtualKey = z.output<typeof virtualKeySchema>;
export type VirtualKeyInput = z.input<typeof virtualKeySchema>;
export type KeysStoreConfig = z.output<typeof keysStoreSchema>;
export type TrustConfig = z.output<typeof trustSchema>;
export type HeaderModeConfig = z.output<typeof headerModeSchema>;
export type NginxDecideConfig = z.output<typeof nginxDecideSchema>;
