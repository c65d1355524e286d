/**
 * The Grafana dashboard only queries metrics that exist: every metric name
 * in `examples/grafana/switchyard.json` is registered by `SwitchyardMetrics`
 * (histogram series by their base name); and `METRIC_NAMES` lists exactly
 * the metrics the one metrics file defines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { METRIC_NAMES, SwitchyardMetrics } from '../../src/observability/metrics.js';

const metrics = new SwitchyardMetrics({ config: parseConfig('{}', {}), registry: { allUpstreams: () => [] } });
const registered = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}

describe('grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(new URL('../../examples/grafana/switchyard.json', import.meta.url), 'utf8')) as { panels: Panel[]; uid: string };
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('is valid JSON with queried panels that fit the 24-column grid', () => {
    expect(dash.uid).toBe('switchyard');
    expect(exprs.length).toBeGreaterThan(20);
    for (const p of dash.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  });

  it('queries only metrics the registry has', () => {
    const used = new Set<string>();
    for (const e of exprs) for (const m of e.matchAll(/\b((?:switchyard|process|nodejs)_[a-z0-9_]+)/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) {
      const base = registered.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      expect(registered.has(base), `${name} is not a registered metric`).toBe(true);
    }
  });

  it('charts every Switchyard metric', () => {
    const text = exprs.join('\n');
    for (const name of METRIC_NAMES) expect(text, `${name} is not on the dashboard`).toContain(name);
  });
});

describe('the metrics file', () => {
  it('defines exactly the metrics METRIC_NAMES lists', () => {
    const ours = [...registered].filter((n) => n.startsWith('switchyard_')).sort();
    expect(ours).toEqual([...METRIC_NAMES].sort());
  });
});
