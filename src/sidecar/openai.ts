/**
 * The OpenAI wire subset the sidecar speaks (the one llama.cpp's
 * `llama-server` speaks too): request bodies to engine parameters, and
 * answers, stream chunks and errors back to JSON. The `model` field of a
 * request is accepted and echoed, never used to pick a model: like
 * llama-server, the sidecar serves the one model it loaded.
 */
import { randomUUID } from 'node:crypto';
import type { EngineMessage, FinishReason, Generation, SamplingParams } from './engine.js';

/** An error answered as OpenAI error JSON. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** `{ error: { message, type, param, code } }`. */
  body(): string {
    return JSON.stringify({ error: { message: this.message, type: this.type, param: this.param, code: this.code } });
  }
}

type Json = Record<string, unknown>;

/** Defaults for fields a request leaves out. */
export interface RequestDefaults {
  maxTokens: number;
  /** llama-server's default is 0.8. */
  temperature: number;
}

/** A parsed chat or completion request. */
export interface GenerationRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  sampling: SamplingParams;
}

function bad(message: string, param: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', null, param);
}

function num(body: Json, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`"${key}" must be a number between ${min} and ${max}`, key);
  return v;
}

function generation(body: Json, d: RequestDefaults): GenerationRequest {
  const maxTokens = num(body, 'max_completion_tokens', 1, 1e7) ?? num(body, 'max_tokens', 1, 1e7) ?? d.maxTokens;
  const stop = body['stop'];
  const stops = stop === undefined || stop === null ? [] : typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string')) throw bad('"stop" must be a string or an array of strings', 'stop');
  if (body['stream'] !== undefined && typeof body['stream'] !== 'boolean') throw bad('"stream" must be a boolean', 'stream');
  const opts = body['stream_options'];
  const topP = num(body, 'top_p', 0, 1);
  const seed = num(body, 'seed', -(2 ** 53), 2 ** 53);
  return {
    model: typeof body['model'] === 'string' ? body['model'] : '',
    stream: body['stream'] === true,
    includeUsage: typeof opts === 'object' && opts !== null && (opts as Json)['include_usage'] === true,
    sampling: {
      maxTokens: Math.floor(maxTokens),
      temperature: num(body, 'temperature', 0, 2) ?? d.temperature,
      ...(topP !== undefined ? { topP } : {}),
      ...(seed !== undefined ? { seed: Math.floor(seed) } : {}),
      stop: (stops as string[]).filter((s) => s.length > 0),
    },
  };
}

function contentText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        if (typeof part === 'object' && part !== null && (part as Json)['type'] === 'text' && typeof (part as Json)['text'] === 'string') return (part as Json)['text'] as string;
        throw bad(`messages[${i}].content[${j}]: only text parts are supported`, `messages[${i}].content`);
      })
      .join('');
  }
  throw bad(`messages[${i}].content must be a string or an array of text parts`, `messages[${i}].content`);
}

/** `POST /v1/chat/completions`. */
export function parseChat(body: Json, d: RequestDefaults): GenerationRequest & { messages: EngineMessage[] } {
  const raw = body['messages'];
  if (!Array.isArray(raw) || raw.length === 0) throw bad('"messages" must be a non-empty array', 'messages');
  const messages = raw.map((m, i): EngineMessage => {
    if (typeof m !== 'object' || m === null) throw bad(`messages[${i}] must be an object`, 'messages');
    const role = (m as Json)['role'];
    const content = contentText((m as Json)['content'], i);
    if (role === 'system' || role === 'developer') return { role: 'system', content };
    if (role === 'assistant') return { role: 'assistant', content };
    if (role === 'user' || role === 'tool') return { role: 'user', content };
    throw bad(`messages[${i}].role "${String(role)}" is not supported`, `messages[${i}].role`);
  });
  return { ...generation(body, d), messages };
}

