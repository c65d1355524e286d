/** Whose budget a request spends, which caps apply, the standing a total gives, and the UTC periods. */
import { describe, expect, it } from 'vitest';
import { budgetIdentity, capsFor, periodsAt, standing, toNano } from '../../src/accounting/budgets.js';
import { budgetsSchema } from '../../src/config/accounting.js';
import type { RequestContext } from '../../src/core/context.js';

const ctx = { tenant: 't:acme', identity: { tenant: 't:acme', source: 'proxy', team: 't:research' }, req: { user: 'user-42' } } as unknown as RequestContext;
const keyed = { tenant: 'k:0123456789abcdef01234567', identity: { tenant: 'k:0123456789abcdef01234567', source: 'credential' }, req: {} } as unknown as RequestContext;
const virtualKey = { tenant: 't:acme', identity: { tenant: 't:acme', source: 'key', keyId: 'abc123def456' }, req: {} } as unknown as RequestContext;
const headers = { authorization: 'Bearer sk-live-key', 'x-team': 'research' };
const cfg = (v: unknown) => budgetsSchema.parse(v);

describe('budget identity', () => {
  it('is the tenant, the key (virtual key id, else the credential digest), the team, the end user within its tenant or a header', () => {
    expect(budgetIdentity(cfg({ by: 'tenant' }), ctx, headers)).toBe('t:acme');
    expect(budgetIdentity(cfg({ by: 'api-key' }), keyed, headers)).toBe('k:0123456789abcdef01234567');
    expect(budgetIdentity(cfg({ by: 'api-key' }), virtualKey, headers)).toBe('key:abc123def456');
    expect(budgetIdentity(cfg({ by: 'api-key' }), ctx, headers)).toBeUndefined();
    expect(budgetIdentity(cfg({ by: 'team' }), ctx, headers)).toBe('t:research');
    expect(budgetIdentity(cfg({ by: 'user' }), ctx, headers)).toBe('t:acme/user-42');
    expect(budgetIdentity(cfg({ by: 'header', header: 'X-Team' }), ctx, headers)).toBe('research');
    // A header the client set itself only subdivides its own tenant.
    expect(budgetIdentity(cfg({ by: 'header', header: 'X-Team' }), keyed, headers)).toBe('k:0123456789abcdef01234567/research');
  });

  it('hashes long identities whole, never truncating them, so two never share a budget', () => {
    const long = (tail: string) => ({ ...ctx, req: { user: `${'u'.repeat(200)}${tail}` } }) as unknown as RequestContext;
    const a = budgetIdentity(cfg({ by: 'user' }), long('a'), headers)!;
    const b = budgetIdentity(cfg({ by: 'user' }), long('b'), headers)!;
    expect(a).toMatch(/^#[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    // A short id cannot name a hashed one.
    expect(budgetIdentity(cfg({ by: 'header', header: 'x-team' }), ctx, { 'x-team': a })).not.toBe(a);
  });

  it('counts a virtual key with its own budget against the key, whatever `by` says', () => {
    const withBudget = { ...virtualKey, identity: { ...virtualKey.identity, key: { id: 'abc123def456', budget: { dailyUsd: 0.1 } } } } as unknown as RequestContext;
    expect(budgetIdentity(cfg({ by: 'tenant' }), withBudget, headers)).toBe('key:abc123def456');
    expect(capsFor(cfg({ default: { dailyUsd: 100 } }), 'key:abc123def456', { dailyUsd: 0.1 })).toMatchObject({ dayNano: toNano(0.1) });
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

describe('a virtual key without caps of its own', () => {
  it('leaves the configured caps in force', () => {
    const k = { tenant: 't:acme', identity: { tenant: 't:acme', source: 'key', keyId: 'abc123def456', key: { id: 'abc123def456', budget: {} } }, req: {} } as unknown as RequestContext;
    const c = cfg({ by: 'tenant', limits: { 't:acme': { dailyUsd: 3 } } });
    const id = budgetIdentity(c, k, {})!;
    expect(id).toBe('t:acme');
    expect(capsFor(c, id, undefined)).toMatchObject({ dayNano: toNano(3), named: true });
    const byKey = cfg({ by: 'api-key', limits: { 'key:abc123def456': { dailyUsd: 2 } } });
    expect(capsFor(byKey, budgetIdentity(byKey, k, {})!, {})).toMatchObject({ dayNano: toNano(2) });
  });
});
