/**
 * Token usage of a request: what the upstream reported, or an estimate when
 * it reported none (a stream from a server without `include_usage`, a stream
 * cut short, a cancelled exchange). Estimates use the routing length signal's
 * heuristic (about four characters a token), which is good enough to account
 * for spend that would otherwise go uncounted, not to bill.
 */
import type { CanonicalEmbeddingResponse, CanonicalRequest, CanonicalResponse } from '../protocol/canonical.js';
import { estimateTextTokens, estimateTokens } from '../routing/signals/length.js';
import type { TokenUsage } from './pricing.js';

/** Usage with a flag saying it was counted here rather than reported. */
export interface ObservedUsage extends TokenUsage {
  estimated?: true;
}

/** Completion tokens of an answer's text and tool calls. */
export function estimateAnswerTokens(resp: CanonicalResponse): number {
  let t = estimateTextTokens(resp.text);
  if (resp.toolCalls) for (const c of resp.toolCalls) t += 8 + estimateTextTokens(c.name) + estimateTextTokens(c.arguments);
  return t;
}

/**
 * The reported usage, or an estimate from the request and whatever answer
 * arrived; undefined when nothing was sent upstream worth counting.
 *
 * @example
 * usageOf(ctx.req, streamedAnswer); // { inputTokens: 12, outputTokens: 40, estimated: true }
 */
export function usageOf(
  req: CanonicalRequest,
  response: CanonicalResponse | CanonicalEmbeddingResponse | undefined,
): ObservedUsage | undefined {
  if (!response) return undefined;
  if (response.usage) return response.usage;
  const inputTokens = estimateTokens(req);
  const outputTokens = 'text' in response ? estimateAnswerTokens(response) : 0;
  return { inputTokens, outputTokens, estimated: true };
}
