/** The fast per-request series render as standard Prometheus text: counters by label set, cumulative histogram buckets with +Inf, _sum and _count. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../../src/observability/fast-metrics.js';
import { parseProm, sumOf } from '../helpers/observability.js';

describe('fast metrics', () => {
  it('render counters and cumulative histograms through a prom-client registry', async () => {
    const reg = new Registry();
    const c = new FastCounter('t_requests_total', 'requests', ['route', 'status'], reg);
    const h = new FastHistogram('t_duration_seconds', 'duration', ['route'], [0.1, 1], reg);
    c.inc(1, '/a', '200');
    c.inc(2, '/a', '200');
    c.inc(1, '/b', '500');
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v, '/a');
    const text = await reg.metrics();
    expect(text).toContain('# TYPE t_requests_total counter');
    expect(text).toContain('# TYPE t_duration_seconds histogram');
    const s = parseProm(text);
    expect(sumOf(s, 't_requests_total', { route: '/a', status: '200' })).toBe(3);
    expect(sumOf(s, 't_requests_total', { route: '/b' })).toBe(1);
    expect(sumOf(s, 't_duration_seconds_bucket', { route: '/a', le: '0.1' })).toBe(2);
    expect(sumOf(s, 't_duration_seconds_bucket', { route: '/a', le: '1' })).toBe(3);
    expect(sumOf(s, 't_duration_seconds_bucket', { route: '/a', le: '+Inf' })).toBe(4);
    expect(sumOf(s, 't_duration_seconds_count', { route: '/a' })).toBe(4);
    expect(sumOf(s, 't_duration_seconds_sum', { route: '/a' })).toBeCloseTo(3.65, 12);
    const json = await reg.getMetricsAsJSON();
    expect(json.map((m) => m.name).sort()).toEqual(['t_duration_seconds', 't_requests_total']);
    reg.resetMetrics();
    expect(parseProm(await reg.metrics())).toHaveLength(0);
  });
});
