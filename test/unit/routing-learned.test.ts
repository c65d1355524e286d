/**
 * The outcome-trained router's parts: the bounded outcome index (oldest out,
 * by count and by age; scans promoted to a graph), the shrunk estimate, the
 * ladder walk with its guard rail and explanation, tenant scoping, the model
 * file and the label file formats.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyOne } from '../../src/eval/classify.js';
import { bootstrapMetrics, routerMetrics } from '../../src/eval/routing-metrics.js';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { complexityScore } from '../../src/routing/signals/complexity.js';
import { estimateTokens } from '../../src/routing/signals/length.js';
import { routingLearnedSchema } from '../../src/config/routing-learned.js';
import { parseConfig } from '../../src/config/load.js';
import { parseLabels } from '../../src/eval/route-labels.js';
import { buildModel, featureRecord, fitPrior, fitProbe, fitRouterModel, KNN_GRID, scoreExamples, targetFor } from '../../src/eval/route-fit.js';
import { COMPLEXITY_FEATURES } from '../../src/routing/signals/complexity-features.js';
import { LearnedRouter, priorP, probeGap, shrunkEstimate } from '../../src/routing/learned.js';
import { parseRouterModel, toModelFile, type RouterModel } from '../../src/routing/learned-model.js';
import { OutcomeIndex } from '../../src/routing/outcome-index.js';
import { Router } from '../../src/routing/router.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';

const DIM = 16;
function unit(seed: number, dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let s = seed >>> 0 || 1;
  let n = 0;
  for (let i = 0; i < dim; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    n += (v[i] = s / 2 ** 32 - 0.5) ** 2;
  }
  for (let i = 0; i < dim; i++) v[i]! /= Math.sqrt(n);
  return v;
}
/** A unit vector close to `v` (cosine ≈ 1 − eps). */
function near(v: Float32Array, seed: number, eps = 0.02): Float32Array {
  const r = unit(seed, v.length);
  const out = v.map((x, i) => x + eps * r[i]!);
  const n = Math.hypot(...out);
  return out.map((x) => x / n);
}
const cfg = (o: Record<string, unknown> = {}) => routingLearnedSchema.parse(o);

describe('OutcomeIndex', () => {
  it('keeps at most maxOutcomes, dropping the oldest first', () => {
    const idx = new OutcomeIndex({ maxOutcomes: 3, maxAgeMs: Infinity });
    for (let i = 0; i < 5; i++) idx.add({ vector: unit(i + 1), tier: 'low', score: i % 2, scope: '*', at: 1000 + i });
    expect(idx.size).toBe(3);
    // The two oldest (seeds 1, 2) are gone: searching for them finds other vectors.
    const best = idx.search('*', 'LOW', unit(1), 1)[0]!;
    expect(best.similarity).toBeLessThan(0.99);
    expect(idx.search('*', 'low', unit(5), 1)[0]!.similarity).toBeCloseTo(1, 5);
  });

  it('drops outcomes older than maxAgeMs, on insert and when met in a search', () => {
    let now = 10_000;
    const idx = new OutcomeIndex({ maxOutcomes: 100, maxAgeMs: 1_000, now: () => now });
    expect(idx.add({ vector: unit(1), tier: 'low', score: 1, scope: '*', at: 8_000 })).toBe(false);
    idx.add({ vector: unit(2), tier: 'low', score: 1, scope: '*', at: 9_500 });
    now = 11_000;
    expect(idx.search('*', 'low', unit(2), 4)).toEqual([]);
    expect(idx.size).toBe(0);
  });

  it('partitions by scope and tier, rejects bad vectors and scores', () => {
    const idx = new OutcomeIndex({ maxOutcomes: 100, maxAgeMs: Infinity });
    idx.add({ vector: unit(1), tier: 'low', score: 1, scope: 't:a', at: 1 });
    expect(idx.search('t:b', 'low', unit(1), 4)).toEqual([]);
    expect(idx.search('t:a', 'high', unit(1), 4)).toEqual([]);
    expect(idx.search('t:a', 'low', unit(1), 4)).toHaveLength(1);
    expect(idx.add({ vector: unit(1, 8), tier: 'low', score: 1, scope: '*', at: 1 })).toBe(false);
    expect(idx.add({ vector: unit(1), tier: 'low', score: 2, scope: '*', at: 1 })).toBe(false);
  });

  it('moves a large partition to an HNSW graph and still finds the nearest', () => {
    const idx = new OutcomeIndex({ maxOutcomes: 10_000, maxAgeMs: Infinity, flatMax: 64 });
    for (let i = 0; i < 600; i++) idx.add({ vector: unit(i + 1), tier: 'low', score: i === 77 ? 0 : 1, scope: '*', at: i });
    const [best] = idx.search('*', 'low', near(unit(78), 9, 0.001), 1);
    expect(best!.score).toBe(0);
    expect(best!.similarity).toBeGreaterThan(0.99);
  });
});

