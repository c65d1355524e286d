/**
 * The complexity signal: how much a request is likely to gain from a strong
 * model, as a score in 0..1 plus the features behind it. A fact for the
 * policy to use, not a tier decision.
 */
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { COMPLEXITY_FEATURES, complexityFeatures, type ComplexityFeatures } from './complexity-features.js';
import { COMPLEXITY_INTERCEPT, COMPLEXITY_WEIGHTS } from './complexity-weights.js';

export { COMPLEXITY_FEATURES, complexityFeatures } from './complexity-features.js';
export type { ComplexityFeature, ComplexityFeatures } from './complexity-features.js';

/** The complexity score and the feature values it was computed from. */
export interface ComplexityResult {
  /** 0 (trivial) .. 1 (hard); monotone in the model's logit. */
  score: number;
  features: ComplexityFeatures;
}

/** Linear weights: `logit = intercept + Σ weights[f] · features[f]`. */
export interface ComplexityModel {
  intercept: number;
  weights: Readonly<Record<string, number>>;
}

/** The shipped model (fitted on the MMLU dev set plus hand-set priors). */
export const DEFAULT_COMPLEXITY_MODEL: ComplexityModel = {
  intercept: COMPLEXITY_INTERCEPT,
  weights: COMPLEXITY_WEIGHTS,
};

/** The model's logit for a feature vector. */
export function complexityLogit(features: ComplexityFeatures, model: ComplexityModel = DEFAULT_COMPLEXITY_MODEL): number {
  let z = model.intercept;
  for (const name of COMPLEXITY_FEATURES) z += (model.weights[name] ?? 0) * features[name];
  return z;
}

/**
 * Scores how complex a request is (0..1) from cheap surface features.
 *
 * @example
 * complexityScore(req).score; // ≈0.01 for "hi", ≈0.96 for "write a distributed rate limiter in Rust with tests and explain the trade-offs"
 */
export function complexityScore(req: CanonicalRequest, model: ComplexityModel = DEFAULT_COMPLEXITY_MODEL): ComplexityResult {
  const features = complexityFeatures(req);
  const z = complexityLogit(features, model);
  return { score: 1 / (1 + Math.exp(-z)), features };
}
