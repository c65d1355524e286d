/**
 * The mock's wire formats: OpenAI chat / completions / embeddings and
 * Anthropic messages, as JSON bodies and as SSE events, and each API's error
 * JSON. Only shapes here; `server.ts` decides what to send and when.
 */
import type { MockAnswer } from './answer.js';

/** Which API a request came in on. */
export type MockRoute = 'chat' | 'completion' | 'messages';

type Json = Record<string, unknown>;

/** One SSE event: an optional `event:` name and its JSON (or `[DONE]`) data. */
export interface SseEvent {
  event?: string;
  data: string;
}

const ANTHROPIC_STOP = { stop: 'end_turn', length: 'max_tokens' } as const;

function usage(a: MockAnswer, completionTokens: number) {
  return { prompt_tokens: a.promptTokens, completion_tokens: completionTokens, total_tokens: a.promptTokens + completionTokens };
}

/** The whole answer as one JSON body. */
export function answerJson(route: MockRoute, id: string, model: string, a: MockAnswer): Json {
  const text = a.tokens.join('');
  const created = Math.floor(Date.now() / 1000);
  if (route === 'messages') {
    return {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text }],
      stop_reason: ANTHROPIC_STOP[a.finishReason],
      stop_sequence: null,
      usage: { input_tokens: a.promptTokens, output_tokens: a.tokens.length },
    };
  }
  if (route === 'completion') {
    return {
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text, finish_reason: a.finishReason, logprobs: null }],
      usage: usage(a, a.tokens.length),
    };
  }
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: a.finishReason, logprobs: null }],
    usage: usage(a, a.tokens.length),
  };
}

/** The events before the first token. */
export function streamStart(route: MockRoute, id: string, model: string, a: MockAnswer): SseEvent[] {
  if (route === 'messages') {
    const message = { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: a.promptTokens, output_tokens: 0 } };
    return [
      { event: 'message_start', data: JSON.stringify({ type: 'message_start', message }) },
      { event: 'content_block_start', data: JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) },
    ];
  }
  if (route === 'completion') return [];
  return [{ data: JSON.stringify(chatChunk(id, model, { role: 'assistant', content: '' }, null)) }];
}

function chatChunk(id: string, model: string, delta: Json, finish: string | null): Json {
  return { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] };
}

function completionChunk(id: string, model: string, text: string, finish: string | null): Json {
  return { id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, text, finish_reason: finish, logprobs: null }] };
}

/** The event carrying one token. */
export function streamToken(route: MockRoute, id: string, model: string, token: string): SseEvent {
  if (route === 'messages') return { event: 'content_block_delta', data: JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token } }) };
  if (route === 'completion') return { data: JSON.stringify(completionChunk(id, model, token, null)) };
  return { data: JSON.stringify(chatChunk(id, model, { content: token }, null)) };
}

/** The events after the last token: finish reason, usage (OpenAI: when `stream_options.include_usage`), terminator. */
export function streamEnd(route: MockRoute, id: string, model: string, a: MockAnswer, includeUsage: boolean): SseEvent[] {
  if (route === 'messages') {
    return [
      { event: 'content_block_stop', data: JSON.stringify({ type: 'content_block_stop', index: 0 }) },
      {
        event: 'message_delta',
        data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: ANTHROPIC_STOP[a.finishReason], stop_sequence: null }, usage: { output_tokens: a.tokens.length } }),
      },
      { event: 'message_stop', data: JSON.stringify({ type: 'message_stop' }) },
    ];
  }
  const last = route === 'completion' ? completionChunk(id, model, '', a.finishReason) : chatChunk(id, model, {}, a.finishReason);
  const out: SseEvent[] = [{ data: JSON.stringify(last) }];
  if (includeUsage) {
    const u = route === 'completion' ? completionChunk(id, model, '', null) : chatChunk(id, model, {}, null);
    out.push({ data: JSON.stringify({ ...u, choices: [], usage: usage(a, a.tokens.length) }) });
  }
  out.push({ data: '[DONE]' });
  return out;
}

/** An SSE event as bytes on the wire. */
export function sse(e: SseEvent): string {
  return `${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`;
}

const OPENAI_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'invalid_request_error', 429: 'rate_limit_error' };
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** An error body in the API's own format. */
export function errorJson(anthropic: boolean, status: number, message: string): Json {
  if (anthropic) return { type: 'error', error: { type: ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message } };
  return { error: { message, type: OPENAI_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), param: null, code: null } };
}
