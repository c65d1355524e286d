/**
 * Accounting: the two hooks the core calls around every request.
 *
 * - `admit` (after parsing, before the cache and routing): rate limits and
 *   budgets. Reserves the request's estimated cost (prompt estimate +
 *   `min(max_tokens, the largest output of its candidates)` or their default
 *   output estimate, times `n`, at the highest price any of its candidates
 *   could cost) atomically with the checks, so concurrent
 *   requests cannot overshoot a cap by more than the in-flight estimates.
 *   Throws 429 `rate_limited` (with Retry-After) or `budget_exceeded`; puts
 *   the budget standing on `ctx.budget` (`soft`: the router downgrades — one
 *   tier down, or the cheapest candidate first).
 * - `settle` (when the request's record is emitted, whatever its end): the
 *   cost and savings of what was actually used, the reservation released and
 *   the real cost counted, token counters corrected.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import type { RequestContext } from '../core/context.js';
import type { HeaderBag } from '../core/parse.js';
import { SwitchyardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { CanonicalEmbeddingResponse, CanonicalResponse } from '../protocol/canonical.js';
import { estimateTokens } from '../routing/signals/length.js';
import { budgetIdentity, budgetsActive, capsFor, fromNano, periodsAt, standing, toNano, type BudgetCaps, type BudgetTotals, type Periods } from './budgets.js';
import { PriceBook, costOf } from './pricing.js';
import { keyLimits, limitsFor, rateLimitsActive, retryAfterSeconds, windowAt, type RateLimitPlan } from './rate-limits.js';
import type { AccountingStore, AdmitInput, AdmitResult } from './store.js';
import { MemoryAccountingStore } from './store-memory.js';
import { RedisAccountingStore } from './store-redis.js';
import { usageOf, type ObservedUsage } from './usage.js';
import { OutputBook } from './output-estimate.js';

/** `n` (or `best_of`) answers are written and billed: the reservation covers each. */
function choicesOf(extra: Record<string, unknown>): number {
  const n = typeof extra.n === 'number' ? extra.n : 1;
  const best = typeof extra.best_of === 'number' ? extra.best_of : 1;
  return Math.max(1, n, best);
}

export { PriceBook, PRICES_AS_OF, BUILTIN_PRICES, builtinPrice, costOf, type ModelPrice, type TokenUsage } from './pricing.js';
export type { BudgetStanding } from './budgets.js';
export type { ObservedUsage } from './usage.js';

/** What settling a request adds to its decision record. */
export interface Settlement {
  /** USD the answer cost (0 for a cache hit or a local model without a compute price). */
  costUsd?: number;
  /** USD saved against the reference model (never negative). */
  savingsUsd?: number;
  /** The budget standing the request was admitted with. */
  budget?: 'ok' | 'soft' | 'hard';
  /** The token counts were estimated (no usage reported). */
  usageEstimated?: boolean;
}

/** The last known remaining budget of an identity listed under `budgets.limits`. */
export interface BudgetRemaining {
  id: string;
  period: 'daily' | 'monthly';
  usd: number;
}

interface Reservation {
  at: number;
  store: AccountingStore;
  ticket?: string;
  /** Admitted in memory while the shared store was down: its spend still goes there (queued until it is back). */
  mirror?: AccountingStore;
  caps?: BudgetCaps;
  periods?: Periods;
  estimate: number;
  plan?: RateLimitPlan;
  window: number;
  tokens: number;
}

/** A charge made from an estimate that a later usage report may correct. */
interface Correction {
  at: number;
  store: AccountingStore;
  caps: BudgetCaps;
  periods: Periods;
  model: string | undefined;
  /** nano-USD charged so far. */
  charged: number;
}

const MAX_CORRECTIONS = 100_000;

interface State {
  cfg: SwitchyardConfig;
  book: PriceBook;
  outputs: OutputBook;
  budgets: boolean;
  rates: boolean;
  store: AccountingStore;
}

/**
 * @example
 * const acct = new Accounting(() => sy.config);
 * await acct.admit(ctx, headers); // may throw SwitchyardError 429
 * const { costUsd, savingsUsd } = acct.settle(ctx, usage);
 */
export class Accounting {
  private st: State | undefined;
  private storeKey = '';
  private readonly stores: AccountingStore[] = [];
  private memory: MemoryAccountingStore | undefined;
  /** Admitted, not yet settled: request id → admission time (swept like reservations). */
  private readonly open = new Map<string, number>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly corrections = new Map<string, Correction>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly remainingById = new Map<string, BudgetRemaining>();
  private readonly sweeper: NodeJS.Timeout;
  private lastWarn = 0;

