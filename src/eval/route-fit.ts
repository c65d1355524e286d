/**
 * Fitting the outcome-trained router from labelled requests (offline; the
 * runtime only reads the result): a logistic prior over the existing signals
 * (complexity logit, ln(1 + tokens)), the labelled requests as seed outcomes,
 * and the target p(ok) that reaches 95% of all-strong quality out of fold.
 * Scoring goes through the runtime's own {@link LearnedRouter}, so the
 * evaluation measures exactly what the gateway would decide.
 */
import { routingLearnedSchema } from '../config/routing-learned.js';
import { LearnedRouter, probeGap, shrunkEstimate } from '../routing/learned.js';
import { COMPLEXITY_FEATURES, type ComplexityFeatures } from '../routing/signals/complexity-features.js';
import { dequantize, quantize, type KnnSettings, type PriorModel, type ProbeHead, type RouterModel } from '../routing/learned-model.js';
import { logisticFitShared } from './linalg.js';
import { qualityCurve, routerMetrics } from './routing-metrics.js';

/** Neighbour settings chosen on the MMLU dev set by 5-fold CV (see docs/routing-learned.md). */
export const DEFAULT_KNN: KnnSettings = { neighbours: 64, sharpness: 0.1, priorWeight: 8, minSimilarity: 0.3 };

/** Ridge strength of the probe prior on each (standardised) embedding weight, fixed a priori (see docs/routing-learned.md). */
export const PROBE_RIDGE = 3000;

/**
 * Ridge on the probe's weights of the complexity features (standardised), when the examples carry them
 * (route-fit and the evaluation do). With `vote: 'gain'` the inner cross-validation chooses it from
 * {@link PROBE_FEATURE_RIDGES}; this is the value for a fit without it.
 */
export const PROBE_FEATURE_RIDGE = 300;
/** Feature ridges the inner cross-validation of a `vote: 'gain'` fit chooses from. */
export const PROBE_FEATURE_RIDGES = [30, 300, 3000] as const;

/**
 * Ridge on the probe's two signal weights (complexity logit, ln(1 + tokens); standardised): light, so
 * that two features are not shrunk as hard as each of the embedding's hundreds. Under a shared ridge of
 * 3000 the signals were nearly silenced, and prompt length carries most of what transfers to kinds of
 * prompts never seen (leave-subject-group-out on math & physics: 0.646 → 0.701 APGR, numpy).
 */
export const PROBE_SIGNAL_RIDGE = 1;

/** A labelled request with what the router would see of it. */
export interface FitExample {
  vector: Float32Array;
  /** Complexity score 0..1. */
  complexity: number;
  tokens: number;
  /** 1: the cheaper tier was good enough. */
  ok: number;
  weak?: boolean;
  strong?: boolean;
  /** The complexity features behind `complexity`, in COMPLEXITY_FEATURES order (the probe may weigh them). */
  features?: ArrayLike<number>;
}

/** Options of {@link fitRouterModel}. */
export interface RouteFitOptions {
  embedder: string;
  /** The cheaper tier the labels stand for; null: the ladder's second-strongest. */
  tier?: string | null;
  knn?: KnnSettings;
  /** Folds of the inner cross-validation that picks the target (default 5). */
  folds?: number;
  /** Fold of example i (default i mod folds). */
  foldOf?: (i: number) => number;
  fit?: Record<string, unknown>;
  /** Search seeds around their mean (default false: on the MMLU dev set it lost more within-domain signal than it saved across domains). */
  center?: boolean;
  /**
   * Prior: `signals` (default: complexity and length only) or `probe` (two logistic heads on the
   * embedding plus the signals). Measured through the runtime (probe + neighbours, DEFAULT_KNN):
   * 5-fold 50.2% strong calls for 95% of all-strong (APGR 0.641) against 49.9% (0.647) for `signals`,
   * so it is not the default; see docs/routing-learned.md.
   */
  prior?: 'probe' | 'signals';
  /** Ridge strength of the probe (default {@link PROBE_RIDGE}). */
  ridge?: number;
  /** Ridge on the probe's complexity-feature weights (default {@link PROBE_FEATURE_RIDGE}; with `vote: 'gain'`, chosen by inner CV). */
  featureRidge?: number;
  /**
   * What the seed neighbours vote on (needs `prior: 'probe'` for `gain`): `ok` (default) or `gain`
   * (strong right − weak right, shrunk toward the probe's predicted gap). With `gain` and no `knn`,
   * the neighbour settings are chosen from {@link KNN_GRID} by the inner cross-validation.
   */
  vote?: 'ok' | 'gain';
}

