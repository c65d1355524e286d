/**
 * `switchyard keys create|list|revoke|rotate|disable|enable`: Switchyard-issued virtual keys
 * in the store the config names (`auth.keys.store`: file or redis; `--file`
 * or `--redis` override it). The plaintext key is printed once, by `create`
 * and `rotate`; stores keep only its peppered digest, and `list` never shows
 * either. With `store: config`, `create` prints the entry to paste into
 * `auth.keys.entries`.
 */
import { ConfigError, defaultConfig, loadConfigFile } from '../config/load.js';
import { keysStoreSchema, virtualKeySchema, type KeysStoreConfig, type VirtualKey } from '../config/auth.js';
import { newKey } from '../identity/key-format.js';
import { openKeyStore, type KeyStore } from '../identity/key-store.js';

/** Options every subcommand takes. */
export interface KeysCommon {
  config?: string;
  file?: string;
  redis?: string;
  prefix?: string;
  json?: boolean;
  env?: NodeJS.ProcessEnv;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** `create` options. */
export interface KeysCreateOptions extends KeysCommon {
  tenant: string;
  team?: string;
  name?: string;
  models?: string;
  tiers?: string;
  expires?: string;
  dailyUsd?: string;
  monthlyUsd?: string;
  rpm?: string;
  tpm?: string;
}

class UsageError extends Error {}

function storeConfig(o: KeysCommon): KeysStoreConfig {
  const env = o.env ?? process.env;
  const base = o.config ? loadConfigFile(o.config, env).auth.keys : defaultConfig(env).auth.keys;
  if (o.file) return keysStoreSchema.parse({ ...base, store: 'file', file: o.file });
  if (o.redis) return keysStoreSchema.parse({ ...base, store: 'redis', redis: { ...base.redis, url: o.redis, ...(o.prefix ? { keyPrefix: o.prefix } : {}) } });
  if (o.prefix && base.store === 'redis') return { ...base, redis: { ...base.redis, keyPrefix: o.prefix } };
  return base;
}

function pepperOf(cfg: KeysStoreConfig, env: NodeJS.ProcessEnv): string {
  const p = env[cfg.pepperEnv];
  if (!p || p.length < 16) throw new UsageError(`set the pepper (at least 16 characters) in $${cfg.pepperEnv}: the same value the gateway runs with`);
  return p;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

function num(flag: string, v: string | undefined, int: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) throw new UsageError(`${flag}: expected a non-negative ${int ? 'integer' : 'number'}, got "${v}"`);
  return n;
}

/** `30d`, `12h`, `90m` from now, or an ISO date-time. */
function expiry(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*(m|h|d)$/.exec(v.trim());
  if (m) return new Date(Date.now() + Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']).toISOString();
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--expires: expected a duration (30d, 12h) or an ISO date-time, got "${v}"`);
  return new Date(t).toISOString();
}

/** What `list` shows of a record: never the digest. */
function publicView(k: VirtualKey): Record<string, unknown> {
  const { hash: _hash, ...rest } = k;
  return rest;
}

async function withStore<T>(o: KeysCommon, fn: (store: KeyStore, cfg: KeysStoreConfig) => Promise<T>): Promise<T> {
  const cfg = storeConfig(o);
  const store = openKeyStore(cfg);
  try {
    return await fn(store, cfg);
  } finally {
    await store.close();
  }
}

async function run(o: KeysCommon, fn: () => Promise<number>): Promise<number> {
  const err = o.err ?? ((t: string) => process.stderr.write(t));
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError) {
      err(`switchyard keys: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      err(`switchyard: invalid configuration\n${e.message}\n`);
      return 2;
    }
    err(`switchyard keys: ${(e as Error).message}\n`);
    return 1;
  }
}

/**
 * Creates a key and prints it once.
 *
 * @example
 * await keysCreate({ config: 'switchyard.yaml', tenant: 'acme', dailyUsd: '5' }); // prints sy-….…
 */
