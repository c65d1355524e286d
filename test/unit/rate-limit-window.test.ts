/** The two-bucket sliding window: the weighted count, the admission check the Lua script mirrors, and Retry-After. */
import { describe, expect, it } from 'vitest';
import { WINDOW_MS, exceeds, limitsFor, retryAfterSeconds, slidingCount, windowAt } from '../../src/accounting/rate-limits.js';

describe('two-bucket window', () => {
  it('weights the previous minute by the part of it still inside the last 60 s', () => {
    expect(slidingCount(10, 4, 0)).toBe(14);
    expect(slidingCount(10, 4, 0.25)).toBe(11.5);
    expect(slidingCount(10, 4, 1)).toBe(4);
  });

  it('places a moment in its fixed minute', () => {
    const t = 1_700_000_000_000;
    const w = windowAt(t);
    expect(w.index).toBe(Math.floor(t / WINDOW_MS));
    expect(w.fraction).toBeCloseTo((t % WINDOW_MS) / WINDOW_MS, 12);
  });

  it('refuses what would pass the limit, admits what would reach it', () => {
    expect(exceeds(10, 0, 9, 0.5, 1)).toBe(false);
    expect(exceeds(10, 0, 10, 0.5, 1)).toBe(true);
    expect(exceeds(10, 10, 0, 0.05, 1)).toBe(true);
    expect(exceeds(10, 10, 0, 0.5, 1)).toBe(false);
  });
});

describe('Retry-After', () => {
  it('waits for the previous minute to decay when the current one has room', () => {
    // 10 × (1 − f) + 0 + 1 ≤ 10 → f ≥ 0.1; now at 0.05 → 3 s.
    expect(retryAfterSeconds(10, 10, 0, 0.05, 1)).toBe(3);
  });

  it('waits into the next minute when the current one is full', () => {
    // 30 s left in this minute, then 10 × (1 − f) + 1 ≤ 10 at f = 0.1 → 6 s more.
    expect(retryAfterSeconds(10, 0, 10, 0.5, 1)).toBe(36);
  });

  it('is at least one second, and two minutes at most for a cost above the limit', () => {
    expect(retryAfterSeconds(10, 0, 0, 0.999, 1)).toBe(1);
    expect(retryAfterSeconds(100, 0, 0, 0, 500)).toBe(120);
  });

  it('a request admitted after waiting Retry-After seconds fits', () => {
    for (const [prev, cur, f] of [[40, 0, 0.1], [0, 40, 0.3], [25, 20, 0.7], [40, 40, 0.01]] as const) {
      const wait = retryAfterSeconds(40, prev, cur, f, 1);
      const at = f + (wait * 1000) / WINDOW_MS;
      const count = at < 1 ? slidingCount(prev, cur, at) : slidingCount(cur, 0, at - 1);
      expect(count + 1).toBeLessThanOrEqual(40);
    }
  });
});

describe('limits', () => {
  it('takes a tenant entry over the default, and none when neither is set', () => {
    const cfg = { default: { requestsPerMinute: 5 }, tenants: { 't:a': { tokensPerMinute: 100 } } };
    expect(limitsFor(cfg, 't:a')).toEqual({ tenant: 't:a', rpm: -1, tpm: 100 });
    expect(limitsFor(cfg, 't:b')).toEqual({ tenant: 't:b', rpm: 5, tpm: -1 });
    expect(limitsFor({ default: {}, tenants: {} }, 't:b')).toBeUndefined();
  });
});
