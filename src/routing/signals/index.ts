/**
 * All routing signals of a request in one plain object: facts for the policy
 * (complexity, task, size, sensitive data, operator rules, shape), no tier
 * decisions. Every part is cheap; the embedding, when given, is the one the
 * semantic cache already computed.
 */
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { complexityScore, type ComplexityFeatures } from './complexity.js';
import type { RuleMatcher } from './keywords.js';
import { estimateTokens } from './length.js';
import { privacySignal, type SensitiveKind } from './privacy.js';
import { taskType, type PrototypeIndex, type TaskResult } from './task.js';

export { complexityScore, complexityLogit, DEFAULT_COMPLEXITY_MODEL, COMPLEXITY_FEATURES, complexityFeatures } from './complexity.js';
export type { ComplexityResult, ComplexityModel, ComplexityFeature, ComplexityFeatures } from './complexity.js';
export { taskType, keywordTask, embeddingTask, buildPrototypeIndex, TASK_TYPES } from './task.js';
export type { TaskType, TaskResult, PrototypeIndex } from './task.js';
export { estimateTokens, estimateTextTokens, fitsContext } from './length.js';
export { detectSensitive, privacySignal, SENSITIVE_KINDS } from './privacy.js';
export type { SensitiveKind, SensitiveSpan, SensitiveResult, DetectOptions } from './privacy.js';
export { compileRules, RuleCompileError, RULE_TEXT_LIMIT } from './keywords.js';
export type { KeywordRule, RuleField, RuleMatcher } from './keywords.js';

/** The signals of one request. */
export interface Signals {
  /** Complexity score, 0..1. */
  complexity: number;
  /** The features behind `complexity`. */
  features: ComplexityFeatures;
  task: TaskResult;
  /** Estimated prompt tokens. */
  tokens: number;
  /** Kinds of sensitive data found in any message. */
  sensitive: SensitiveKind[];
  /** Names of the operator keyword rules that matched. */
  rules: string[];
  /** Whether the request defines tools. */
  tools: boolean;
  /** Number of turns in the conversation (system excluded). */
  depth: number;
}

/** Inputs of `computeSignals` besides the request. */
export interface SignalOptions {
  /** The request's embedding, if the semantic cache computed one. */
  embedding?: Float32Array;
  /** Task prototypes embedded by the same model as `embedding`. */
  prototypes?: PrototypeIndex;
  /** Compiled operator rules (from `compileRules` at config load). */
  rules?: RuleMatcher;
}

/**
 * Computes every routing signal of a request.
 *
 * @example
 * const rules = compileRules(config.routing.rules);
 * const s = computeSignals(req, { embedding, prototypes, rules });
 * if (s.sensitive.length > 0) { ... keep it local ... }
 */
export function computeSignals(req: CanonicalRequest, opts: SignalOptions = {}): Signals {
  const { score, features } = complexityScore(req);
  return {
    complexity: score,
    features,
    task: taskType(req, opts.embedding, opts.prototypes),
    tokens: estimateTokens(req),
    sensitive: privacySignal(req),
    rules: opts.rules ? opts.rules(req) : [],
    tools: (req.tools?.length ?? 0) > 0,
    depth: req.messages.length,
  };
}