describe('the learned estimate', () => {
  it('is the similarity-weighted mean of neighbours shrunk toward the prior', () => {
    const k = { sharpness: 0.1, priorWeight: 2, minSimilarity: 0.5 };
    expect(shrunkEstimate([], 0.3, k)).toEqual({ p: 0.3, neighbours: 0, evidence: 0 });
    const one = shrunkEstimate([{ score: 1, similarity: 1 }], 0.3, k);
    expect(one.p).toBeCloseTo((1 + 2 * 0.3) / 3, 6);
    // Below minSimilarity: no evidence at all.
    expect(shrunkEstimate([{ score: 1, similarity: 0.4 }], 0.3, k).neighbours).toBe(0);
    // Much evidence: the neighbours win.
    const many = shrunkEstimate(Array.from({ length: 50 }, () => ({ score: 0, similarity: 0.99 })), 0.9, k);
    expect(many.p).toBeLessThan(0.1);
  });

  it('without outcomes reproduces the complexity decision; with them moves by at most maxSteps', () => {
    const l = new LearnedRouter(cfg({ target: 0.8, maxSteps: 1 }), ['LOW', 'MEDIUM', 'HIGH'], undefined);
    const v = unit(3);
    // complexity 0.5 with thresholds [0.25, 0.7]: step 1 (MEDIUM), as complexity alone decides.
    const base = l.choose({ embedding: v, complexity: 0.5, tokens: 20, tenant: undefined }, 1, [0.25, 0.7]);
    expect(base.step).toBe(1);
    expect(base.why).toBe('learned: p(LOW ok)=0.25 from the prior < 0.80, p(MEDIUM ok)=0.97 from the prior >= 0.80 -> MEDIUM');
    // MEDIUM fails on requests like this one: up to HIGH.
    for (let i = 0; i < 20; i++) l.record({ vector: near(v, 100 + i), tier: 'MEDIUM', score: 0 });
    const up = l.choose({ embedding: near(v, 999), complexity: 0.5, tokens: 20, tenant: undefined }, 1, [0.25, 0.7]);
    expect(up.step).toBe(2);
    expect(up.why).toMatch(/^learned: p\(LOW ok\)=0\.25 from the prior < 0\.80, p\(MEDIUM ok\)=0\.\d\d from 20 neighbours < 0\.80 -> HIGH$/);
    // Elsewhere LOW and MEDIUM are both good: from a complexity step of 2 the guard rail allows one step down only.
    const w = unit(77);
    for (let i = 0; i < 40; i++) {
      l.record({ vector: near(w, 200 + i), tier: 'LOW', score: 1 });
      l.record({ vector: near(w, 300 + i), tier: 'MEDIUM', score: 1 });
    }
    const q = { embedding: near(w, 998), complexity: 0.9, tokens: 20, tenant: undefined };
    expect(l.choose(q, 2, [0.25, 0.7]).step).toBe(1);
    l.configure(cfg({ target: 0.8, maxSteps: 2 }), ['LOW', 'MEDIUM', 'HIGH'], undefined);
    expect(l.choose(q, 2, [0.25, 0.7]).step).toBe(0);
    // A top-tier or unknown-tier outcome is not evidence about a cheaper tier.
    expect(l.record({ vector: v, tier: 'HIGH', score: 1 })).toBeUndefined();
    expect(l.record({ vector: v, tier: 'NOPE', score: 1 })).toBeUndefined();
  });

  it('per-tenant scope: one tenant\'s outcomes never move another tenant\'s decisions', () => {
    const l = new LearnedRouter(cfg({ scope: 'tenant', target: 0.5 }), ['LOW', 'HIGH'], undefined);
    const v = unit(5);
    for (let i = 0; i < 30; i++) l.record({ vector: near(v, i), tier: 'LOW', score: 1, tenant: 'a' });
    const a = l.choose({ embedding: near(v, 500), complexity: 0.9, tokens: 10, tenant: 'a' }, 1, [0.25]);
    const b = l.choose({ embedding: near(v, 500), complexity: 0.9, tokens: 10, tenant: 'b' }, 1, [0.25]);
    expect(a.step).toBe(0);
    expect(b.step).toBe(1);
    expect(b.why).toContain('from the prior');
  });

  it('without an embedding explains that only the prior decided', () => {
    const l = new LearnedRouter(cfg(), ['LOW', 'HIGH'], undefined);
    expect(l.choose({ embedding: undefined, complexity: 0.1, tokens: 5, tenant: undefined }, 0, [0.25]).why).toMatch(/\(no embedding: prior only\)$/);
  });
});

