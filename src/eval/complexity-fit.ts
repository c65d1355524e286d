/**
 * Fits the complexity model's weights: a sign-constrained, L2-regularised
 * logistic regression on soft labels, on top of fixed hand-set priors.
 * Used offline by the routing evaluation (cross-validation and
 * `--print-weights`); nothing here runs per request.
 */
import { COMPLEXITY_FEATURES, type ComplexityFeature } from '../routing/signals/complexity-features.js';
import type { ComplexityModel } from '../routing/signals/complexity.js';

/** How a feature's weight may move away from its prior. */
export type FitMode = 'free' | 'nonneg' | 'nonpos' | 'fixed';

/** Prior weight (raw feature units) and fit mode for one feature. */
export interface FeatureSpec {
  prior: number;
  mode: FitMode;
}

/** Training options. */
export interface FitOptions {
  /** Per-feature priors and constraints. */
  spec: Readonly<Record<ComplexityFeature, FeatureSpec>>;
  /**
   * Logit scale of the fitted part. The data is fitted at unit scale with the
   * priors divided by `temperature`; the result is multiplied back. Larger →
   * the priors weigh less against the data.
   */
  temperature: number;
  /** L2 penalty on standardised weights. */
  lambda: number;
  /** Logit of a request whose features are all zero (hand-set: MMLU cannot teach it). */
  intercept: number;
  /**
   * The fitted intercept is moved onto this feature (one that is constant on
   * the training set, e.g. `choices`), which is then set so the training
   * rows' mean logit is `meanLogit`. Rankings within the set do not change.
   */
  anchor: { feature: ComplexityFeature; meanLogit: number };
}

/**
 * Hand-set priors. `fixed` features do not vary on MMLU prompts (tools,
 * depth, fences, output requests), so their weights cannot be learned there;
 * `nonneg` ones mean "harder" for general traffic, so MMLU may raise but
 * never invert them (it would, from label quirks such as GPT-4 scoring 2% on
 * high-school maths in the RouteLLM records).
 */
export const DEFAULT_FIT: FitOptions = {
  temperature: 10,
  lambda: 10,
  intercept: -2.3,
  anchor: { feature: 'choices', meanLogit: 0 },
  spec: {
    length: { prior: 0, mode: 'nonneg' },
    longWords: { prior: 0, mode: 'free' },
    lines: { prior: 0, mode: 'nonneg' },
    questions: { prior: 0, mode: 'free' },
    codeBlocks: { prior: 1, mode: 'fixed' },
    codeTokens: { prior: 0.4, mode: 'nonneg' },
    mathSymbols: { prior: 0.3, mode: 'nonneg' },
    latex: { prior: 0.3, mode: 'nonneg' },
    numbers: { prior: 0.3, mode: 'nonneg' },
    computation: { prior: 0.9, mode: 'nonneg' },
    reasoning: { prior: 0.8, mode: 'nonneg' },
    steps: { prior: 0.5, mode: 'fixed' },
    statements: { prior: 0, mode: 'nonneg' },
    constraints: { prior: 0.3, mode: 'nonneg' },
    negation: { prior: 0, mode: 'free' },
    build: { prior: 2, mode: 'fixed' },
    choices: { prior: 0, mode: 'fixed' },
    choiceLength: { prior: 0, mode: 'free' },
    numericChoices: { prior: 0, mode: 'free' },
    judgementChoices: { prior: 0, mode: 'free' },
    chitchat: { prior: -2.5, mode: 'fixed' },
    tools: { prior: 1, mode: 'fixed' },
    toolTurns: { prior: 1, mode: 'fixed' },
    depth: { prior: 0.3, mode: 'fixed' },
    system: { prior: 0.2, mode: 'fixed' },
    outputLength: { prior: 0.8, mode: 'nonneg' },
    maxTokens: { prior: 0.25, mode: 'fixed' },
    structuredOutput: { prior: 0.6, mode: 'fixed' },
  },
};

/** One training example: raw features (in `COMPLEXITY_FEATURES` order) and a soft label in 0..1. */
export interface FitRow {
  x: Float64Array;
  y: number;
}

/**
 * Fits weights on `rows`; returns a model usable by `complexityScore`.
 *
 * @example
 * const model = fitComplexityModel(rows, DEFAULT_FIT);
 */
