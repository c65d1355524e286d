/** Rendering canonical answers and errors in the client's protocol. */
import { errorBody, type SwitchyardError } from '../errors.js';
import type { CanonicalEmbeddingResponse, CanonicalResponse, Operation, Protocol, StreamEvent } from '../protocol/canonical.js';
import { canonicalToAnthropic } from '../protocol/anthropic.js';
import { AnthropicStreamEncoder } from '../protocol/anthropic-stream.js';
import { canonicalToOpenAIChat, canonicalToOpenAICompletion, canonicalToOpenAIEmbedding } from '../protocol/openai.js';
import { OpenAIStreamEncoder } from '../protocol/openai-stream.js';
import type { RespondOutcome } from './outcome.js';
import type { RequestContext } from './context.js';

/** Encodes canonical stream events as SSE text in one protocol. */
export interface StreamEncoder {
  encode(ev: StreamEvent): string;
}

/** `includeUsage`: the OpenAI client asked for the usage chunk (`stream_options.include_usage`). */
export function streamEncoder(protocol: Protocol, op: Operation, model: string, includeUsage = false): StreamEncoder {
  if (protocol === 'anthropic') return new AnthropicStreamEncoder({ model });
  return new OpenAIStreamEncoder({ model, object: op === 'completion' ? 'text_completion' : 'chat.completion.chunk', includeUsage });
}

/** Whether an OpenAI client asked for usage in its stream. */
export function wantsStreamUsage(raw: Record<string, unknown>): boolean {
  const o = raw.stream_options;
  return typeof o === 'object' && o !== null && (o as { include_usage?: unknown }).include_usage === true;
}

export function renderJson(protocol: Protocol, op: Operation, resp: CanonicalResponse): string {
  if (protocol === 'anthropic') return JSON.stringify(canonicalToAnthropic(resp));
  return JSON.stringify(op === 'completion' ? canonicalToOpenAICompletion(resp) : canonicalToOpenAIChat(resp));
}

export function renderEmbedding(resp: CanonicalEmbeddingResponse): string {
  return JSON.stringify(canonicalToOpenAIEmbedding(resp));
}

/** SSE text for a whole event sequence (cache replays). */
export function renderSse(protocol: Protocol, op: Operation, model: string, events: readonly StreamEvent[], includeUsage = false): string {
  const enc = streamEncoder(protocol, op, model, includeUsage);
  let out = '';
  for (const ev of events) out += enc.encode(ev);
  return out;
}

/** The decision headers every Switchyard response carries. */
export function decisionHeaders(ctx: RequestContext | undefined): Record<string, string> {
  if (!ctx) return {};
  const h: Record<string, string> = {
    'x-switchyard-request-id': ctx.id,
    'x-switchyard-cache': ctx.cache,
  };
  if (ctx.similarity !== undefined) h['x-switchyard-similarity'] = ctx.similarity.toFixed(4);
  if (ctx.route) {
    h['x-switchyard-route'] = ctx.route.reason;
    if (ctx.route.tier) h['x-switchyard-tier'] = ctx.route.tier;
  }
  if (ctx.upstream) h['x-switchyard-upstream'] = ctx.upstream;
  if (ctx.model) h['x-switchyard-model'] = ctx.model;
  h['x-switchyard-attempts'] = String(ctx.attempts.filter((a) => a.outcome !== 'skipped').length);
  return h;
}

/** An error as a complete response in the caller's protocol. */
export function errorOutcome(err: SwitchyardError, protocol: Protocol, ctx: RequestContext | undefined): RespondOutcome {
  const headers = decisionHeaders(ctx);
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  headers['x-switchyard-error'] = err.code;
  return {
    type: 'respond',
    ctx,
    status: err.status,
    headers,
    contentType: 'application/json',
    body: JSON.stringify(errorBody(err, protocol)),
  };
}