/** Neighbour settings the inner cross-validation chooses from (with `vote: 'gain'`). */
export const KNN_GRID = {
  neighbours: [16, 32, 64],
  sharpness: [0.05, 0.1, 0.2],
  priorWeight: [1, 2, 4, 8, 16, 32, 64],
  minSimilarity: 0.3,
} as const;

const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

/**
 * Fits the prior `sigmoid(a + b·logit(complexity) + c·ln(1 + tokens))` to
 * the `ok` labels by Newton's method with a small ridge.
 *
 * @example
 * fitPrior(examples).complexity; // negative: more complex → less often ok
 */
export function fitPrior(examples: readonly FitExample[], ridge = 1): PriorModel {
  const x = examples.map((e) => [1, logit(e.complexity), Math.log1p(e.tokens)] as const);
  const mu = [0, 0, 0];
  const sd = [1, 1, 1];
  for (const j of [1, 2]) {
    mu[j] = x.reduce((s, r) => s + r[j]!, 0) / x.length;
    sd[j] = Math.sqrt(x.reduce((s, r) => s + (r[j]! - mu[j]!) ** 2, 0) / x.length) || 1;
  }
  const z = x.map((r) => r.map((v, j) => (j === 0 ? 1 : (v - mu[j]!) / sd[j]!)));
  const b = [0, 0, 0];
  for (let iter = 0; iter < 50; iter++) {
    const g = [0, 0, 0];
    const h = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    z.forEach((r, i) => {
      const p = 1 / (1 + Math.exp(-(b[0]! * r[0]! + b[1]! * r[1]! + b[2]! * r[2]!)));
      const w = p * (1 - p);
      for (let a = 0; a < 3; a++) {
        g[a]! += (p - examples[i]!.ok) * r[a]!;
        for (let c = 0; c < 3; c++) h[a]![c]! += w * r[a]! * r[c]!;
      }
    });
    for (let a = 1; a < 3; a++) {
      g[a]! += ridge * b[a]!;
      h[a]![a]! += ridge;
    }
    const step = solve3(h, g);
    let moved = 0;
    for (let a = 0; a < 3; a++) {
      b[a]! -= step[a]!;
      moved += Math.abs(step[a]!);
    }
    if (moved < 1e-9) break;
  }
  // Back to raw units.
  const complexity = b[1]! / sd[1]!;
  const length = b[2]! / sd[2]!;
  return { intercept: b[0]! - complexity * mu[1]! - length * mu[2]!, complexity, length };
}

/**
 * Fits the probe: two ridge-penalised logistic regressions on the
 * standardised embedding plus the two signals (complexity logit,
 * ln(1 + tokens)) and, when every example carries them and `featureRidge`
 * is not null, the complexity features; one for "the weak tier was right",
 * one for "the strong tier was right" (examples without both labels are
 * skipped; fewer than 20 such examples: no probe). Each group has its own
 * ridge: `ridge` per embedding weight, {@link PROBE_SIGNAL_RIDGE} on the two
 * signals, `featureRidge` on the features. Weights come back in raw units
 * (the standardisation folded in), so the runtime needs one dot product per
 * head.
 *
 * @example
 * fitProbe(examples)?.strong.embedding.length; // the embedding's dimensions
 */
