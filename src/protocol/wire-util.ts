/**
 * Small helpers shared by the wire translators: type guards, validation
 * errors with a `param`, ids and timestamps.
 */
import { randomBytes } from 'node:crypto';
import { ERROR_CODES, SwitchyardError, type ErrorCode } from '../errors.js';
import type { CanonicalRequest, CanonicalResponse, ContentPart, FinishReason, Usage } from './canonical.js';

/** A plain JSON object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Throws an `invalid_request` error naming the parameter at fault. */
export function invalid(param: string, message: string): never {
  throw new SwitchyardError('invalid_request', message, { param });
}

/** The body as an object, or an `invalid_request` error. */
export function requireBody(body: unknown): JsonObject {
  if (!isObject(body)) {
    throw new SwitchyardError('invalid_request', 'request body must be a JSON object');
  }
  return body;
}

/** `body.model` as a non-empty string, or an `invalid_request` error. */
export function requireModel(body: JsonObject): string {
  const model = body.model;
  if (model === undefined || model === null) invalid('model', '`model` is required');
  if (typeof model !== 'string' || model.trim() === '') invalid('model', '`model` must be a non-empty string');
  return model;
}

/** An optional finite number (null counts as absent). */
export function optNumber(body: JsonObject, key: string, param = key): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(param, `\`${param}\` must be a number`);
  return v;
}

/** An optional positive integer (null counts as absent). */
export function optPositiveInt(body: JsonObject, key: string, param = key): number | undefined {
  const v = optNumber(body, key, param);
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 1) invalid(param, `\`${param}\` must be a positive integer`);
  return v;
}

/** An optional boolean (null counts as absent). */
export function optBoolean(body: JsonObject, key: string, param = key): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') invalid(param, `\`${param}\` must be a boolean`);
  return v;
}

/** An optional string (null counts as absent). */
export function optString(body: JsonObject, key: string, param = key): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') invalid(param, `\`${param}\` must be a string`);
  return v;
}

/** A string or an array of strings, as an array (null counts as absent). */
export function optStringList(body: JsonObject, key: string, param = key): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return invalid(param, `\`${param}\` must be a string or an array of strings`);
}

/** Copies the keys of `body` not in `known` (the wire parameters with no canonical field). */
export function extraOf(body: JsonObject, known: ReadonlySet<string>): JsonObject {
  const extra: JsonObject = {};
  for (const k of Object.keys(body)) if (!known.has(k)) extra[k] = body[k];
  return extra;
}

/** A fresh id such as `chatcmpl-3kQ9...` (URL-safe random, 24 chars). */
export function newId(prefix: string): string {
  return prefix + randomBytes(18).toString('base64url');
}

/** Now, in Unix seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A non-negative integer from an unknown token count, else 0. */
export function tokenCount(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** Usage in OpenAI's shape. */
export function openAIUsage(u: Usage | undefined): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const p = u?.inputTokens ?? 0;
  const c = u?.outputTokens ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

/** OpenAI `finish_reason` → canonical. Unknown or null reasons give `undefined`. */
export function finishFromOpenAI(r: unknown): FinishReason | undefined {
  switch (r) {
    case 'stop':
    case 'length':
    case 'tool_calls':
    case 'content_filter':
      return r;
    case 'function_call':
      return 'tool_calls';
    default:
      return typeof r === 'string' && r !== '' ? 'stop' : undefined;
  }
}

/** OpenAI finish reasons that end an answer, as the API documents them. */
const OPENAI_FINISHES: ReadonlySet<unknown> = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
/** Anthropic stop reasons that end an answer (`pause_turn` does not: the turn goes on). */
const ANTHROPIC_FINISHES: ReadonlySet<unknown> = new Set(['end_turn', 'stop_sequence', 'max_tokens', 'model_context_window_exceeded', 'tool_use', 'refusal']);

/** Whether an upstream's raw finish reason is one its protocol documents as ending an answer. */
export function isKnownFinish(protocol: 'openai' | 'anthropic', rawFinish: unknown): boolean {
  return (protocol === 'openai' ? OPENAI_FINISHES : ANTHROPIC_FINISHES).has(rawFinish);
}

/** Sets `finishUnknown` and `choices` on a JSON answer read from an upstream (see {@link CanonicalResponse}). */
export function markCompleteness(resp: CanonicalResponse, protocol: 'openai' | 'anthropic', rawFinish: unknown, choices = 1): CanonicalResponse {
  if (!(protocol === 'openai' ? OPENAI_FINISHES : ANTHROPIC_FINISHES).has(rawFinish)) resp.finishUnknown = true;
  if (choices > 1) resp.choices = choices;
  return resp;
}

/** Canonical → OpenAI `finish_reason` (`error` has no OpenAI value and renders as `stop`). */
export function finishToOpenAI(r: FinishReason): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  return r === 'error' ? 'stop' : r;
}

/** Anthropic `stop_reason` → canonical. Null gives `undefined`. */
export function finishFromAnthropic(r: unknown): FinishReason | undefined {
  switch (r) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return typeof r === 'string' && r !== '' ? 'stop' : undefined;
  }
}

/** Canonical → Anthropic `stop_reason`. */
export function finishToAnthropic(r: FinishReason): 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal' {
  switch (r) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Parses tool-call argument text into the object Anthropic's `input` needs.
 * Empty text is `{}`; anything that is not a JSON object gives `undefined`.
 */
export function parseToolArguments(args: string): JsonObject | undefined {
  if (args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Sets `stream` and `stream_options` (the latter is only legal when streaming). */
export function applyStream(body: JsonObject, stream: boolean, streamUsage: boolean): void {
  if (stream) {
    body.stream = true;
    if (streamUsage && body.stream_options === undefined) body.stream_options = { include_usage: true };
  } else {
    delete body.stream;
    delete body.stream_options;
  }
}

/** An image part; the media type is read from a `data:` URL. */
export function imagePart(url: string): ContentPart {
  const m = /^data:([^;,]+)[;,]/.exec(url);
  return m?.[1] ? { type: 'image', url, mediaType: m[1] } : { type: 'image', url };
}

/** The error `type` a protocol uses for a stream error code (unknown codes are `api_error`). */
export function errorTypeFor(code: string | undefined, protocol: 'openai' | 'anthropic'): string {
  if (code !== undefined && Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code as ErrorCode][protocol];
  return 'api_error';
}

/** Reads OpenAI's sampling fields shared by chat and completions (`temperature`, `top_p`, `stop`, `user`) into `req`. */
export function readSampling(b: JsonObject, req: CanonicalRequest): void {
  const temperature = optNumber(b, 'temperature');
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optNumber(b, 'top_p');
  if (topP !== undefined) req.topP = topP;
  const stop = optStringList(b, 'stop');
  if (stop && stop.length > 0) req.stop = stop;
  const user = optString(b, 'user');
  if (user !== undefined) req.user = user;
}
