/** LiveStats history: the last decisions and a series since start that stays bounded by halving its resolution. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import type { DecisionRecord } from '../../src/observability/events.js';
import { LiveStats, RECENT_RECORDS, SERIES_POINTS } from '../../src/observability/stats.js';

const sy = new Switchyard(
  parseConfig(`
upstreams:
  - { name: u, kind: openai-compatible, baseUrl: 'http://127.0.0.1:9/v1', models: [{ name: m1 }, { name: m2 }] }
tiers:
  - { name: fast, models: [m1] }
  - { name: strong, models: [m2] }
cache: { enabled: false }
`),
);

function rec(i: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return { id: `r${i}`, time: new Date().toISOString(), tenant: 't', protocol: 'openai', operation: 'chat', requested: 'm1', stream: false, cache: 'miss', status: 200, complete: true, attempts: [], durationMs: i, ...over };
}

afterEach(() => vi.useRealTimers());

describe('LiveStats history', () => {
  it(`keeps the last ${RECENT_RECORDS} decisions, oldest first`, () => {
    const s = new LiveStats(sy, 64);
    for (let i = 1; i <= 50; i++) s.record(rec(i), i);
    const snap = s.snapshot();
    expect(snap.recent).toHaveLength(RECENT_RECORDS);
    expect(snap.recent.at(-1)!.id).toBe('r50');
    expect(snap.recent[0]!.id).toBe(`r${50 - RECENT_RECORDS + 1}`);
  });

  it('samples at most once per interval and, when full, halves the resolution but keeps the start', () => {
    vi.useFakeTimers();
    const start = Date.parse('2026-01-01T00:00:00Z');
    vi.setSystemTime(start);
    const s = new LiveStats(sy, 64);
    s.record(rec(0), 0);
    s.record(rec(0), 1); // same instant: no second point
    expect(s.snapshot().series).toHaveLength(1);
    for (let i = 1; i <= SERIES_POINTS * 3; i++) {
      vi.setSystemTime(start + i * 1000);
      s.record(rec(i), i + 1);
    }
    const snap = s.snapshot();
    expect(snap.series.length).toBeLessThanOrEqual(SERIES_POINTS + 1);
    expect(snap.series.length).toBeGreaterThan(SERIES_POINTS / 4);
    expect(snap.series[0]!.t).toBe(start);
    // The newest point is at most one interval behind the live totals.
    expect(snap.series.at(-1)!.total).toBeLessThanOrEqual(SERIES_POINTS * 3 + 2);
    expect(snap.series.at(-1)!.total).toBeGreaterThanOrEqual(SERIES_POINTS * 3 + 2 - snap.seriesIntervalMs / 1000);
    expect(snap.seriesIntervalMs).toBeGreaterThan(1000);
    for (let i = 1; i < snap.series.length; i++) expect(snap.series[i]!.t).toBeGreaterThan(snap.series[i - 1]!.t);
  });

  it('counts pinned tiers under their tier: any case, and cache hits that were never routed', () => {
    const s = new LiveStats(sy, 64);
    s.record(rec(1, { tier: 'FAST', requested: 'switchyard/FAST' }), 1);
    s.record(rec(2, { requested: 'switchyard/Fast', cache: 'hit-exact' }), 2);
    s.record(rec(3, { requested: 'switchyard/auto', cache: 'hit-exact' }), 3);
    s.record(rec(4, { requested: 'switchyard/nope', cache: 'hit-exact' }), 4);
    expect(s.snapshot().requests.byTier).toEqual({ fast: 2, none: 2 });
  });
});