export function fitProbe(examples: readonly FitExample[], ridge = PROBE_RIDGE, featureRidge: number | null = PROBE_FEATURE_RIDGE): { weak: ProbeHead; strong: ProbeHead } | undefined {
  const labelled = examples.filter((e) => e.weak !== undefined && e.strong !== undefined);
  if (labelled.length < 20) return undefined;
  const dim = labelled[0]!.vector.length;
  const nf = featureRidge !== null && labelled.every((e) => e.features?.length === COMPLEXITY_FEATURES.length) ? COMPLEXITY_FEATURES.length : 0;
  const d = dim + 2 + nf;
  const rows = labelled.map((e) => {
    const r = new Float64Array(d);
    for (let i = 0; i < dim; i++) r[i] = e.vector[i]!;
    r[dim] = logit(e.complexity);
    r[dim + 1] = Math.log1p(e.tokens);
    for (let j = 0; j < nf; j++) r[dim + 2 + j] = e.features![j]!;
    return r;
  });
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j]! += r[j]! / rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) sd[j]! += (r[j]! - mu[j]!) ** 2 / rows.length;
  // A constant column (rounding leaves it a sd of ~1e-16, not 0) is zeroed, so it gets no weight.
  const constant = Array.from({ length: d }, (_, j) => Math.sqrt(sd[j]!) < 1e-9);
  for (let j = 0; j < d; j++) sd[j] = constant[j] ? 1 : Math.sqrt(sd[j]!);
  for (const r of rows) for (let j = 0; j < d; j++) r[j] = constant[j] ? 0 : (r[j]! - mu[j]!) / sd[j]!;
  const penalty = Float64Array.from({ length: d }, (_, j) => (j < dim ? ridge : j < dim + 2 ? PROBE_SIGNAL_RIDGE : featureRidge!));
  const [weakB, strongB] = logisticFitShared(rows, [labelled.map((e) => Number(e.weak)), labelled.map((e) => Number(e.strong))], penalty);
  const head = (b: Float64Array): ProbeHead => {
    const w = Float64Array.from({ length: d }, (_, j) => b[j + 1]! / sd[j]!);
    let intercept = b[0]!;
    for (let j = 0; j < d; j++) intercept -= w[j]! * mu[j]!;
    const embedding = Float32Array.from(w.subarray(0, dim));
    let embeddingMean = 0;
    for (let i = 0; i < dim; i++) embeddingMean += embedding[i]! * mu[i]!;
    if (nf === 0) return { intercept, complexity: w[dim]!, length: w[dim + 1]!, embedding, embeddingMean };
    const features = Float64Array.from(w.subarray(dim + 2));
    let featuresMean = 0;
    for (let j = 0; j < nf; j++) featuresMean += features[j]! * mu[dim + 2 + j]!;
    return { intercept, complexity: w[dim]!, length: w[dim + 1]!, embedding, embeddingMean, features, featuresMean };
  };
  return { weak: head(weakB!), strong: head(strongB!) };
}

