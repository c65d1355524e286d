/**
 * In-process counters with the same semantics as the Redis Lua scripts
 * (`store-redis.ts`). Used when `accounting.store` is `memory`, and for
 * requests admitted while Redis is unreachable. Synchronous inside, so an
 * admission is atomic on Node's single thread.
 */
import { WINDOW_MS, exceeds } from './rate-limits.js';
import type { BudgetTotals } from './budgets.js';
import { budgetKey, rateKey, type AccountingStore, type AdmitInput, type AdmitResult, type SettleInput } from './store.js';

interface Counter {
  value: number;
  expiresAt: number;
}

interface BudgetEntry {
  spent: number;
  reserved: number;
  expiresAt: number;
}

const PREFIX = '';
const RATE_TTL_MS = 2 * WINDOW_MS + 5_000;

/**
 * @example
 * const store = new MemoryAccountingStore();
 * const r = await store.admit({ rate: { plan: { tenant: 't:a', rpm: 60, tpm: -1 }, window: windowAt(Date.now()), tokens: 0 } });
 */
export class MemoryAccountingStore implements AccountingStore {
  readonly kind = 'memory';
  private readonly counters = new Map<string, Counter>();
  private readonly budgets = new Map<string, BudgetEntry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), WINDOW_MS);
    this.sweeper.unref();
  }

  private count(key: string): number {
    const c = this.counters.get(key);
    return c && c.expiresAt > this.now() ? c.value : 0;
  }

  private budget(key: string): BudgetEntry | undefined {
    const b = this.budgets.get(key);
    return b && b.expiresAt > this.now() ? b : undefined;
  }

  admit(input: AdmitInput): Promise<AdmitResult> {
    const { rate, budget } = input;
    let reqKey = '';
    let tokKey = '';
    if (rate) {
      const { plan, window } = rate;
      reqKey = rateKey(PREFIX, plan.tenant, 'r', window.index);
      tokKey = rateKey(PREFIX, plan.tenant, 't', window.index);
      if (plan.rpm >= 0) {
        const previous = this.count(rateKey(PREFIX, plan.tenant, 'r', window.index - 1));
        const current = this.count(reqKey);
        if (exceeds(plan.rpm, previous, current, window.fraction, 1)) return Promise.resolve({ rejected: 'requests', buckets: { previous, current } });
      }
      if (plan.tpm >= 0) {
        const previous = this.count(rateKey(PREFIX, plan.tenant, 't', window.index - 1));
        const current = this.count(tokKey);
        if (exceeds(plan.tpm, previous, current, window.fraction, rate.tokens)) return Promise.resolve({ rejected: 'tokens', buckets: { previous, current } });
      }
    }
    let totals: BudgetTotals | undefined;
    let dayKey = '';
    let monthKey = '';
    if (budget) {
      const { caps, periods } = budget;
      dayKey = budgetKey(PREFIX, caps.id, 'd', periods.day);
      monthKey = budgetKey(PREFIX, caps.id, 'm', periods.month);
      const d = this.budget(dayKey);
      const m = this.budget(monthKey);
      totals = { daySpent: d?.spent ?? 0, dayReserved: d?.reserved ?? 0, monthSpent: m?.spent ?? 0, monthReserved: m?.reserved ?? 0 };
      if (caps.dayNano >= 0 && totals.daySpent + totals.dayReserved >= caps.dayNano) return Promise.resolve({ rejected: 'daily', totals });
      if (caps.monthNano >= 0 && totals.monthSpent + totals.monthReserved >= caps.monthNano) return Promise.resolve({ rejected: 'monthly', totals });
    }
    if (rate) {
      const expiresAt = this.now() + RATE_TTL_MS;
      if (rate.plan.rpm >= 0) this.add(reqKey, 1, expiresAt);
      if (rate.plan.tpm >= 0) this.add(tokKey, rate.tokens, expiresAt);
    }
    if (budget && totals) {
      const { caps, periods, estimate } = budget;
      if (caps.dayNano >= 0) totals.dayReserved = this.entry(dayKey, periods.dayEndsAt).reserved += estimate;
      if (caps.monthNano >= 0) totals.monthReserved = this.entry(monthKey, periods.monthEndsAt).reserved += estimate;
    }
    return Promise.resolve(totals ? { totals } : {});
  }

  settle(input: SettleInput): Promise<BudgetTotals | undefined> {
    const { budget, rate } = input;
    if (rate && rate.tokenDelta !== 0) {
      const c = this.counters.get(rateKey(PREFIX, rate.tenant, 't', rate.window));
      if (c && c.expiresAt > this.now()) c.value += rate.tokenDelta;
    }
    if (!budget) return Promise.resolve(undefined);
    const { caps, admitted, now, estimate, actual } = budget;
    const totals: BudgetTotals = { daySpent: 0, dayReserved: 0, monthSpent: 0, monthReserved: 0 };
    if (caps.dayNano >= 0) {
      const held = this.budget(budgetKey(PREFIX, caps.id, 'd', admitted.day));
      if (held) held.reserved -= estimate;
      const e = this.entry(budgetKey(PREFIX, caps.id, 'd', now.day), now.dayEndsAt);
      e.spent += actual;
      totals.daySpent = e.spent;
      totals.dayReserved = e.reserved;
    }
    if (caps.monthNano >= 0) {
      const held = this.budget(budgetKey(PREFIX, caps.id, 'm', admitted.month));
      if (held) held.reserved -= estimate;
      const e = this.entry(budgetKey(PREFIX, caps.id, 'm', now.month), now.monthEndsAt);
      e.spent += actual;
      totals.monthSpent = e.spent;
      totals.monthReserved = e.reserved;
    }
    return Promise.resolve(totals);
  }

  private add(key: string, by: number, expiresAt: number): void {
    const c = this.counters.get(key);
    if (c && c.expiresAt > this.now()) {
      c.value += by;
      c.expiresAt = expiresAt;
    } else this.counters.set(key, { value: by, expiresAt });
  }

  private entry(key: string, expiresAt: number): BudgetEntry {
    let e = this.budget(key);
    if (!e) {
      e = { spent: 0, reserved: 0, expiresAt };
      this.budgets.set(key, e);
    }
    return e;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(k);
    for (const [k, b] of this.budgets) if (b.expiresAt <= now) this.budgets.delete(k);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}
