/**
 * OpenAI embeddings (`POST /v1/embeddings`) ↔ canonical.
 */
import type { CanonicalEmbeddingResponse, CanonicalRequest } from './canonical.js';
import { malformedUpstream } from './openai-response.js';
import {
  extraOf,
  invalid,
  isObject,
  optString,
  requireBody,
  requireModel,
  tokenCount,
  type JsonObject,
} from './wire-util.js';
import { OPENAI_EMBEDDING_NUMBERS, checkNumbers } from './numeric-params.js';

const EMBEDDING_KNOWN: ReadonlySet<string> = new Set(['model', 'input', 'user']);

/**
 * Parses a `POST /v1/embeddings` body. `input` is a string or an array of
 * strings; token-array inputs are rejected. `encoding_format` and
 * `dimensions` stay in `extra`.
 *
 * @throws SwitchyardError `invalid_request` with param `input` or `model`.
 * @example
 * parseOpenAIEmbedding({ model: 'text-embedding-3-small', input: ['a', 'b'] }).input; // ['a', 'b']
 */
export function parseOpenAIEmbedding(body: unknown): CanonicalRequest {
  const b = requireBody(body);
  const model = requireModel(b);
  checkNumbers(b, OPENAI_EMBEDDING_NUMBERS);
  const raw = b.input;
  let input: string[];
  if (typeof raw === 'string') input = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((s) => typeof s === 'string')) input = raw as string[];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((s) => typeof s === 'number' || Array.isArray(s))) {
    return invalid('input', 'token-array `input` is not supported; send strings');
  } else if (raw === undefined || raw === null) return invalid('input', '`input` is required');
  else return invalid('input', '`input` must be a string or a non-empty array of strings');
  if (input.some((s) => s === '')) invalid('input', '`input` must not contain empty strings');
  const ef = b.encoding_format;
  if (ef !== undefined && ef !== null && ef !== 'float' && ef !== 'base64') {
    invalid('encoding_format', '`encoding_format` must be "float" or "base64"');
  }
  const req: CanonicalRequest = {
    operation: 'embedding',
    protocol: 'openai',
    model,
    messages: [],
    input,
    stream: false,
    extra: extraOf(b, EMBEDDING_KNOWN),
  };
  const user = optString(b, 'user');
  if (user !== undefined) req.user = user;
  return req;
}

/**
 * Renders a canonical embedding request as a `/v1/embeddings` body.
 * `encoding_format` is forwarded as the client sent it; the response reader decodes either form.
 */
export function toOpenAIEmbeddingBody(req: CanonicalRequest, upstreamModel: string): JsonObject {
  const body: JsonObject = req.protocol === 'openai' ? { ...req.extra } : {};
  body.model = upstreamModel;
  body.input = req.input ?? [];
  if (req.user !== undefined) body.user = req.user;
  return body;
}

/**
 * Reads an OpenAI embeddings list (float or base64 vectors), ordered by `index`.
 *
 * @throws SwitchyardError `upstream_unavailable` when the body is not an embeddings list.
 */
export function openAIEmbeddingResponseToCanonical(json: unknown): CanonicalEmbeddingResponse {
  if (!isObject(json) || !Array.isArray(json.data)) return malformedUpstream('embeddings list');
  const rows = (json.data as unknown[]).map((d, i) => {
    if (!isObject(d)) return malformedUpstream('embeddings list');
    const e = d.embedding;
    let vec: number[];
    if (typeof e === 'string') vec = decodeBase64Floats(e);
    else if (Array.isArray(e) && e.every((x) => typeof x === 'number')) vec = e as number[];
    else return malformedUpstream('embeddings list');
    return { index: typeof d.index === 'number' ? d.index : i, vec };
  });
  rows.sort((a, b) => a.index - b.index);
  const out: CanonicalEmbeddingResponse = {
    model: typeof json.model === 'string' ? json.model : '',
    vectors: rows.map((r) => r.vec),
  };
  if (isObject(json.usage)) out.usage = { inputTokens: tokenCount(json.usage.prompt_tokens), outputTokens: 0 };
  return out;
}

/**
 * Renders a canonical embedding response as an OpenAI embeddings list.
 * Pass `encodingFormat: 'base64'` when the client asked for it (the official SDKs do by default).
 */
export function canonicalToOpenAIEmbedding(
  resp: CanonicalEmbeddingResponse,
  opts: { encodingFormat?: 'float' | 'base64' } = {},
): JsonObject {
  const p = resp.usage?.inputTokens ?? 0;
  return {
    object: 'list',
    data: resp.vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: opts.encodingFormat === 'base64' ? encodeBase64Floats(v) : v,
    })),
    model: resp.model,
    usage: { prompt_tokens: p, total_tokens: p },
  };
}

/** Little-endian float32 base64 (OpenAI `encoding_format: base64`) → numbers. */
export function decodeBase64Floats(b64: string): number[] {
  const buf = Buffer.from(b64, 'base64');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = buf.byteLength >>> 2;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Numbers → little-endian float32 base64. */
export function encodeBase64Floats(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf.toString('base64');
}
