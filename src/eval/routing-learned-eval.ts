/**
 * Evaluation of the outcome-trained router against random, prompt length and
 * the complexity score, two ways:
 *
 * - 5-fold CV (folds by prompt text): everything fitted on four folds, the
 *   fifth scored; out-of-fold scores pooled.
 * - Leave-subject-group-out: each group of MMLU subjects (`mmlu-groups.ts`)
 *   held out whole, the rest fitted, so the held-out kinds of prompts were
 *   never seen, neither by the neighbours nor by the complexity weights.
 *
 * The complexity weights are refitted on each training split (the shipped
 * ones were fitted on the whole dev set, so scoring with them would be in
 * sample). The learned router is scored through the runtime's code.
 */
import { COMPLEXITY_FEATURES } from '../routing/signals/complexity-features.js';
import { complexityLogit, type ComplexityFeatures } from '../routing/signals/complexity.js';
import { estimateTokens } from '../routing/signals/length.js';
import { DEFAULT_FIT, fitComplexityModel } from './complexity-fit.js';
import { subjectGroup } from './mmlu-groups.js';
import { buildModel, fitRouterModel, scoreExamples, type FitExample, type RouteFitOptions } from './route-fit.js';
import { featureRows, foldOf, promptRequest, type EvalRow } from './routing-eval.js';
import { bootstrapMetrics, metricsFromCurve, randomCurve, routerMetrics, type RouterMetrics } from './routing-metrics.js';
import type { KnnSettings } from '../routing/learned-model.js';

/** The routers compared, each a score per prompt (higher = strong first). */
export const ROUTERS = ['random', 'length', 'complexity', 'learned'] as const;
export type RouterName = (typeof ROUTERS)[number];

/** Metrics of every router on one set of prompts. */
export type Comparison = Record<RouterName, RouterMetrics>;

/** One held-out subject group. */
export interface GroupResult {
  group: string;
  n: number;
  weakQuality: number;
  strongQuality: number;
  metrics: Comparison;
}

/** What {@link evaluateLearned} measures. */
export interface LearnedEvalReport {
  n: number;
  weakQuality: number;
  strongQuality: number;
  /** 5-fold CV, out-of-fold scores pooled. */
  crossValidated: Comparison;
  /** 95% bootstrap intervals (rows resampled) of the learned router's 5-fold figures. */
  learnedCI: { apgr: [number, number]; shareFor95: [number, number] };
  /** Strong share for 95% of all-strong of an oracle that knows every row's labels (strong right, weak wrong first): no router can need less. */
  oracleShareFor95: number;
  /** Leave-subject-group-out, per group. */
  groups: GroupResult[];
  /** Leave-subject-group-out, held-out scores pooled over groups. */
  groupsPooled: Comparison;
}

/** How the learned router is fitted on each training split (route-fit's options). */
export interface LearnedFitOptions {
  knn?: KnnSettings;
  prior?: 'probe' | 'signals';
  vote?: 'ok' | 'gain';
}

interface Split {
  train: number[];
  test: number[];
}

function compare(idx: readonly number[], rows: readonly EvalRow[], scores: Record<Exclude<RouterName, 'random'>, Float64Array>): Comparison {
  const outcomes = idx.map((i) => rows[i]!);
  const pick = (s: Float64Array) => idx.map((i) => s[i]!);
  return {
    random: metricsFromCurve(randomCurve(outcomes)),
    length: routerMetrics(pick(scores.length), outcomes),
    complexity: routerMetrics(pick(scores.complexity), outcomes),
    learned: routerMetrics(pick(scores.learned), outcomes),
  };
}

/**
 * Fits on each split's training rows and scores its test rows; returns
 * out-of-split complexity logits and learned scores (1 − p(ok)).
 */
