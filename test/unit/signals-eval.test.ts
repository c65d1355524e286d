import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { qualityCurve, routerMetrics, type Outcome } from '../../src/eval/routing-metrics.js';
import { foldOf, runRoutingEval } from '../../src/eval/routing-eval.js';

const DEV = process.env.ROUTING_DEV_FILE ?? '/work/shared/data/routing-dev.jsonl';

describe('routing metrics', () => {
  const outcomes: Outcome[] = [
    { weak: false, strong: true },
    { weak: true, strong: true },
    { weak: false, strong: false },
    { weak: true, strong: false },
  ];

  it('walks the curve from all-weak to all-strong', () => {
    const q = qualityCurve([4, 3, 2, 1], outcomes);
    expect(Array.from(q)).toEqual([0.5, 0.75, 0.75, 0.75, 0.5]);
  });

  it('averages tied scores as a random order would', () => {
    const q = qualityCurve([1, 1, 1, 1], outcomes);
    expect(Array.from(q)).toEqual([0.5, 0.5, 0.5, 0.5, 0.5]);
    const q2 = qualityCurve([1, 1, 0, 0], outcomes);
    expect(q2[1]).toBeCloseTo(0.625);
  });

  it('gives a perfect ranking a higher APGR than a reversed one', () => {
    const many: Outcome[] = Array.from({ length: 100 }, (_, i) => ({ weak: i % 3 !== 0, strong: i % 5 !== 0 }));
    const gain = many.map((o) => Number(o.strong) - Number(o.weak));
    const good = routerMetrics(gain, many);
    const bad = routerMetrics(gain.map((g) => -g), many);
    expect(good.apgr).toBeGreaterThan(1);
    expect(bad.apgr).toBeLessThan(0);
    expect(good.cpt50).toBeLessThan(good.cpt80);
  });

  it('keeps identical prompts in one fold', () => {
    expect(foldOf('same text', 5)).toBe(foldOf('same text', 5));
  });
});

describe.runIf(existsSync(DEV))('routing eval on the MMLU dev set', () => {
  it('beats the prompt-length baseline (APGR 0.59), in-sample and cross-validated', () => {
    const r = runRoutingEval(DEV);
    expect(r.length.apgr).toBeCloseTo(0.588, 2);
    expect(r.random.apgr).toBeCloseTo(0.5, 2);
    expect(r.shipped.apgr).toBeGreaterThan(0.6);
    expect(r.crossValidated.apgr).toBeGreaterThan(0.6);
    expect(r.shipped.cpt50).toBeLessThan(r.length.cpt50);
  });
});
