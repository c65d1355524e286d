/**
 * Budgets: whose spend a request counts against, that identity's daily and
 * monthly caps, the UTC periods they reset on, and the standing a total puts
 * it in (`ok`, `soft` past the soft ratio → the router downgrades, `hard` at
 * the cap → 429 `budget_exceeded`).
 *
 * Money is counted in integer nano-USD (1e-9 USD), so Redis adds it exactly
 * with HINCRBY and one request of a few tokens on a cheap model still counts.
 */
import type { BudgetsConfig } from '../config/accounting.js';
import { header, type HeaderBag } from '../core/parse.js';
import { boundedId } from '../identity/tenant-name.js';
import type { RequestContext } from '../core/context.js';

/** USD → integer nano-USD. */
export const toNano = (usd: number): number => Math.round(usd * 1e9);
/** Integer nano-USD → USD. */
export const fromNano = (nano: number): number => nano / 1e9;

/** The standing of an identity against its caps. */
export type BudgetStanding = 'ok' | 'soft' | 'hard';

/** The caps that apply to one identity, in nano-USD; -1 = no cap for that period. */
export interface BudgetCaps {
  id: string;
  dayNano: number;
  monthNano: number;
  softRatio: number;
  /** Listed under `limits` (gets a remaining-budget metric series). */
  named: boolean;
}

/** Spend of one identity in the current periods, in nano-USD. */
export interface BudgetTotals {
  daySpent: number;
  dayReserved: number;
  monthSpent: number;
  monthReserved: number;
}

/**
 * The identity a request's spend counts against, or undefined when the
 * configured source is absent (no user id, no header): such requests are
 * not budgeted. A virtual key with its own `budget` always counts against
 * itself (`key:<id>`). Long ids are hashed whole (`#<sha256>`), never
 * truncated, so two identities never share a budget.
 */
export function budgetIdentity(cfg: BudgetsConfig, ctx: RequestContext, headers: HeaderBag): string | undefined {
  const who = ctx.identity;
  if (who.key?.budget && (who.key.budget.dailyUsd !== undefined || who.key.budget.monthlyUsd !== undefined)) return `key:${who.key.id}`;
  let id: string | undefined;
  switch (cfg.by) {
    case 'tenant':
      id = ctx.tenant;
      break;
    case 'api-key':
      // The virtual key's id; otherwise the credential's digest (`k:<hex>`, never the key).
      id = who.keyId ? `key:${who.keyId}` : who.source === 'credential' ? who.tenant : undefined;
      break;
    case 'team':
      id = who.team;
      break;
    case 'user':
      // Client-chosen: only meaningful under a tenant, so one tenant's users never share another's budget.
      id = ctx.req.user ? `${ctx.tenant}/${ctx.req.user}` : undefined;
      break;
    case 'header': {
      // Trusted as is only from the authenticating proxy; a client's own header only subdivides its tenant.
      const v = header(headers, cfg.header!);
      id = v === undefined ? undefined : who.source === 'proxy' ? v : `${ctx.tenant}/${v}`;
      break;
    }
  }
  return id ? boundedId(id) : undefined;
}

/** The caps of an identity, or undefined when none applies; `keyCaps` (a virtual key's own budget) wins. */
export function capsFor(cfg: BudgetsConfig, id: string, keyCaps?: { dailyUsd?: number | undefined; monthlyUsd?: number | undefined; softRatio?: number | undefined }): BudgetCaps | undefined {
  const own = (keyCaps && (keyCaps.dailyUsd !== undefined || keyCaps.monthlyUsd !== undefined) ? keyCaps : undefined) ?? cfg.limits[id];
  const c = own ?? cfg.default;
  if (c.dailyUsd === undefined && c.monthlyUsd === undefined) return undefined;
  return {
    id,
    dayNano: c.dailyUsd === undefined ? -1 : toNano(c.dailyUsd),
    monthNano: c.monthlyUsd === undefined ? -1 : toNano(c.monthlyUsd),
    softRatio: c.softRatio ?? cfg.softRatio,
    named: own !== undefined,
  };
}

/** Does any identity have a cap? */
export function budgetsActive(cfg: BudgetsConfig): boolean {
  if (cfg.default.dailyUsd !== undefined || cfg.default.monthlyUsd !== undefined) return true;
  return Object.values(cfg.limits).some((c) => c.dailyUsd !== undefined || c.monthlyUsd !== undefined);
}

/** Standing after counting spend and in-flight reservations. */
export function standing(caps: BudgetCaps, t: BudgetTotals): BudgetStanding {
  const day = t.daySpent + t.dayReserved;
  const month = t.monthSpent + t.monthReserved;
  if ((caps.dayNano >= 0 && day >= caps.dayNano) || (caps.monthNano >= 0 && month >= caps.monthNano)) return 'hard';
  if ((caps.dayNano >= 0 && day >= caps.dayNano * caps.softRatio) || (caps.monthNano >= 0 && month >= caps.monthNano * caps.softRatio)) return 'soft';
  return 'ok';
}

/** The UTC day and month a moment falls in, and when each ends (ms since epoch). */
export interface Periods {
  day: string;
  month: string;
  dayEndsAt: number;
  monthEndsAt: number;
}

/**
 * @example
 * periodsAt(Date.UTC(2025, 9, 15, 13)); // { day: '20251015', month: '202510', dayEndsAt: …16 Oct 00:00Z, monthEndsAt: …1 Nov 00:00Z }
 */
export function periodsAt(now: number): Periods {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  const mm = String(m + 1).padStart(2, '0');
  return {
    day: `${y}${mm}${String(day).padStart(2, '0')}`,
    month: `${y}${mm}`,
    dayEndsAt: Date.UTC(y, m, day + 1),
    monthEndsAt: Date.UTC(y, m + 1, 1),
  };
}
