/**
 * Budget and rate-limit counters in Redis (one node or a cluster), shared by
 * every replica: one EVALSHA round trip per admission and one per settlement
 * (scripts in `redis-scripts.ts`), each under the connection's deadline.
 *
 * Nothing lost, nothing counted twice when Redis stalls:
 * - an admission that passes its deadline may still run once Redis resumes;
 *   a CANCEL for it is queued, and runs (in order, after it) when the
 *   connection recovers, undoing it or marking it void;
 * - a settlement that fails is queued and retried until it lands; the hold
 *   key makes a retry of an already applied settlement a no-op.
 * The caller (`Accounting`) meanwhile applies `accounting.onStoreError`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountingConfig } from '../config/accounting.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import { isStoreFailure, StoreTimeoutError, type RedisStore } from '../store/redis.js';
import type { BudgetTotals } from './budgets.js';
import { WINDOW_MS } from './rate-limits.js';
import { ADMIT_LUA, CANCEL_LUA, SETTLE_LUA } from './redis-scripts.js';
import { budgetKey, holdKey, rateKey, type AccountingStore, type AdmitInput, type AdmitRejection, type AdmitResult, type SettleInput } from './store.js';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const SCRIPTS = { admit: [ADMIT_LUA, sha1(ADMIT_LUA)], settle: [SETTLE_LUA, sha1(SETTLE_LUA)], cancel: [CANCEL_LUA, sha1(CANCEL_LUA)] } as const;
type Script = keyof typeof SCRIPTS;
const REJECTIONS: Record<number, AdmitRejection> = { 1: 'requests', 2: 'tokens', 3: 'daily', 4: 'monthly' };
const RATE_TTL_MS = String(2 * WINDOW_MS + 5_000);
/**
 * How long a budget reservation's hold key lives: longer than any request
 * (the accounting sweeper settles forgotten ones after `reservationTtlMs`).
 * A rate-only admission's hold lives as long as its counters.
 */
const HOLD_MS = String(2 * 3600_000);
/**
 * How long a settled or cancelled mark lives: a late command runs on resume,
 * before the queued retry that the mark guards against.
 */
const MARK_MS = String(5 * 60_000);
/** Most queued compensations (cancels, settlements); past it the oldest is dropped and reported. */
const MAX_QUEUED = 10_000;

interface Queued {
  script: Script;
  keys: string[];
  args: string[];
}

/**
 * @example
 * const store = new RedisAccountingStore(config.accounting.redis, (e) => log.warn(e.message));
 * const r = await store.admit({ rate: { plan, window, tokens: 100 } }); // StoreTimeoutError after the deadline
 */
export class RedisAccountingStore implements AccountingStore {
  readonly kind = 'redis';
  private readonly lease: RedisLease;
  private readonly redis: RedisStore;
  private readonly prefix: string;
  private readonly queue: Queued[] = [];
  private draining: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly stopRecover: () => void;
  /** Compensations dropped because the queue was full, since start. */
  dropped = 0;
  private closed = false;

  constructor(
    cfg: AccountingConfig['redis'],
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.prefix = cfg.keyPrefix;
    this.lease = acquireRedis('accounting', cfg, onError);
    this.redis = this.lease.store;
    this.stopRecover = this.redis.onRecover(() => this.kick());
  }

  /** Cancels and settlements waiting for Redis to come back. */
  get queued(): number {
    return this.queue.length;
  }

