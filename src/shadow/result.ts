/**
 * One shadow test as stored: what the user's request was (task, complexity,
 * tier, model), what the cheaper side answered, how the two compare and what
 * each cost. No prompt or answer text is kept.
 */

/** The record of one shadow test (one line of JSONL, one Redis stream entry). */
export interface ShadowResult {
  /** Record version. */
  v: 1;
  /** The user's request id (`x-switchyard-request-id`). */
  id: string;
  /** ISO time the record was written. */
  time: string;
  tenant: string;
  /** The router's task type. */
  task: string;
  /** The router's complexity score, 0..1. */
  complexity: number;
  /** True when the complexity ladder chose the tier (not a rule, tools or a pinned tier): only these move thresholds. */
  byComplexity: boolean;
  /** Tier and model that answered the user. */
  tier: string;
  model: string;
  /** Tier and model that answered the shadow request (`shadowTier` absent for a configured model outside every tier). */
  shadowTier?: string;
  shadowModel: string;
  /** Cosine similarity of the two answers' embeddings. */
  similarity?: number;
  /** LLM judge score of the cheap answer against the strong one, 1..10. */
  judge?: number;
  /** Whether the cheap answer agreed, by `shadow.agreement` (absent when nothing could be scored). */
  agreed?: boolean;
  /** USD of the user's answer and of the shadow answer (judge excluded). */
  cost: number;
  shadowCost: number;
  /** USD of the judge call. */
  judgeCost?: number;
  /** The user's latency (arrival → answer observed) and the shadow call's. */
  latencyMs: number;
  shadowLatencyMs?: number;
  inputTokens: number;
  outputTokens: number;
  shadowOutputTokens?: number;
  /** The shadow call failed (no answer to score). */
  error?: string;
  similarityError?: string;
  judgeError?: string;
}

/** Whether a stored value looks like a {@link ShadowResult} (foreign or corrupt entries are skipped). */
export function isShadowResult(v: unknown): v is ShadowResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ShadowResult>;
  return r.v === 1 && typeof r.id === 'string' && typeof r.task === 'string' && typeof r.tier === 'string' && typeof r.complexity === 'number';
}