  constructor(
    private readonly config: () => SwitchyardConfig,
    private readonly logger?: Logger,
    /** Rate-limit windows, budget periods and reservation ages are read from it. */
    private readonly clock: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  /** Requests admitted and not yet settled. */
  get inFlight(): number {
    return this.open.size;
  }

  /** The prices of the current config. */
  get prices(): PriceBook {
    return this.state().book;
  }

  /** Last known remaining budget of every identity listed under `budgets.limits`. */
  remaining(): IterableIterator<BudgetRemaining> {
    return this.remainingById.values();
  }

  private state(): State {
    const cfg = this.config();
    if (this.st?.cfg === cfg) return this.st;
    const a = cfg.accounting;
    const budgets = budgetsActive(a.budgets);
    const rates = rateLimitsActive(a.rateLimits);
    // Virtual keys may carry their own budgets and limits: in keys mode the configured store is always used.
    const key = a.store === 'redis' && (budgets || rates || cfg.auth.mode === 'keys') ? JSON.stringify(a.redis) : 'memory';
    let store = this.st?.store;
    if (!store || key !== this.storeKey) {
      store = key === 'memory' ? this.memoryStore() : new RedisAccountingStore(a.redis, (e) => this.warn('accounting redis error', e));
      this.stores.push(store);
      this.storeKey = key;
    }
    this.st = { cfg, book: new PriceBook(cfg), outputs: new OutputBook(cfg), budgets, rates, store };
    return this.st;
  }

  private memoryStore(): MemoryAccountingStore {
    return (this.memory ??= new MemoryAccountingStore(this.clock));
  }

  /**
   * Rate limits and budgets for a parsed request; see the module comment.
   * Returns undefined (no await for the caller) when nothing applies to it.
   */
  admit(ctx: RequestContext, headers: HeaderBag): Promise<void> | undefined {
    this.open.set(ctx.id, this.clock());
    const st = this.state();
    if (!st.budgets && !st.rates && !ctx.identity.key?.budget && !ctx.identity.key?.rateLimit) return undefined;
    const a = st.cfg.accounting;
    const key = ctx.identity.key;
    const plan = (key?.rateLimit ? keyLimits(key.id, key.rateLimit) : undefined) ?? (st.rates ? limitsFor(a.rateLimits, ctx.tenant) : undefined);
    const id = st.budgets || key?.budget ? budgetIdentity(a.budgets, ctx, headers) : undefined;
    const caps = id !== undefined ? capsFor(a.budgets, id, key?.budget && id === `key:${key.id}` ? key.budget : undefined) : undefined;
    if (!plan && !caps) return undefined;
    return this.reserve(ctx, st, plan, caps);
  }

  private async reserve(ctx: RequestContext, st: State, plan: RateLimitPlan | undefined, caps: BudgetCaps | undefined): Promise<void> {
    const now = this.clock();
    const inputTokens = estimateTokens(ctx.req);
    const requested = ctx.req.model || 'switchyard/auto';
    // min(max_tokens, the largest output a candidate can write), or the candidates' default estimate.
    const outputTokens = ctx.operation === 'embedding' ? 0 : st.outputs.reserve(requested, ctx.req.maxTokens) * choicesOf(ctx.req.extra);
    const estimate = caps ? toNano(costOf(st.book.ceiling(requested), { inputTokens, outputTokens })) : 0;
    const window = windowAt(now);
    const periods = periodsAt(now);
    const input: AdmitInput = {
      ...(plan ? { rate: { plan, window, tokens: inputTokens + outputTokens } } : {}),
      ...(caps ? { budget: { caps, periods, estimate } } : {}),
    };
    let store = st.store;
    let mirror: AccountingStore | undefined;
    let r: AdmitResult;
    try {
      r = await store.admit(input);
    } catch (e) {
      // accounting.onStoreError: `closed` refuses, `open` counts this request in this process only.
      if (st.cfg.accounting.onStoreError === 'closed') {
        this.warn('accounting store unreachable; refusing requests (onStoreError: closed)', e);
        throw new SwitchyardError('store_unavailable', 'the accounting store is unavailable; try again shortly', { retryAfter: 1, cause: e });
      }
      this.warn('accounting store unreachable; counting this request in memory (onStoreError: open)', e);
      mirror = store;
      store = this.memoryStore();
      r = await store.admit(input);
    }
    if (caps && r.totals) this.noteRemaining(caps, r.totals);
    if (r.rejected) throw this.rejection(r, plan, caps, window.fraction, periods, now, inputTokens + outputTokens);
    if (caps && r.totals) {
      const s = standing(caps, r.totals);
      ctx.budget = s === 'ok' ? 'ok' : 'soft';
    }
    this.reservations.set(ctx.id, {
      at: now,
      store,
      ...(r.ticket !== undefined ? { ticket: r.ticket } : {}),
      ...(mirror && caps ? { mirror } : {}),
      estimate,
      window: window.index,
      tokens: plan && plan.tpm >= 0 ? inputTokens + outputTokens : 0,
      ...(caps ? { caps, periods } : {}),
      ...(plan ? { plan } : {}),
    });
  }

  /**
   * The usage charged for a request its client abandoned while the upstream
   * call was under way, before any answer came back. A non-streaming call:
   * the prompt estimate plus the completion tokens its reservation assumed
   * (`min(max_tokens, largest output)` or the default estimate, times `n`):
   * a non-streamed upstream goes on generating, and nothing of the answer
   * tells how much. A stream before its first event: the prompt estimate,
   * as for any abandoned stream (closing it stops the generation).
   *
   * @example
   * sy.accounting.abandoned(ctx); // { inputTokens: 120, outputTokens: 1024, estimated: true }
   */
  abandoned(ctx: RequestContext): ObservedUsage {
    const st = this.state();
    const outputTokens = ctx.operation === 'embedding' || ctx.req.stream ? 0 : st.outputs.reserve(ctx.req.model || 'switchyard/auto', ctx.req.maxTokens) * choicesOf(ctx.req.extra);
    return { inputTokens: estimateTokens(ctx.req), outputTokens, estimated: true };
  }

  private rejection(
    r: AdmitResult,
    plan: RateLimitPlan | undefined,
    caps: BudgetCaps | undefined,
    fraction: number,
    periods: Periods,
    now: number,
    tokens: number,
  ): SwitchyardError {
    if ((r.rejected === 'requests' || r.rejected === 'tokens') && plan && r.buckets) {
      const requests = r.rejected === 'requests';
      const limit = requests ? plan.rpm : plan.tpm;
      const retryAfter = retryAfterSeconds(limit, r.buckets.previous, r.buckets.current, fraction, requests ? 1 : tokens);
      return new SwitchyardError('rate_limited', `rate limit exceeded: ${limit} ${requests ? 'requests' : 'tokens'} per minute; retry after ${retryAfter}s`, { retryAfter });
    }
    const daily = r.rejected === 'daily';
    const cap = fromNano(daily ? caps!.dayNano : caps!.monthNano);
    const retryAfter = Math.max(1, Math.ceil(((daily ? periods.dayEndsAt : periods.monthEndsAt) - now) / 1000));
    return new SwitchyardError(
      'budget_exceeded',
      `the ${daily ? 'daily' : 'monthly'} budget of $${cap} is spent; it resets at ${new Date(daily ? periods.dayEndsAt : periods.monthEndsAt).toISOString()}`,
      { retryAfter },
    );
  }

  /**
   * The usage to charge for a request whose answer Switchyard will not see
   * (a proxy carries it out): the prompt estimate plus `max_tokens`, or
   * `defaultOutputTokens` when the request sets none.
   */
  estimateUsage(ctx: RequestContext): ObservedUsage {
    const inputTokens = estimateTokens(ctx.req);
    const outputTokens = ctx.operation === 'embedding' ? 0 : (ctx.req.maxTokens ?? this.state().cfg.accounting.budgets.defaultOutputTokens);
    return { inputTokens, outputTokens, estimated: true };
  }

  /**
   * Corrects the charge of a request settled from an estimate (`ctx.correctable`)
   * with the usage its proxy reports. Once per request; false when unknown,
   * already corrected or too old.
   */
  correct(id: string, usage: { inputTokens: number; outputTokens: number }): boolean {
    const c = this.corrections.get(id);
    if (!c) return false;
    this.corrections.delete(id);
    const actual = toNano(this.state().book.cost(c.model, usage));
    const delta = actual - c.charged;
    if (delta === 0) return true;
    const p = c.store
      .settle({ budget: { caps: c.caps, admitted: c.periods, now: periodsAt(this.clock()), estimate: 0, actual: delta } })
      .then(
        (totals) => {
          if (totals) this.noteRemaining(c.caps, totals);
        },
        (e: unknown) => this.warn('accounting usage correction failed', e),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    return true;
  }

  /** Reported usage, or an estimate from the request and the (partial) answer. */
  usage(ctx: RequestContext, response: CanonicalResponse | CanonicalEmbeddingResponse | undefined): ObservedUsage | undefined {
    return usageOf(ctx.req, response);
  }

  /** Whether a request holds a reservation (a budget or token rate limit settles with its real usage). */
  holdsReservation(id: string): boolean {
    return this.reservations.has(id);
  }

  /** Cost and savings of a finished request; releases its reservation and counts its spend. */
  settle(ctx: RequestContext, usage: ObservedUsage | undefined): Settlement {
    this.open.delete(ctx.id);
    const book = this.state().book;
    const out: Settlement = {};
    let cost = 0;
    if (usage) {
      const hit = ctx.cache === 'hit-exact' || ctx.cache === 'hit-semantic';
      cost = hit ? 0 : book.cost(ctx.model, usage);
      out.costUsd = cost;
      out.savingsUsd = Math.max(0, book.referenceCost(usage) - cost);
      if (usage.estimated) out.usageEstimated = true;
    }
    if (ctx.budget) out.budget = ctx.budget;
    const res = this.reservations.get(ctx.id);
    if (res) {
      this.reservations.delete(ctx.id);
      if (ctx.correctable && res.caps && res.periods) {
        if (this.corrections.size >= MAX_CORRECTIONS) this.corrections.delete(this.corrections.keys().next().value!);
        this.corrections.set(ctx.id, { at: this.clock(), store: res.store, caps: res.caps, periods: res.periods, model: ctx.model, charged: toNano(cost) });
      }
      const tokens = usage ? usage.inputTokens + usage.outputTokens : 0;
      this.release(res, toNano(cost), res.tokens > 0 ? tokens - res.tokens : 0);
    }
    return out;
  }

  private release(res: Reservation, actual: number, tokenDelta: number): void {
    const p = res.store
      .settle({
        ...(res.caps && res.periods ? { budget: { caps: res.caps, admitted: res.periods, now: periodsAt(this.clock()), estimate: res.estimate, actual } } : {}),
        ...(res.plan && tokenDelta !== 0 ? { rate: { tenant: res.plan.tenant, window: res.window, tokenDelta } } : {}),
        ...(res.ticket !== undefined ? { ticket: res.ticket } : {}),
      })
      .then(
        (totals) => {
          if (totals && res.caps) this.noteRemaining(res.caps, totals);
        },
        (e: unknown) => this.warn('accounting settle failed; the reservation stays until the period ends', e),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    if (res.mirror && res.caps && res.periods && actual > 0) {
      const m = res.mirror
        .settle({ budget: { caps: res.caps, admitted: res.periods, now: periodsAt(this.clock()), estimate: 0, actual } })
        .catch((e: unknown) => this.warn('accounting settle failed', e))
        .finally(() => this.pending.delete(m));
      this.pending.add(m);
    }
  }

  private noteRemaining(caps: BudgetCaps, t: BudgetTotals): void {
    if (!caps.named) return;
    if (caps.dayNano >= 0) this.setRemaining(caps.id, 'daily', caps.dayNano - t.daySpent - t.dayReserved);
    if (caps.monthNano >= 0) this.setRemaining(caps.id, 'monthly', caps.monthNano - t.monthSpent - t.monthReserved);
  }

  private setRemaining(id: string, period: 'daily' | 'monthly', nano: number): void {
    const key = `${period}:${id}`;
    const usd = Math.max(0, fromNano(nano));
    const e = this.remainingById.get(key);
    if (e) e.usd = usd;
    else this.remainingById.set(key, { id, period, usd });
  }

  /** Forgets requests a face never settled (it lost them) and releases their reservations. */
  private sweep(): void {
    const cfg = this.st?.cfg;
    if (!cfg) return;
    const cutoff = this.clock() - cfg.accounting.budgets.reservationTtlMs;
    for (const [id, at] of this.open) if (at <= cutoff) this.open.delete(id);
    for (const [id, c] of this.corrections) if (c.at <= cutoff) this.corrections.delete(id);
    for (const [id, res] of this.reservations) {
      if (res.at > cutoff) continue;
      this.reservations.delete(id);
      this.release(res, 0, res.tokens > 0 ? -res.tokens : 0);
    }
  }

  private warn(msg: string, e: unknown): void {
    const now = this.clock();
    if (now - this.lastWarn < 10_000) return;
    this.lastWarn = now;
    this.logger?.warn({ reason: e instanceof Error ? e.message : String(e) }, msg);
  }

  /** Waits until every settlement has reached the store. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.flush();
    await Promise.all(this.stores.map((s) => s.close()));
    await this.memory?.close();
    this.stores.length = 0;
  }
}
