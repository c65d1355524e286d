/**
 * Scoring a shadow pair: cosine similarity of the two answers' embeddings
 * (by the semantic cache's embedder, whose vectors are L2-normalised, so a
 * dot product), an optional LLM judge, and the agreement verdict that the
 * report counts. Every failure is returned as an error string, never thrown.
 */
import type { ShadowAgreementConfig } from '../config/shadow.js';
import type { Embedder } from '../embedding/index.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import type { Judge } from './judge.js';

/** The scores of one pair. */
export interface PairScores {
  similarity?: number;
  similarityError?: string;
  judge?: number;
  judgeError?: string;
  judgeTokens?: { inputTokens: number; outputTokens: number };
}

/**
 * Cosine similarity of two answers, embedded together in one call.
 *
 * @example
 * await answerSimilarity(embedder, 'Paris.', 'The capital is Paris.'); // ≈ 0.8
 */
export async function answerSimilarity(embedder: Embedder, a: string, b: string): Promise<number> {
  if (a === b) return 1;
  const [va, vb] = await embedder.embed([a, b]);
  if (!va || !vb || va.length !== vb.length) throw new Error(`embedder ${embedder.id} returned unusable vectors`);
  let dot = 0;
  for (let i = 0; i < va.length; i++) dot += va[i]! * vb[i]!;
  return Math.max(-1, Math.min(1, dot));
}

/**
 * Whether the cheap answer agrees, from the scores present; undefined when none is.
 *
 * @example
 * agreement({ similarity: 0.91, judge: 6 }, { similarity: 0.85, judge: 7, require: 'all' }); // false
 */
export function agreement(s: { similarity?: number; judge?: number }, cfg: ShadowAgreementConfig): boolean | undefined {
  const verdicts: boolean[] = [];
  if (s.similarity !== undefined) verdicts.push(s.similarity >= cfg.similarity);
  if (s.judge !== undefined) verdicts.push(s.judge >= cfg.judge);
  if (verdicts.length === 0) return undefined;
  return cfg.require === 'all' ? verdicts.every(Boolean) : verdicts.some(Boolean);
}

/** What {@link scorePair} may use. */
export interface ScorerDeps {
  embedder?: Embedder | undefined;
  judge?: Judge | undefined;
  signal?: AbortSignal;
}

/**
 * Scores the strong answer against the cheap one with whatever is configured
 * (similarity and judge run concurrently).
 */
export async function scorePair(req: CanonicalRequest, strong: string, cheap: string, deps: ScorerDeps): Promise<PairScores> {
  const out: PairScores = {};
  const tasks: Promise<void>[] = [];
  if (deps.embedder) {
    const embedder = deps.embedder;
    tasks.push(
      answerSimilarity(embedder, strong, cheap).then(
        (s) => void (out.similarity = Number(s.toFixed(4))),
        (e: unknown) => void (out.similarityError = `similarity failed: ${e instanceof Error ? e.message : String(e)}`),
      ),
    );
  }
  if (deps.judge) {
    tasks.push(
      deps.judge.grade(req, strong, cheap, deps.signal).then((v) => {
        out.judgeTokens = { inputTokens: v.inputTokens, outputTokens: v.outputTokens };
        if (v.score !== undefined) out.judge = v.score;
        if (v.error !== undefined) out.judgeError = v.error;
      }),
    );
  }
  await Promise.all(tasks);
  return out;
}
