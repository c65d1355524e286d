/**
 * Where budget and rate-limit counters live. Two implementations with the
 * same semantics: `MemoryAccountingStore` (one process) and
 * `RedisAccountingStore` (one Lua script per admission and per settlement,
 * shared by replicas). Admission checks every limit and, only when all pass,
 * counts the request and reserves its estimated cost in one atomic step.
 */
import type { BudgetCaps, BudgetTotals, Periods } from './budgets.js';
import type { RateLimitPlan, WindowPosition } from './rate-limits.js';

/** The budget part of an admission: reserve `estimate` nano-USD against `caps`. */
export interface BudgetAdmit {
  caps: BudgetCaps;
  periods: Periods;
  estimate: number;
}

/** The rate-limit part of an admission: one request and `tokens` tokens. */
export interface RateAdmit {
  plan: RateLimitPlan;
  window: WindowPosition;
  tokens: number;
}

export interface AdmitInput {
  budget?: BudgetAdmit;
  rate?: RateAdmit;
}

/** Which limit refused a request. */
export type AdmitRejection = 'requests' | 'tokens' | 'daily' | 'monthly';

export interface AdmitResult {
  rejected?: AdmitRejection;
  /** For a rate rejection: the previous and current bucket of the refusing limit. */
  buckets?: { previous: number; current: number };
  /** Budget totals (after the reservation when admitted). */
  totals?: BudgetTotals;
  /** The store's handle on this admission, handed back to `settle` (Redis: the hold key's id). */
  ticket?: string;
}

/** Settles one admitted request: release its reservation, count its real cost and tokens. */
export interface SettleInput {
  budget?: {
    caps: BudgetCaps;
    /** The periods the reservation was made in. */
    admitted: Periods;
    /** The periods the spend counts in. */
    now: Periods;
    estimate: number;
    actual: number;
  };
  rate?: {
    tenant: string;
    /** The window the tokens were counted in. */
    window: number;
    /** Real tokens − counted tokens. */
    tokenDelta: number;
  };
  /** `AdmitResult.ticket` of the admission being settled. */
  ticket?: string;
}

/** A counter store. */
export interface AccountingStore {
  readonly kind: 'memory' | 'redis';
  admit(input: AdmitInput): Promise<AdmitResult>;
  /** Resolves to the budget totals after settling, when there was a budget part. */
  settle(input: SettleInput): Promise<BudgetTotals | undefined>;
  close(): Promise<void>;
}

/**
 * The Redis Cluster hash tag of every accounting key: one admission's keys
 * (its tenant's rate counters, its budget identity's hashes, its hold key)
 * must share a slot for the scripts to run, and a tenant's budget may be
 * another identity's, so all counters live in one slot.
 */
export const ACCOUNTING_TAG = '{acct}';

/** The key of an identity's budget hash for a day (`d`) or month (`m`). */
export function budgetKey(prefix: string, id: string, period: 'd' | 'm', stamp: string): string {
  return `${prefix}${ACCOUNTING_TAG}:budget:${id}:${period}:${stamp}`;
}

/** The key of a tenant's request (`r`) or token (`t`) counter for one minute window. */
export function rateKey(prefix: string, tenant: string, kind: 'r' | 't', window: number): string {
  return `${prefix}${ACCOUNTING_TAG}:rate:${tenant}:${kind}:${window}`;
}

/** The hold key of one admission (reserved / settled / cancelled). */
export function holdKey(prefix: string, ticket: string): string {
  return `${prefix}${ACCOUNTING_TAG}:hold:${ticket}`;
}
