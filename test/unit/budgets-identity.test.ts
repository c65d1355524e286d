/** Whose budget a request spends, which caps apply, the standing a total gives, and the UTC periods. */
import { describe, expect, it } from 'vitest';
import { budgetIdentity, capsFor, periodsAt, standing, toNano } from '../../src/accounting/budgets.js';
import { budgetsSchema } from '../../src/config/accounting.js';
import type { RequestContext } from '../../src/core/context.js';

const ctx = { tenant: 't:acme', req: { user: 'user-42' } } as unknown as RequestContext;
const headers = { authorization: 'Bearer sk-live-key', 'x-team': 'research' };
const cfg = (v: unknown) => budgetsSchema.parse(v);

describe('budget identity', () => {
  it('is the tenant, the API key digest (never the key), the end user or a header', () => {
    expect(budgetIdentity(cfg({ by: 'tenant' }), ctx, headers)).toBe('t:acme');
    const k = budgetIdentity(cfg({ by: 'api-key' }), ctx, headers)!;
    expect(k).toMatch(/^k:[0-9a-f]{24}$/);
    expect(k).not.toContain('sk-live-key');
    expect(budgetIdentity(cfg({ by: 'user' }), ctx, headers)).toBe('user-42');
    expect(budgetIdentity(cfg({ by: 'header', header: 'X-Team' }), ctx, headers)).toBe('research');
    expect(budgetIdentity(cfg({ by: 'api-key' }), ctx, {})).toBeUndefined();
  });

  it('requires a header name when budgets go by header', () => {
    expect(() => cfg({ by: 'header' })).toThrow(/header/);
  });
});

describe('caps and standing', () => {
  const c = cfg({ softRatio: 0.5, default: { dailyUsd: 10 }, limits: { vip: { monthlyUsd: 100, softRatio: 0.9 } } });

  it('takes the identity entry over the default', () => {
    expect(capsFor(c, 'anyone')).toEqual({ id: 'anyone', dayNano: toNano(10), monthNano: -1, softRatio: 0.5, named: false });
    expect(capsFor(c, 'vip')).toEqual({ id: 'vip', dayNano: -1, monthNano: toNano(100), softRatio: 0.9, named: true });
    expect(capsFor(cfg({}), 'anyone')).toBeUndefined();
  });

  it('is soft past the ratio and hard at the cap, counting reservations', () => {
    const caps = capsFor(c, 'anyone')!;
    const t = (spent: number, reserved: number) => ({ daySpent: toNano(spent), dayReserved: toNano(reserved), monthSpent: 0, monthReserved: 0 });
    expect(standing(caps, t(4, 0.9))).toBe('ok');
    expect(standing(caps, t(4, 1))).toBe('soft');
    expect(standing(caps, t(9, 1))).toBe('hard');
  });
});

describe('periods', () => {
  it('are UTC days and months ending at the next boundary', () => {
    const p = periodsAt(Date.UTC(2025, 11, 31, 23, 59, 59));
    expect(p).toEqual({ day: '20251231', month: '202512', dayEndsAt: Date.UTC(2026, 0, 1), monthEndsAt: Date.UTC(2026, 0, 1) });
  });
});