function runSplits(rows: readonly EvalRow[], vectors: readonly Float32Array[], splits: readonly Split[], fit: LearnedFitOptions, progress?: (s: string) => void): { complexity: Float64Array; learned: Float64Array } {
  const feats = featureRows(rows);
  const tokens = rows.map((r) => estimateTokens(promptRequest(r.prompt)));
  const complexity = new Float64Array(rows.length);
  const learned = new Float64Array(rows.length);
  const asFeatures = (x: Float64Array) => Object.fromEntries(COMPLEXITY_FEATURES.map((k, j) => [k, x[j]!])) as unknown as ComplexityFeatures;
  for (const [si, { train, test }] of splits.entries()) {
    const cm = fitComplexityModel(train.map((i) => feats[i]!), DEFAULT_FIT);
    const z = new Map<number, number>();
    for (const i of [...train, ...test]) z.set(i, complexityLogit(asFeatures(feats[i]!.x), cm));
    const example = (i: number): FitExample => {
      const r = rows[i]!;
      return { vector: vectors[i]!, complexity: 1 / (1 + Math.exp(-z.get(i)!)), tokens: tokens[i]!, features: feats[i]!.x, ok: r.strong && !r.weak ? 0 : 1, weak: r.weak, strong: r.strong };
    };
    const opts: RouteFitOptions = { embedder: 'eval', ...(fit.knn ? { knn: fit.knn } : {}), ...(fit.prior ? { prior: fit.prior } : {}), ...(fit.vote ? { vote: fit.vote } : {}) };
    // With vote 'gain' the neighbour settings are chosen by an inner cross-validation on the training rows only (as route-fit does).
    const model = fit.vote === 'gain' ? fitRouterModel(train.map(example), opts) : buildModel(train.map(example), opts);
    progress?.(`split ${si + 1}/${splits.length}${fit.vote === 'gain' ? `: knn ${JSON.stringify(model.knn)}` : ''}`);
    const p = scoreExamples(model, test.map(example));
    test.forEach((i, j) => {
      complexity[i] = z.get(i)!;
      learned[i] = 1 - p[j]!;
    });
  }
  return { complexity, learned };
}

/**
 * Runs both cross-validations on rows with their embeddings.
 *
 * @example
 * const report = evaluateLearned(rows, vectors);
 * report.crossValidated.learned.shareFor95; // strong calls needed for 95% of all-strong
 */
export function evaluateLearned(rows: readonly EvalRow[], vectors: readonly Float32Array[], opts: { folds?: number; progress?: (s: string) => void } & LearnedFitOptions = {}): LearnedEvalReport {
  const n = rows.length;
  const all = rows.map((_, i) => i);
  const length = Float64Array.from(rows, (r) => r.prompt.length);
  const folds = opts.folds ?? 5;
  const fold = rows.map((r) => foldOf(r.prompt, folds));
  const cvSplits = Array.from({ length: folds }, (_, k) => ({ train: all.filter((i) => fold[i] !== k), test: all.filter((i) => fold[i] === k) }));
  const cv = runSplits(rows, vectors, cvSplits, opts, opts.progress);

  const group = rows.map((r) => subjectGroup(r.source));
  const names = [...new Set(group)].sort();
  const groupSplits = names.map((g) => ({ train: all.filter((i) => group[i] !== g), test: all.filter((i) => group[i] === g) }));
  const lo = runSplits(rows, vectors, groupSplits, opts, opts.progress);

  const quality = (idx: readonly number[]) => ({
    weakQuality: idx.filter((i) => rows[i]!.weak).length / idx.length,
    strongQuality: idx.filter((i) => rows[i]!.strong).length / idx.length,
  });
  return {
    n,
    ...quality(all),
    crossValidated: compare(all, rows, { length, complexity: cv.complexity, learned: cv.learned }),
    learnedCI: bootstrapMetrics(cv.learned, rows),
    oracleShareFor95: routerMetrics(rows.map((r) => Number(r.strong) - Number(r.weak)), rows, []).shareFor95,
    groups: names.map((g, j) => {
      const idx = groupSplits[j]!.test;
      return { group: g, n: idx.length, ...quality(idx), metrics: compare(idx, rows, { length, complexity: lo.complexity, learned: lo.learned }) };
    }),
    groupsPooled: compare(all, rows, { length, complexity: lo.complexity, learned: lo.learned }),
  };
}