/** `POST /v1/completions`. */
export function parseCompletion(body: Json, d: RequestDefaults): GenerationRequest & { prompt: string } {
  let prompt = body['prompt'];
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt !== 'string') throw bad('"prompt" must be a string (or an array of one string)', 'prompt');
  return { ...generation(body, d), prompt };
}

/** `POST /v1/embeddings`. */
export function parseEmbeddings(body: Json): { model: string; inputs: string[]; base64: boolean } {
  const input = body['input'];
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((s) => typeof s === 'string')) {
    throw bad('"input" must be a string or a non-empty array of strings', 'input');
  }
  const format = body['encoding_format'] ?? 'float';
  if (format !== 'float' && format !== 'base64') throw bad('"encoding_format" must be "float" or "base64"', 'encoding_format');
  return { model: typeof body['model'] === 'string' ? body['model'] : '', inputs: inputs as string[], base64: format === 'base64' };
}

/** The wire finish reason: an aborted generation never reaches a client, so it maps to `stop`. */
function wireFinish(f: FinishReason): 'stop' | 'length' {
  return f === 'length' ? 'length' : 'stop';
}

function usage(g: Pick<Generation, 'promptTokens' | 'completionTokens'>) {
  return { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens, total_tokens: g.promptTokens + g.completionTokens };
}

/** Ids and timestamps shared by every chunk of one answer. */
export interface AnswerMeta {
  id: string;
  created: number;
  model: string;
}

/** A fresh id (`chatcmpl-…` or `cmpl-…`) and timestamp for one answer. */
export function answerMeta(prefix: 'chatcmpl' | 'cmpl', model: string): AnswerMeta {
  return { id: `${prefix}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model };
}

/** A non-streamed `chat.completion` with usage. */
export function chatResponse(m: AnswerMeta, g: Generation): Json {
  return {
    id: m.id,
    object: 'chat.completion',
    created: m.created,
    model: m.model,
    choices: [{ index: 0, message: { role: 'assistant', content: g.text }, logprobs: null, finish_reason: wireFinish(g.finishReason) }],
    usage: usage(g),
  };
}

/** A non-streamed `text_completion` with usage. */
export function completionResponse(m: AnswerMeta, g: Generation): Json {
  return {
    id: m.id,
    object: 'text_completion',
    created: m.created,
    model: m.model,
    choices: [{ index: 0, text: g.text, logprobs: null, finish_reason: wireFinish(g.finishReason) }],
    usage: usage(g),
  };
}

/** A chat stream chunk: the role first, then content deltas, then the finish reason. */
export function chatChunk(m: AnswerMeta, delta: Json, finish: FinishReason | null, withUsage: boolean): Json {
  return {
    id: m.id,
    object: 'chat.completion.chunk',
    created: m.created,
    model: m.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish === null ? null : wireFinish(finish) }],
    ...(withUsage ? { usage: null } : {}),
  };
}

/** A `text_completion` stream chunk. */
export function completionChunk(m: AnswerMeta, text: string, finish: FinishReason | null, withUsage: boolean): Json {
  return {
    id: m.id,
    object: 'text_completion',
    created: m.created,
    model: m.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish === null ? null : wireFinish(finish) }],
    ...(withUsage ? { usage: null } : {}),
  };
}

/** The closing usage-only chunk of a stream that asked for `stream_options.include_usage`. */
export function usageChunk(m: AnswerMeta, object: 'chat.completion.chunk' | 'text_completion', g: Generation): Json {
  return { id: m.id, object, created: m.created, model: m.model, choices: [], usage: usage(g) };
}

/** The `/v1/embeddings` list, vectors as floats or base64 little-endian float32. */
export function embeddingResponse(model: string, vectors: readonly number[][], promptTokens: number, base64: boolean): Json {
  return {
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v,
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** `/v1/models` with the one loaded model (`meta.n_ctx` as llama-server reports it). */
export function modelsResponse(id: string, contextSize: number): Json {
  return { object: 'list', data: [{ id, object: 'model', created: 0, owned_by: 'switchyard-sidecar', meta: { n_ctx: contextSize } }] };
}