  /** Runs a script by SHA, loading it on the first NOSCRIPT; one deadline for the whole call. */
  private run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    const [lua, sha] = SCRIPTS[script];
    return this.redis.call(script, async (c) => {
      try {
        return await c.evalSha(sha, { keys, arguments: args });
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
        return c.eval(lua, { keys, arguments: args });
      }
    });
  }

  async admit(input: AdmitInput): Promise<AdmitResult> {
    const { rate, budget } = input;
    const p = this.prefix;
    const tenant = rate?.plan.tenant ?? '';
    const w = rate?.window.index ?? 0;
    const id = budget?.caps.id ?? '';
    const ticket = randomBytes(12).toString('base64url');
    const keys = [
      rateKey(p, tenant, 'r', w),
      rateKey(p, tenant, 'r', w - 1),
      rateKey(p, tenant, 't', w),
      rateKey(p, tenant, 't', w - 1),
      budgetKey(p, id, 'd', budget?.periods.day ?? ''),
      budgetKey(p, id, 'm', budget?.periods.month ?? ''),
      holdKey(p, ticket),
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
      budget ? HOLD_MS : RATE_TTL_MS,
    ];
    let r: number[];
    try {
      r = (await this.run('admit', keys, args)) as number[];
    } catch (e) {
      // The script may still run when Redis resumes: undo it then (or void it before it runs).
      if (e instanceof StoreTimeoutError) {
        this.enqueue({
          script: 'cancel',
          keys: [keys[0]!, keys[2]!, keys[4]!, keys[5]!, keys[6]!],
          args: [
            rate && rate.plan.rpm >= 0 ? '1' : '0',
            String(rate && rate.plan.tpm >= 0 ? rate.tokens : 0),
            budget && budget.caps.dayNano >= 0 ? '1' : '0',
            budget && budget.caps.monthNano >= 0 ? '1' : '0',
            String(budget?.estimate ?? 0),
            MARK_MS,
          ],
        });
      }
      throw e;
    }
    const code = r[0]!;
    if (code === 1 || code === 2) return { rejected: REJECTIONS[code]!, buckets: { previous: r[1]!, current: r[2]! } };
    const totals: BudgetTotals = { daySpent: r[1]!, dayReserved: r[2]!, monthSpent: r[3]!, monthReserved: r[4]! };
    if (code === 3 || code === 4) return { rejected: REJECTIONS[code]!, totals };
    if (code !== 0) throw new Error(`accounting admit script returned ${code}`);
    return budget ? { totals, ticket } : { ticket };
  }

  /** Settles; when Redis cannot take it now the settlement is queued (retried until it lands) and this resolves undefined. */
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
      holdKey(p, input.ticket ?? randomBytes(12).toString('base64url')),
    ];
    const args = [
      String(budget?.estimate ?? 0),
      String(budget?.actual ?? 0),
      budget && budget.caps.dayNano >= 0 ? '1' : '0',
      budget && budget.caps.monthNano >= 0 ? '1' : '0',
      String(budget?.now.dayEndsAt ?? 0),
      String(budget?.now.monthEndsAt ?? 0),
      String(rate?.tokenDelta ?? 0),
      MARK_MS,
    ];
    let r: number[];
    try {
      r = (await this.run('settle', keys, args)) as number[];
    } catch (e) {
      if (!isStoreFailure(e)) throw e;
      this.enqueue({ script: 'settle', keys, args });
      this.onError(e as Error);
      return undefined;
    }
    if (r[0] === -1) return undefined;
    return budget ? { daySpent: r[0]!, dayReserved: r[1]!, monthSpent: r[2]!, monthReserved: r[3]! } : undefined;
  }

  private enqueue(q: Queued): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.dropped++;
      this.onError(new Error('accounting compensation queue full; the oldest queued settlement or cancel was dropped'));
    }
    this.queue.push(q);
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.retryTimer !== undefined || this.queue.length === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, 500);
    this.retryTimer.unref();
  }

  private kick(): void {
    if (this.draining || this.queue.length === 0) return;
    this.draining = this.drainQueue().finally(() => {
      this.draining = undefined;
      this.schedule();
    });
  }

  /** Sends queued work in order, stopping at the first failure (retried later). */
  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0 && this.redis.available) {
      const q = this.queue[0]!;
      try {
        await this.run(q.script, q.keys, q.args);
      } catch (e) {
        if (isStoreFailure(e)) return;
        this.onError(e as Error);
      }
      this.queue.shift();
    }
  }

  /** Resolves once the queue is empty (or `ms` passed); true when empty. */
  async drain(ms = 10_000): Promise<boolean> {
    const end = Date.now() + ms;
    while (this.queue.length > 0 && Date.now() < end) {
      this.kick();
      await (this.draining ?? new Promise((r) => setTimeout(r, 50)));
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, 50));
    }
    return this.queue.length === 0;
  }

  async close(): Promise<void> {
    await this.drain(this.redis.available ? 2_000 : 0);
    this.closed = true;
    await this.draining;
    clearTimeout(this.retryTimer);
    if (this.queue.length > 0) this.onError(new Error(`accounting store closed with ${this.queue.length} settlements or cancels not yet written to Redis`));
    this.stopRecover();
    await this.lease.release();
  }
}