export function fitComplexityModel(rows: readonly FitRow[], opts: FitOptions = DEFAULT_FIT): ComplexityModel {
  const d = COMPLEXITY_FEATURES.length;
  const n = rows.length;
  const T = opts.temperature;
  const prior = COMPLEXITY_FEATURES.map((f) => opts.spec[f].prior);
  const mode = COMPLEXITY_FEATURES.map((f) => opts.spec[f].mode);

  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mu[j]! += r.x[j]! / n;
  for (const r of rows) for (let j = 0; j < d; j++) sd[j]! += (r.x[j]! - mu[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!);

  const offset = new Float64Array(n);
  rows.forEach((r, i) => {
    let o = 0;
    for (let j = 0; j < d; j++) o += prior[j]! * r.x[j]!;
    offset[i] = o / T;
  });

  const active = COMPLEXITY_FEATURES.map((_, j) => mode[j] !== 'fixed' && sd[j]! > 1e-9);
  let u: Float64Array = new Float64Array(d + 1);
  for (;;) {
    u = newton(rows, offset, mu, sd, active, opts.lambda);
    let violated = false;
    for (let j = 0; j < d; j++) {
      if (!active[j]) continue;
      if ((mode[j] === 'nonneg' && u[j]! < 0) || (mode[j] === 'nonpos' && u[j]! > 0)) {
        active[j] = false;
        violated = true;
      }
    }
    if (!violated) break;
  }

  const weights: Record<string, number> = {};
  COMPLEXITY_FEATURES.forEach((f, j) => (weights[f] = prior[j]! + (active[j] ? (T * u[j]!) / sd[j]! : 0)));
  // Anchor: intercept + anchor weight put the training rows' mean logit where asked.
  const a = opts.anchor.feature;
  weights[a] = 0;
  let mean = 0;
  for (const r of rows) {
    let z = 0;
    COMPLEXITY_FEATURES.forEach((f, j) => (z += weights[f]! * r.x[j]!));
    mean += z / n;
  }
  weights[a] = opts.anchor.meanLogit - opts.intercept - mean;
  return { intercept: opts.intercept, weights };
}

/** Newton's method on standardised active columns; returns weights (std units) with the intercept last. */
function newton(
  rows: readonly FitRow[],
  offset: Float64Array,
  mu: Float64Array,
  sd: Float64Array,
  active: boolean[],
  lambda: number,
): Float64Array {
  const d = mu.length;
  const cols = active.flatMap((a, j) => (a ? [j] : []));
  const k = cols.length + 1;
  const w = new Float64Array(k);
  const z = new Float64Array(k);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Float64Array(k);
    const hess = Array.from({ length: k }, () => new Float64Array(k));
    rows.forEach((r, i) => {
      for (let c = 0; c < cols.length; c++) z[c] = (r.x[cols[c]!]! - mu[cols[c]!]!) / sd[cols[c]!]!;
      z[k - 1] = 1;
      let s = offset[i]!;
      for (let c = 0; c < k; c++) s += w[c]! * z[c]!;
      const p = 1 / (1 + Math.exp(-s));
      const g = p - r.y;
      const h = p * (1 - p);
      for (let a = 0; a < k; a++) {
        grad[a]! += g * z[a]!;
        for (let b = 0; b <= a; b++) hess[a]![b]! += h * z[a]! * z[b]!;
      }
    });
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) hess[b]![a] = hess[a]![b]!;
    for (let c = 0; c < k - 1; c++) {
      grad[c]! += lambda * w[c]!;
      hess[c]![c]! += lambda;
    }
    const step = solve(hess, grad);
    let maxStep = 0;
    for (let c = 0; c < k; c++) {
      w[c]! -= step[c]!;
      maxStep = Math.max(maxStep, Math.abs(step[c]!));
    }
    if (maxStep < 1e-9) break;
  }
  const out = new Float64Array(d + 1);
  cols.forEach((j, c) => (out[j] = w[c]!));
  out[d] = w[k - 1]!;
  return out;
}

/** Solves `A x = b` by Gaussian elimination with partial pivoting (A is small and SPD). */
function solve(A: Float64Array[], b: Float64Array): Float64Array {
  const k = b.length;
  const m = A.map((row, i) => Float64Array.from([...row, b[i]!]));
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = c + 1; r < k; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let cc = c; cc <= k; cc++) m[r]![cc]! -= f * m[c]![cc]!;
    }
  }
  const x = new Float64Array(k);
  for (let r = k - 1; r >= 0; r--) {
    let s = m[r]![k]!;
    for (let cc = r + 1; cc < k; cc++) s -= m[r]![cc]! * x[cc]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}
