/**
 * Budget and rate-limit counters in Redis, shared by every replica: one
 * EVALSHA round trip per admission and one per settlement (scripts in
 * `redis-scripts.ts`). Single-node Redis (the keys of one call are not
 * hash-tagged into one cluster slot). Commands fail fast while Redis is
 * unreachable; the caller then counts in memory.
 */
import { createHash } from 'node:crypto';
import type { AccountingConfig } from '../config/accounting.js';
import { closeCacheRedis, openCacheRedis, type CacheRedisClient } from '../cache/stores/redis-client.js';
import type { BudgetTotals } from './budgets.js';
import { WINDOW_MS } from './rate-limits.js';
import { ADMIT_LUA, SETTLE_LUA } from './redis-scripts.js';
import { budgetKey, rateKey, type AccountingStore, type AdmitInput, type AdmitRejection, type AdmitResult, type SettleInput } from './store.js';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const ADMIT_SHA = sha1(ADMIT_LUA);
const SETTLE_SHA = sha1(SETTLE_LUA);
const REJECTIONS: Record<number, AdmitRejection> = { 1: 'requests', 2: 'tokens', 3: 'daily', 4: 'monthly' };
const RATE_TTL_MS = String(2 * WINDOW_MS + 5_000);

/**
 * @example
 * const store = new RedisAccountingStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:acct:', commandTimeoutMs: 250 });
 */
export class RedisAccountingStore implements AccountingStore {
  readonly kind = 'redis';
  readonly client: CacheRedisClient;
  private readonly prefix: string;
  private readonly ready: Promise<void>;

  constructor(cfg: AccountingConfig['redis'], onError?: (err: Error) => void) {
    this.prefix = cfg.keyPrefix;
    this.client = openCacheRedis({ url: cfg.url, commandTimeoutMs: cfg.commandTimeoutMs, ...(onError ? { onError } : {}) });
    this.ready = new Promise((resolve) => this.client.once('ready', () => resolve()));
  }

  /** Runs a script by SHA, loading it on the first NOSCRIPT. Waits briefly for the first connection. */
  private async run(sha: string, lua: string, keys: string[], args: string[]): Promise<unknown> {
    if (!this.client.isReady) {
      await Promise.race([this.ready, new Promise((r) => setTimeout(r, 2_000).unref())]);
    }
    try {
      return await this.client.evalSha(sha, { keys, arguments: args });
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.client.eval(lua, { keys, arguments: args });
    }
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    const { rate, budget } = input;
    const p = this.prefix;
    const tenant = rate?.plan.tenant ?? '';
    const w = rate?.window.index ?? 0;
    const id = budget?.caps.id ?? '';
    const keys = [
      rateKey(p, tenant, 'r', w),
      rateKey(p, tenant, 'r', w - 1),
      rateKey(p, tenant, 't', w),
      rateKey(p, tenant, 't', w - 1),
      budgetKey(p, id, 'd', budget?.periods.day ?? ''),
      budgetKey(p, id, 'm', budget?.periods.month ?? ''),
    ];
    const args = [
      String(rate?.plan.rpm ?? -1),
      String(rate?.plan.tpm ?? -1),
      String(rate?.tokens ?? 0),
      String(rate?.window.fraction ?? 0),
      RATE_TTL_MS,
      String(budget?.caps.dayNano ?? -1),
      String(budget?.caps.monthNano ?? -1),
      String(budget?.estimate ?? 0),
      String(budget?.periods.dayEndsAt ?? 0),
      String(budget?.periods.monthEndsAt ?? 0),
    ];
    const r = (await this.run(ADMIT_SHA, ADMIT_LUA, keys, args)) as number[];
    const code = r[0]!;
    if (code === 1 || code === 2) return { rejected: REJECTIONS[code]!, buckets: { previous: r[1]!, current: r[2]! } };
    const totals: BudgetTotals = { daySpent: r[1]!, dayReserved: r[2]!, monthSpent: r[3]!, monthReserved: r[4]! };
    if (code === 3 || code === 4) return { rejected: REJECTIONS[code]!, totals };
    return budget ? { totals } : {};
  }

  async settle(input: SettleInput): Promise<BudgetTotals | undefined> {
    const { budget, rate } = input;
    if (!budget && (!rate || rate.tokenDelta === 0)) return undefined;
    const p = this.prefix;
    const id = budget?.caps.id ?? '';
    const keys = [
      budgetKey(p, id, 'd', budget?.admitted.day ?? ''),
      budgetKey(p, id, 'm', budget?.admitted.month ?? ''),
      budgetKey(p, id, 'd', budget?.now.day ?? ''),
      budgetKey(p, id, 'm', budget?.now.month ?? ''),
      rateKey(p, rate?.tenant ?? '', 't', rate?.window ?? 0),
    ];
    const args = [
      String(budget?.estimate ?? 0),
      String(budget?.actual ?? 0),
      budget && budget.caps.dayNano >= 0 ? '1' : '0',
      budget && budget.caps.monthNano >= 0 ? '1' : '0',
      String(budget?.now.dayEndsAt ?? 0),
      String(budget?.now.monthEndsAt ?? 0),
      String(rate?.tokenDelta ?? 0),
    ];
    const r = (await this.run(SETTLE_SHA, SETTLE_LUA, keys, args)) as number[];
    return budget ? { daySpent: r[0]!, dayReserved: r[1]!, monthSpent: r[2]!, monthReserved: r[3]! } : undefined;
  }

  close(): Promise<void> {
    return closeCacheRedis(this.client);
  }
}