describe('model and label files', () => {
  const model: RouterModel = {
    embedder: 'use-lite',
    dim: DIM,
    tier: null,
    prior: { intercept: 1, complexity: -0.5, length: 0 },
    knn: { neighbours: 8, sharpness: 0.1, priorWeight: 4, minSimilarity: 0.3 },
    target: 0.75,
    fit: { n: 2 },
    seeds: [
      { vector: unit(1), score: 1 },
      { vector: unit(2), score: 0 },
    ],
  };

  it('round-trips a model with int8 vectors (cosine to the original > 0.999)', () => {
    const back = parseRouterModel(JSON.stringify(toModelFile(model)), 'm.json');
    expect(back).toMatchObject({ embedder: 'use-lite', dim: DIM, tier: null, target: 0.75, knn: model.knn, prior: model.prior });
    const dot = back.seeds[0]!.vector.reduce((s, x, i) => s + x * model.seeds[0]!.vector[i]!, 0);
    expect(dot).toBeGreaterThan(0.999);
    expect(back.seeds.map((s) => s.score)).toEqual([1, 0]);
  });

  it('names the file and the problem for a bad model', () => {
    expect(() => parseRouterModel('{', 'm.json')).toThrow(/^m\.json: not JSON/);
    expect(() => parseRouterModel('{"format":"x"}', 'm.json')).toThrow(/^m\.json: not a Switchyard router model \(format: .*switchyard route-fit/);
    const f = toModelFile(model);
    expect(() => parseRouterModel(JSON.stringify({ ...f, outcomes: { ...f.outcomes, scores: [1] } }), 'm.json')).toThrow(/1 scores but 2 vectors/);
  });

  it('reads both label shapes and rejects a bad line with its number', () => {
    const rows = parseLabels(
      [
        '{"prompt":"a","weak_correct":false,"strong_correct":true,"source":"mmlu/law"}',
        '{"prompt":"b","weak_correct":false,"strong_correct":false}',
        '{"messages":[{"role":"user","content":"c"}],"ok":0.25}',
        '',
      ].join('\n'),
      'l.jsonl',
    );
    expect(rows.map((r) => [r.text, r.ok, r.source])).toEqual([
      ['a', 0, 'mmlu/law'],
      ['b', 1, undefined],
      ['c', 0.25, undefined],
    ]);
    expect(() => parseLabels('{"prompt":"a"}\n', 'l.jsonl')).toThrow('l.jsonl:1: needs "weak_correct" and "strong_correct" (booleans), or "ok" (0..1)');
    expect(() => parseLabels('\n{"ok":1}\n', 'l.jsonl')).toThrow(/^l\.jsonl:2: needs "prompt"/);
  });

  it('fits a prior that learns the direction of complexity, and a target reaching 95% of all-strong', () => {
    const ex = Array.from({ length: 200 }, (_, i) => ({ vector: unit(i + 1), complexity: (i + 0.5) / 200, tokens: 20, ok: i < 150 ? 1 : 0 }));
    expect(fitPrior(ex).complexity).toBeLessThan(0);
    const rows = [
      { weak: true, strong: true },
      { weak: false, strong: true },
      { weak: false, strong: true },
      { weak: true, strong: true },
    ].map((o) => ({ ...o, vector: unit(1), complexity: 0.5, tokens: 1, ok: o.weak ? 1 : 0 }));
    // p(ok) per row: the two the weak side fails have the lowest p; the target falls between them and the rest.
    expect(targetFor([0.9, 0.2, 0.3, 0.8], rows)).toBeCloseTo(0.55, 6);
  });
});

describe('bootstrap intervals of the routing metrics', () => {
  it('bracket the point figure, are reproducible, and narrow with more rows', () => {
    const make = (n: number) => {
      let x = 9;
      const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const rows = Array.from({ length: n }, () => ({ weak: rnd() < 0.6, strong: rnd() < 0.8 }));
      // A noisy but informative score: the true gain plus noise.
      const scores = rows.map((r) => Number(r.strong) - Number(r.weak) + 1.5 * rnd());
      return { rows, scores };
    };
    const small = make(400);
    const point = routerMetrics(small.scores, small.rows);
    const ci = bootstrapMetrics(small.scores, small.rows, 100);
    expect(ci.apgr[0]).toBeLessThanOrEqual(point.apgr);
    expect(ci.apgr[1]).toBeGreaterThanOrEqual(point.apgr);
    expect(ci.shareFor95[0]).toBeLessThan(ci.shareFor95[1]);
    expect(bootstrapMetrics(small.scores, small.rows, 100)).toEqual(ci);
    const big = make(6400);
    const wide = ci.apgr[1] - ci.apgr[0];
    const bci = bootstrapMetrics(big.scores, big.rows, 100);
    expect(bci.apgr[1] - bci.apgr[0]).toBeLessThan(wide / 2);
  });
});

describe('the probe prior', () => {
  // Two kinds of request, told apart only by the embedding's first coordinate (same complexity, same
  // length): the weak tier fails kind A (strong right), both are right on kind B.
  const kind = (i: number) => (i % 2 === 0 ? 'A' : 'B');
  const vec = (i: number) => {
    const v = unit(i + 1);
    v[0] = kind(i) === 'A' ? 0.8 : -0.8;
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const ex = Array.from({ length: 200 }, (_, i) => ({
    vector: vec(i),
    complexity: 0.5,
    tokens: 40,
    weak: kind(i) === 'B' || i % 10 === 0,
    strong: true,
    ok: kind(i) === 'B' || i % 10 === 0 ? 1 : 0,
  }));

  it('learns from the embedding what the signals cannot see, and ranks through the runtime by the predicted gap', () => {
    const probe = fitProbe(ex, 1)!;
    expect(probe.strong.embedding).toHaveLength(DIM);
    // Every example has 40 tokens: a constant column gets no weight (not noise divided by a ~1e-16 sd).
    expect(probe.strong.length).toBe(0);
    expect(probe.weak.length).toBe(0);
    const prior = { ...fitPrior(ex), probe };
    const a = priorP(prior, 0.5, 40, vec(1000));
    const b = priorP(prior, 0.5, 40, vec(1001));
    expect(a).toBeLessThan(0.5);
    expect(b).toBeGreaterThan(0.9);
    // The signal-only prior sees identical complexity and length: it cannot tell the kinds apart.
    expect(priorP(fitPrior(ex), 0.5, 40)).toBeCloseTo(priorP(fitPrior(ex), 0.5, 40, vec(1000)), 12);
    // Without an embedding, the head uses the fitted mean of its embedding term: between the two kinds.
    const none = priorP(prior, 0.5, 40);
    expect(none).toBeGreaterThan(a);
    expect(none).toBeLessThan(b);
    // Through the runtime with no seed outcomes near (seeds far away do not count): kind A ranks above kind B.
    const model = buildModel(ex, { embedder: 'use-lite', prior: 'probe', ridge: 1 });
    const p = scoreExamples({ ...model, seeds: [] }, [ex[0]!, ex[1]!].map((e, j) => ({ ...e, vector: vec(2000 + j) })));
    expect(p[0]).toBeLessThan(p[1]! - 0.3);
  });

  it('round-trips in the model file and rejects probe weights of the wrong length', () => {
    const model = buildModel(ex, { embedder: 'use-lite', prior: 'probe', ridge: 1 });
    const back = parseRouterModel(JSON.stringify(toModelFile(model)), 'm.json');
    expect(priorP(back.prior, 0.5, 40, vec(1000))).toBeCloseTo(priorP(model.prior, 0.5, 40, vec(1000)), 5);
    const f = toModelFile(model);
    const bad = { ...f, prior: { ...f.prior, probe: { ...f.prior.probe!, weak: { ...f.prior.probe!.weak, embedding: Buffer.alloc(8).toString('base64') } } } };
    expect(() => parseRouterModel(JSON.stringify(bad), 'm.json')).toThrow(/prior\.probe\.weak\.embedding holds 2 weights, the model has 16 dimensions/);
  });

  it('vote gain: seed neighbours vote on strong right − weak right, shrunk toward the probe gap; far away the probe decides', () => {
    const model = buildModel(ex, { embedder: 'use-lite', prior: 'probe', ridge: 1, vote: 'gain', knn: { neighbours: 8, sharpness: 0.1, priorWeight: 0.5, minSimilarity: 0.5 } });
    expect(model.knn.vote).toBe('gain');
    // Four seeds around one point: gains +1, +1, 0, −1 (mean 0.25). Voting on ok (1, 1 for 0 and −1, 0 for +1) would give 0.5.
    const at = unit(4242);
    const gains = [1, 1, 0, -1];
    const seeds = gains.map((gain, j) => ({ vector: near(at, 50 + j, 0.001), score: gain === 1 ? 0 : 1, gain }));
    const m: RouterModel = { ...model, tier: 'weak', seeds };
    const l = new LearnedRouter(cfg(), ['weak', 'strong'], m);
    const input = { embedding: near(at, 77, 0.001), complexity: 0.5, tokens: 40, tenant: undefined };
    const e = l.estimate(0, input, undefined);
    expect(e.neighbours).toBe(4);
    const gap0 = probeGap(m.prior.probe!, 0.5, 40, input.embedding);
    const w = e.evidence;
    expect(e.p).toBeCloseTo(1 - (w * 0.25 + 0.5 * gap0) / (w + 0.5), 3);
    expect(e.prior).toBeCloseTo(Math.min(1, 1 - gap0), 6);
    // Far from every seed (below minSimilarity): the probe alone.
    const far = l.estimate(0, { ...input, embedding: unit(9999) }, undefined);
    expect(far.neighbours).toBe(0);
    expect(far.p).toBeCloseTo(far.prior, 12);
    // The deployment's own outcomes are shrunk toward that estimate.
    for (let i = 0; i < 30; i++) l.record({ vector: near(at, 300 + i, 0.001), tier: 'weak', score: 0 });
    const online = l.estimate(0, input, undefined);
    expect(online.neighbours).toBe(4 + 8);
    expect(online.p).toBeLessThan(e.p / 4);
    // Round trip: the gains travel in the model file; vote gain without them is refused.
    const back = parseRouterModel(JSON.stringify(toModelFile(m)), 'm.json');
    expect(back.seeds.map((s) => s.gain)).toEqual(gains);
    expect(new LearnedRouter(cfg(), ['weak', 'strong'], back).estimate(0, input, undefined).p).toBeCloseTo(e.p, 2);
    const f = toModelFile(m);
    expect(() => parseRouterModel(JSON.stringify({ ...f, outcomes: { ...f.outcomes, gains: undefined } }), 'm.json')).toThrow(/knn\.vote 'gain' needs prior\.probe and outcomes\.gains/);
  });

  it('vote gain: route-fit picks the neighbour settings from the grid by inner cross-validation', () => {
    const model = fitRouterModel(ex, { embedder: 'use-lite', prior: 'probe', ridge: 1, vote: 'gain' });
    expect(model.knn.vote).toBe('gain');
    expect(KNN_GRID.neighbours).toContain(model.knn.neighbours);
    expect(KNN_GRID.priorWeight).toContain(model.knn.priorWeight);
    expect(KNN_GRID.sharpness).toContain(model.knn.sharpness);
    expect(model.fit).toMatchObject({ chosenBy: 'inner cross-validation (APGR)' });
    // Out-of-fold, kind A (the weak tier fails) gets a lower p(ok) than kind B.
    const mean = (k: string) => ex.reduce((s, _, i) => s + (kind(i) === k ? model.oof[i]! : 0), 0) / 100;
    expect(mean('A')).toBeLessThan(mean('B') - 0.3);
    // Too few labels for a probe: the signal prior and neighbours voting on ok, a model file that loads.
    const small = fitRouterModel(ex.slice(0, 16), { embedder: 'use-lite', prior: 'probe', ridge: 1, vote: 'gain' });
    expect(small.prior.probe).toBeUndefined();
    expect(small.knn.vote).toBeUndefined();
    expect(() => parseRouterModel(JSON.stringify(toModelFile(small)), 'm.json')).not.toThrow();
  });

  it('weighs the complexity features the router already computed (kinds the embedding cannot tell apart)', () => {
    // Random embeddings; the weak tier fails exactly the requests with many numbers (feature `numbers`).
    const at = COMPLEXITY_FEATURES.indexOf('numbers');
    const feats = (i: number) => COMPLEXITY_FEATURES.map((_, j) => (j === at ? (i % 2 === 0 ? 3 : 0) : 0.5));
    const rows = Array.from({ length: 200 }, (_, i) => ({ vector: unit(i + 1), complexity: 0.5, tokens: 40, features: feats(i), weak: i % 2 === 1, strong: true, ok: i % 2 }));
    const probe = fitProbe(rows, 1, 1)!;
    expect(probe.weak.features).toHaveLength(COMPLEXITY_FEATURES.length);
    const prior = { ...fitPrior(rows), probe };
    const many = priorP(prior, 0.5, 40, unit(5000), featureRecord(feats(0)));
    const few = priorP(prior, 0.5, 40, unit(5000), featureRecord(feats(1)));
    expect(many).toBeLessThan(few - 0.3);
    // Without features the fitted mean term stands in: between the two.
    const none = priorP(prior, 0.5, 40, unit(5000));
    expect(none).toBeGreaterThan(many);
    expect(none).toBeLessThan(few);
    // Without feature weights (featureRidge null) the probe cannot tell them apart.
    const blind = { ...fitPrior(rows), probe: fitProbe(rows, 1, null)! };
    expect(blind.probe.weak.features).toBeUndefined();
    expect(Math.abs(priorP(blind, 0.5, 40, unit(5000), featureRecord(feats(0))) - priorP(blind, 0.5, 40, unit(5000), featureRecord(feats(1))))).toBeLessThan(1e-12);
    // The weights travel in the model file by name; an unknown name is refused.
    const model = buildModel(rows, { embedder: 'use-lite', prior: 'probe', ridge: 1, featureRidge: 1 });
    const back = parseRouterModel(JSON.stringify(toModelFile(model)), 'm.json');
    expect(priorP(back.prior, 0.5, 40, unit(5000), featureRecord(feats(0)))).toBeCloseTo(priorP(model.prior, 0.5, 40, unit(5000), featureRecord(feats(0))), 4);
    expect(priorP(back.prior, 0.5, 40, unit(5000))).toBeCloseTo(priorP(model.prior, 0.5, 40, unit(5000)), 4);
    const f = toModelFile(model);
    const bad = { ...f, prior: { ...f.prior, probe: { ...f.prior.probe!, weak: { ...f.prior.probe!.weak, features: { nope: 1 } } } } };
    expect(() => parseRouterModel(JSON.stringify(bad), 'm.json')).toThrow(/prior\.probe\.weak\.features names an unknown complexity feature 'nope'/);
  });

  it('fits no probe without both labels', () => {
    expect(fitProbe(ex.map((e) => ({ ...e, weak: undefined })), 1)).toBeUndefined();
  });
});

describe('Router with routing.learned', () => {
  const yaml = (learned: string) => `upstreams:
  - { name: u, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: small }, { name: big }] }
tiers:
  - { name: LOW, models: [small] }
  - { name: HIGH, models: [big] }
routing:
  ladder: [LOW, HIGH]
  thresholds: [0.5]
  agenticTier: null
  learned: ${learned}
`;

  it('a missing model file is a config error on reload, and the last good config stays', () => {
    const good = parseConfig(yaml('{ target: 0.6 }'), {});
    const reg = new UpstreamRegistry(good, {});
    const router = new Router(good, reg, { pollers: false });
    expect(() => router.reload(parseConfig(yaml('{ model: /nonexistent/router-model.json }'), {}))).toThrow(/routing\.learned\.model: \/nonexistent\/router-model\.json: no such model file/);
    expect(router.learnedRouter!.targetOf(0)).toBe(0.6);
    void router.close();
    void reg.close();
  });

  it('feedback on a routed request becomes an outcome near its embedding', () => {
    const c = parseConfig(yaml('{ target: 0.6 }'), {});
    const reg = new UpstreamRegistry(c, {});
    const router = new Router(c, reg, { pollers: false });
    const req = { operation: 'chat' as const, protocol: 'openai' as const, model: 'switchyard/auto', messages: [{ role: 'user' as const, content: 'hi there' }], stream: false, extra: {} };
    const d = router.route({ req, id: 'r1', embedding: unit(9) });
    expect(d.tier).toBe('LOW');
    expect(router.feedback('r1', 0)).toMatchObject({ tier: 'LOW', learned: true });
    expect(router.learnedRouter!.size).toBe(1);
    void router.close();
    void reg.close();
  });

  it('a gain model with feature weights: the Router passes the request\'s complexity features, and classify\'s score is 1 − that p', () => {
    const numeric = (i: number) => `Compute ${i * 37} + ${i * 11} * ${i + 3} - ${i * 7} / ${i + 1} and give 4 decimals.`;
    const plain = (i: number) => `Name a colour that goes with item ${String.fromCharCode(97 + (i % 26))}.`;
    const text = (i: number) => (i % 2 === 0 ? numeric(i) : plain(i));
    const rows = Array.from({ length: 120 }, (_, i) => {
      const req = promptRequest(text(i));
      const c = complexityScore(req);
      // The weak tier fails the numeric prompts; the strong tier gets nearly everything right.
      return { vector: unit(i + 1), complexity: c.score, tokens: estimateTokens(req), features: COMPLEXITY_FEATURES.map((k) => c.features[k]), weak: i % 2 === 1, strong: i % 10 !== 3, ok: i % 2 };
    });
    const model = buildModel(rows, { embedder: 'use-lite', prior: 'probe', ridge: 1, featureRidge: 1, vote: 'gain', knn: { neighbours: 8, sharpness: 0.1, priorWeight: 4, minSimilarity: 0.9 } });
    expect(model.prior.probe!.weak.features).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-gain-'));
    const file = join(dir, 'router-model.json');
    writeFileSync(file, JSON.stringify(toModelFile(model)));
    const c = parseConfig(yaml(`{ model: ${file}, maxSteps: 1 }`), {});
    const reg = new UpstreamRegistry(c, {});
    const router = new Router(c, reg, { pollers: false });
    const route = (prompt: string, embedding: Float32Array) => {
      const req = { ...promptRequest(prompt), model: 'switchyard/auto' };
      const d = router.route({ req, id: prompt, embedding });
      const e = d.learned!.estimates.find((x) => x.tier === 'LOW')!;
      const line = classifyOne(router, { prompt, model: 'switchyard/auto' }, 1, embedding);
      expect(line.score).toBeCloseTo(1 - e.p, 3);
      return e.p;
    };
    // Fresh embeddings far from every seed: the probe decides, from the features the Router computed.
    const pNumeric = route(numeric(1001), unit(5001));
    const pPlain = route(plain(1002), unit(5002));
    expect(pNumeric).toBeLessThan(pPlain - 0.2);
    void router.close();
    void reg.close();
  });

  it('a private (local-only) request never becomes an outcome, even with feedback', () => {
    const c = parseConfig(yaml('{ target: 0.6 }').replace('baseUrl: "http://127.0.0.1:9/v1",', 'baseUrl: "http://127.0.0.1:9/v1", local: true,'), {});
    const reg = new UpstreamRegistry(c, {});
    const router = new Router(c, reg, { pollers: false });
    const req = { operation: 'chat' as const, protocol: 'openai' as const, model: 'switchyard/auto', messages: [{ role: 'user' as const, content: 'mail jane.doe@example.com the plan' }], stream: false, extra: {} };
    const d = router.route({ req, id: 'p1', embedding: unit(9) });
    expect(d.localOnly).toBe(true);
    expect(router.feedback('p1', 1)).toMatchObject({ learned: false });
    expect(router.learnedRouter!.size).toBe(0);
    void router.close();
    void reg.close();
  });
});
