/** Rendering canonical answers and errors in the client's protocol. */
import { errorBody, type SwitchyardError } from '../errors.js';
import type { CanonicalEmbeddingResponse, CanonicalResponse, Operation, Protocol, StreamEvent } from '../protocol/canonical.js';
import { canonicalToAnthropic } from '../protocol/anthropic.js';
import { AnthropicStreamEncoder, type AnthropicBlockPosition } from '../protocol/anthropic-stream.js';
import { canonicalToOpenAIChat, canonicalToOpenAICompletion, canonicalToOpenAIEmbedding } from '../protocol/openai.js';
import { OpenAIStreamEncoder } from '../protocol/openai-stream.js';
import type { RespondOutcome } from './outcome.js';
import type { RequestContext } from './context.js';

/** Encodes canonical stream events as SSE text in one protocol. */
export interface StreamEncoder {
  encode(ev: StreamEvent): string;
}

/** Where a stream relayed verbatim stands when an encoder takes it over (mid-stream resume). */
export interface StreamTakeOver {
  id?: string;
  created?: number;
  /** The model that finishes the answer (named in OpenAI chunks from now on). */
  model: string;
  /** Anthropic block bookkeeping of the verbatim part. */
  position?: AnthropicBlockPosition;
}

/** A client-facing encoder that can also take over a verbatim relay and rename the model mid-stream. */
export interface ClientStreamEncoder extends StreamEncoder {
  takeOver(s: StreamTakeOver): void;
  setModel(model: string): void;
}

/** `includeUsage`: the OpenAI client asked for the usage chunk (`stream_options.include_usage`). */
export function streamEncoder(protocol: Protocol, op: Operation, model: string, includeUsage = false): ClientStreamEncoder {
  if (protocol === 'anthropic') {
    const a = new AnthropicStreamEncoder({ model });
    return {
      encode: (ev) => a.encode(ev),
      takeOver: (s) => a.continueFrom(s.position ?? { openText: undefined, nextIndex: 0 }),
      setModel: () => undefined, // Anthropic names the model once, in message_start
    };
  }
  const o = new OpenAIStreamEncoder({ model, object: op === 'completion' ? 'text_completion' : 'chat.completion.chunk', includeUsage });
  return {
    encode: (ev) => o.encode(ev),
    takeOver: (s) => o.continueFrom(s),
    setModel: (m) => o.setModel(m),
  };
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