function solve3(a: number[][], y: number[]): number[] {
  const m = a.map((r, i) => [...r, y[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const d = m[c]![c]! || 1e-12;
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / d;
      for (let k = c; k < 4; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((r, i) => r[3]! / (r[i]! || 1e-12));
}

function withProbe(prior: PriorModel, probe: PriorModel['probe']): PriorModel {
  return probe ? { ...prior, probe } : prior;
}

/** A model from examples, without the inner cross-validation (target left at `target`). */
export function buildModel(train: readonly FitExample[], opts: RouteFitOptions, target = 0.8): RouterModel {
  const dim = train[0]?.vector.length ?? 0;
  const center = new Float32Array(dim);
  for (const e of train) for (let i = 0; i < dim; i++) center[i]! += e.vector[i]! / train.length;
  const probe = opts.prior === 'probe' ? fitProbe(train, opts.ridge, opts.featureRidge ?? PROBE_FEATURE_RIDGE) : undefined;
  const gain = opts.vote === 'gain' && probe !== undefined && train.every((e) => e.weak !== undefined && e.strong !== undefined);
  return {
    embedder: opts.embedder,
    dim,
    tier: opts.tier ?? null,
    prior: withProbe(fitPrior(train), probe),
    knn: { ...(opts.knn ?? DEFAULT_KNN), ...(gain ? { vote: 'gain' as const } : {}) },
    target,
    ...(opts.center === true ? { center } : {}),
    fit: opts.fit ?? {},
    // Quantised as the file will hold them, so what is evaluated is what ships.
    seeds: train.map((e) => ({ vector: dequantize(quantize(e.vector)), score: e.ok, ...(e.weak !== undefined && e.strong !== undefined ? { gain: Number(e.strong) - Number(e.weak) } : {}) })),
  };
}

/**
 * P(cheaper tier ok) of each example under a model, through the runtime's
 * {@link LearnedRouter} (a two-step ladder `weak` → `strong`).
 *
 * @example
 * const p = scoreExamples(model, heldOut); // higher = the cheaper tier is more likely enough
 */
export function scoreExamples(model: RouterModel, examples: readonly FitExample[]): Float64Array {
  const cfg = routingLearnedSchema.parse({});
  const router = new LearnedRouter(cfg, ['weak', 'strong'], { ...model, tier: 'weak' });
  router.finishNow();
  return Float64Array.from(examples, (e) => router.estimate(0, { embedding: e.vector, complexity: e.complexity, tokens: e.tokens, features: featureRecord(e.features), tenant: undefined }, undefined).p);
}

/** Complexity features as the router passes them (by name), from COMPLEXITY_FEATURES order. */
export function featureRecord(x: ArrayLike<number> | undefined): ComplexityFeatures | undefined {
  return x ? (Object.fromEntries(COMPLEXITY_FEATURES.map((k, j) => [k, x[j]!])) as ComplexityFeatures) : undefined;
}

/**
 * The smallest p(ok) target whose decisions (`p < target` → strong) reach
 * `share` of all-strong quality on examples with both sides' labels; `p`
 * are out-of-fold estimates. Undefined without weak/strong labels.
 */
export function targetFor(p: ArrayLike<number>, examples: readonly FitExample[], share = 0.95): number | undefined {
  const rows = examples.flatMap((e, i) => (e.weak !== undefined && e.strong !== undefined ? [{ weak: e.weak, strong: e.strong, p: p[i]! }] : []));
  if (rows.length === 0) return undefined;
  const q = qualityCurve(rows.map((r) => -r.p), rows);
  const strong = q[q.length - 1]!;
  let k = 0;
  while (k < rows.length && q[k]! < share * strong - 1e-12) k++;
  if (k === 0) return 0;
  const sorted = rows.map((r) => r.p).sort((a, b) => a - b);
  // The k lowest p go strong: the target sits just above the k-th lowest.
  const below = sorted[k - 1]!;
  const above = sorted[k] ?? below + 1e-4;
  return Number(Math.min(1, (below + above) / 2).toFixed(6));
}

/**
 * Fits a model on every example, with the target picked by an inner
 * cross-validation (out-of-fold p, 95% of all-strong quality).
 *
 * @example
 * const model = fitRouterModel(examples, { embedder: 'use-lite' });
 * writeFileSync('router-model.json', JSON.stringify(toModelFile(model)));
 */
export function fitRouterModel(examples: readonly FitExample[], opts: RouteFitOptions): RouterModel & { oof: Float64Array } {
  const folds = opts.folds ?? 5;
  const foldOf = opts.foldOf ?? ((i: number) => i % folds);
  if (opts.vote === 'gain' && opts.prior === 'probe' && examples.every((e) => e.weak !== undefined && e.strong !== undefined)) return fitByGain(examples, opts, folds, foldOf);
  const oof = new Float64Array(examples.length);
  for (let k = 0; k < folds; k++) {
    const train = examples.filter((_, i) => foldOf(i) !== k);
    const idx = examples.flatMap((_, i) => (foldOf(i) === k ? [i] : []));
    if (train.length === 0 || idx.length === 0) continue;
    const p = scoreExamples(buildModel(train, opts), idx.map((i) => examples[i]!));
    idx.forEach((i, j) => (oof[i] = p[j]!));
  }
  const target = targetFor(oof, examples) ?? 0.8;
  return { ...buildModel(examples, opts, target), oof };
}

/** One held-out example of an inner split: the probe's gap and its nearest training seeds (most similar first). */
interface InnerRow {
  i: number;
  /** The probe's gap, one per candidate feature ridge. */
  gap0: number[];
  /** Nearest seeds as runtime matches: score = (gain + 1) / 2. */
  matches: { score: number; similarity: number }[];
}

/**
 * The inner cross-validation of a `vote: 'gain'` fit: for each inner fold,
 * the probe fitted on the other folds (once per candidate feature ridge) and
 * each held-out example's nearest seeds among them (exact search over the
 * quantised vectors, as the model file holds them); then every feature ridge
 * × {@link KNN_GRID} setting is scored on the pooled out-of-fold estimates
 * (the runtime formula) and the best by APGR kept. Only the examples given
 * are used: called on an outer training split, the choice never sees the
 * outer held-out rows.
 */
function fitByGain(examples: readonly FitExample[], opts: RouteFitOptions, folds: number, foldOf: (i: number) => number): RouterModel & { oof: Float64Array } {
  const maxK = Math.max(...KNN_GRID.neighbours);
  const ridges: number[] = opts.featureRidge !== undefined ? [opts.featureRidge] : [...PROBE_FEATURE_RIDGES];
  const q = examples.map((e) => dequantize(quantize(e.vector)));
  const rows: InnerRow[] = [];
  for (let k = 0; k < folds; k++) {
    const trainIdx = examples.flatMap((_, i) => (foldOf(i) !== k ? [i] : []));
    const testIdx = examples.flatMap((_, i) => (foldOf(i) === k ? [i] : []));
    if (trainIdx.length < 20 || testIdx.length === 0) continue;
    const probes = ridges.map((r) => fitProbe(trainIdx.map((i) => examples[i]!), opts.ridge, r));
    // Too few labelled examples for a probe: the signal prior and neighbours on ok, as without vote 'gain'.
    if (probes.some((p) => p === undefined)) return fitRouterModel(examples, { ...opts, vote: 'ok' });
    for (const i of testIdx) {
      const e = examples[i]!;
      const f = featureRecord(e.features);
      const top = nearest(q[i]!, trainIdx, q, maxK, KNN_GRID.minSimilarity);
      rows.push({ i, gap0: probes.map((p) => probeGap(p!, e.complexity, e.tokens, e.vector, f)), matches: top.map((j) => ({ score: (Number(examples[j.i]!.strong) - Number(examples[j.i]!.weak) + 1) / 2, similarity: j.similarity })) });
    }
  }
  const outcomes = rows.map((r) => ({ weak: examples[r.i]!.weak!, strong: examples[r.i]!.strong! }));
  // p(ok) as the runtime computes it: 1 − the shrunk gap, clamped to 0..1.
  const pOf = (knn: KnnSettings, r: number) => rows.map((row) => Math.min(1, Math.max(0, 2 - 2 * shrunkEstimate(row.matches.slice(0, knn.neighbours), (row.gap0[r]! + 1) / 2, knn).p)));
  let best: { knn: KnnSettings; r: number; apgr: number } | undefined;
  const grid: KnnSettings[] = opts.knn
    ? [opts.knn]
    : KNN_GRID.neighbours.flatMap((neighbours) => KNN_GRID.sharpness.flatMap((sharpness) => KNN_GRID.priorWeight.map((priorWeight) => ({ neighbours, sharpness, priorWeight, minSimilarity: KNN_GRID.minSimilarity }))));
  for (let r = 0; r < ridges.length; r++)
    for (const knn of grid) {
      const apgr = rows.length > 0 ? routerMetrics(pOf(knn, r).map((p) => 1 - p), outcomes, []).apgr : 0;
      if (!best || apgr > best.apgr + 1e-12) best = { knn, r, apgr };
    }
  const oof = new Float64Array(examples.length);
  const p = pOf(best!.knn, best!.r);
  rows.forEach((row, j) => (oof[row.i] = p[j]!));
  const target = targetFor(oof, examples) ?? 0.8;
  const featureRidge = ridges[best!.r]!;
  const model = buildModel(examples, { ...opts, knn: best!.knn, featureRidge }, target);
  return { ...model, fit: { ...model.fit, chosenBy: 'inner cross-validation (APGR)', innerApgr: Number(best!.apgr.toFixed(4)), featureRidge }, oof };
}

/** The `k` most similar of `pool` (indices into `vs`) to `v`, at least `minSimilarity`, most similar first. */
function nearest(v: Float32Array, pool: readonly number[], vs: readonly Float32Array[], k: number, minSimilarity: number): { i: number; similarity: number }[] {
  const out: { i: number; similarity: number }[] = [];
  const dim = v.length;
  for (const j of pool) {
    const u = vs[j]!;
    let s = 0;
    for (let d = 0; d < dim; d++) s += v[d]! * u[d]!;
    if (s < minSimilarity || (out.length === k && s <= out[k - 1]!.similarity)) continue;
    let at = out.length === k ? k - 1 : out.length;
    if (out.length < k) out.push({ i: j, similarity: s });
    while (at > 0 && out[at - 1]!.similarity < s) {
      out[at] = out[at - 1]!;
      at--;
    }
    out[at] = { i: j, similarity: s };
  }
  return out;
}
