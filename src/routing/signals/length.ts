/**
 * The length signal: a fast estimate of a request's prompt tokens, and
 * whether prompt plus completion fit a model's context window. A heuristic
 * (about four characters a token for English, denser for CJK and code
 * symbols), not a tokenizer: good enough to rule out models, not to bill.
 */
import type { CanonicalRequest, ContentPart } from '../../protocol/canonical.js';

/** Tokens a chat format adds around each message (role markers, separators). */
const PER_MESSAGE = 4;
/** Tokens added once per request (reply priming). */
const PER_REQUEST = 3;
/** Rough cost of one image part (OpenAI low-detail tile ≈ 85; high detail more). */
const PER_IMAGE = 765;
/** Overhead per tool definition beyond its JSON text. */
const PER_TOOL = 8;

/**
 * Token estimate for a string: ~4 chars/token for Latin text, ~1 token per
 * CJK/kana/hangul character, counted in one pass without allocating.
 */
export function estimateTextTokens(text: string): number {
  let wide = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // CJK, kana, hangul: roughly one token per character.
    if (c >= 0x2e80 && (c <= 0x9fff || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff))) wide++;
  }
  return Math.ceil((n - wide) / 4 + wide);
}

/** Tokens of a JSON value as if serialised, walked without building the string. */
function jsonTokens(value: unknown, depth = 0): number {
  if (typeof value === 'string') return estimateTextTokens(value) + 1;
  if (value === null || typeof value !== 'object' || depth > 32) return 1;
  let t = 1;
  if (Array.isArray(value)) {
    for (const v of value) t += jsonTokens(v, depth + 1);
    return t;
  }
  for (const k in value as Record<string, unknown>) {
    t += estimateTextTokens(k) + 1 + jsonTokens((value as Record<string, unknown>)[k], depth + 1);
  }
  return t;
}

function partsTokens(content: string | ContentPart[]): number {
  if (typeof content === 'string') return estimateTextTokens(content);
  let t = 0;
  for (const p of content) t += p.type === 'text' ? estimateTextTokens(p.text) : PER_IMAGE;
  return t;
}

/**
 * Estimates the prompt tokens of a request: system, every message (text,
 * images, tool calls), tool definitions and the response schema, plus
 * per-message overhead.
 *
 * @example
 * estimateTokens(req); // ≈ 12 for a one-line question
 */
export function estimateTokens(req: CanonicalRequest): number {
  let t = PER_REQUEST;
  if (req.system) t += PER_MESSAGE + estimateTextTokens(req.system);
  for (const m of req.messages) {
    t += PER_MESSAGE + partsTokens(m.content);
    if (m.name) t += 1;
    if (m.toolCalls) for (const c of m.toolCalls) t += PER_TOOL + estimateTextTokens(c.name) + estimateTextTokens(c.arguments);
  }
  if (req.tools) {
    for (const tool of req.tools) {
      t += PER_TOOL + estimateTextTokens(tool.name) + estimateTextTokens(tool.description ?? '');
      t += jsonTokens(tool.parameters);
    }
  }
  if (req.responseFormat?.type === 'json_schema') t += jsonTokens(req.responseFormat.schema);
  if (req.input) for (const s of req.input) t += estimateTextTokens(s);
  return t;
}

/**
 * Whether a prompt of `tokens` plus up to `maxOutput` completion tokens fits
 * a context window of `contextWindow` tokens.
 *
 * @example
 * fitsContext(7000, 1024, 8192); // true
 * fitsContext(7500, 1024, 8192); // false
 */
export function fitsContext(tokens: number, maxOutput: number, contextWindow: number): boolean {
  return tokens + Math.max(0, maxOutput) <= contextWindow;
}