export function keysCreate(o: KeysCreateOptions): Promise<number> {
  return run(o, () =>
    withStore(o, async (store, cfg) => {
      const out = o.out ?? ((t: string) => process.stdout.write(t));
      const { id, key, hash } = newKey(pepperOf(cfg, o.env ?? process.env));
      const budget = { dailyUsd: num('--daily-usd', o.dailyUsd, false), monthlyUsd: num('--monthly-usd', o.monthlyUsd, false) };
      const rate = { requestsPerMinute: num('--rpm', o.rpm, true), tokensPerMinute: num('--tpm', o.tpm, true) };
      const clean = <T extends object>(x: T) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined));
      const parsed = virtualKeySchema.safeParse({
        id,
        hash,
        tenant: o.tenant,
        createdAt: new Date().toISOString(),
        ...clean({ team: o.team, name: o.name, models: list(o.models), tiers: list(o.tiers), expiresAt: expiry(o.expires) }),
        ...(Object.keys(clean(budget)).length > 0 ? { budget: clean(budget) } : {}),
        ...(Object.keys(clean(rate)).length > 0 ? { rateLimit: clean(rate) } : {}),
      });
      if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const rec = parsed.data;
      if (cfg.store === 'config') {
        out(o.json ? `${JSON.stringify({ key, entry: rec })}\n` : `key: ${key}\n(shown once; store: config, so add this entry under auth.keys.entries:)\n${JSON.stringify(rec)}\n`);
        return 0;
      }
      await store.put(rec);
      out(o.json ? `${JSON.stringify({ key, ...publicView(rec) })}\n` : `key: ${key}\nid: ${id}\ntenant: ${rec.tenant}\n(the key is shown once: only its digest is stored)\n`);
      return 0;
    }),
  );
}

/** Lists keys without secrets or digests. */
export function keysList(o: KeysCommon): Promise<number> {
  return run(o, () =>
    withStore(o, async (store) => {
      const out = o.out ?? ((t: string) => process.stdout.write(t));
      const keys = (await store.list()).map(publicView);
      if (o.json) out(`${JSON.stringify(keys)}\n`);
      else {
        out('id\ttenant\tteam\tname\tstatus\texpires\n');
        for (const k of keys) {
          const status = k['disabled'] ? 'disabled' : k['expiresAt'] && Date.parse(String(k['expiresAt'])) <= Date.now() ? 'expired' : 'active';
          out(`${String(k['id'])}\t${String(k['tenant'])}\t${String(k['team'] ?? '-')}\t${String(k['name'] ?? '-')}\t${status}\t${String(k['expiresAt'] ?? '-')}\n`);
        }
      }
      return 0;
    }),
  );
}

/** Deletes a key: the next request with it gets 401 (within `auth.keys.cacheTtlMs`). */
export function keysRevoke(o: KeysCommon & { id: string }): Promise<number> {
  return run(o, () =>
    withStore(o, async (store) => {
      const out = o.out ?? ((t: string) => process.stdout.write(t));
      if (!(await store.delete(o.id))) throw new UsageError(`no key with id "${o.id}"`);
      out(o.json ? `${JSON.stringify({ id: o.id, revoked: true })}\n` : `revoked ${o.id}\n`);
      return 0;
    }),
  );
}

/** A new secret for the same id (its budget, limits and tenant kept); the old key stops working. */
export function keysRotate(o: KeysCommon & { id: string }): Promise<number> {
  return run(o, () =>
    withStore(o, async (store, cfg) => {
      const out = o.out ?? ((t: string) => process.stdout.write(t));
      const old = await store.get(o.id);
      if (!old) throw new UsageError(`no key with id "${o.id}"`);
      const { key, hash } = newKey(pepperOf(cfg, o.env ?? process.env), o.id);
      await store.put({ ...old, hash });
      out(o.json ? `${JSON.stringify({ key, id: o.id })}\n` : `key: ${key}\nid: ${o.id}\n(the old key no longer works; the new one is shown once)\n`);
      return 0;
    }),
  );
}

/** Sets or clears a key's disabled flag (a disabled key gets 401 but keeps its id, budget and limits). */
export function keysSetDisabled(o: KeysCommon & { id: string; disabled: boolean }): Promise<number> {
  return run(o, () =>
    withStore(o, async (store) => {
      const out = o.out ?? ((t: string) => process.stdout.write(t));
      const old = await store.get(o.id);
      if (!old) throw new UsageError(`no key with id "${o.id}"`);
      await store.put({ ...old, disabled: o.disabled });
      out(o.json ? `${JSON.stringify({ id: o.id, disabled: o.disabled })}\n` : `${o.disabled ? 'disabled' : 'enabled'} ${o.id}\n`);
      return 0;
    }),
  );
}
