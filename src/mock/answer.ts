/**
 * What a mock upstream answers, decided from the request alone: the text
 * (canned, echo, or the request's `mock_response`), its tokens, the usage
 * counts and any fault the request or the config asks for. Pure functions:
 * the same request always gets the same answer.
 */
import { createHash } from 'node:crypto';
import { MOCK_FAULTS, type MockConfig, type MockFault } from '../config/mock.js';

/** The answer to one request. */
export interface MockAnswer {
  /** The answer split into tokens (words with their trailing space); joined, they are the whole answer. */
  tokens: string[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
  /** The fault to play, if any. */
  fault: MockFault | undefined;
}

type Json = Record<string, unknown>;

/** The text of a message `content`: a string, or OpenAI/Anthropic text parts. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: unknown) => (p && typeof p === 'object' && typeof (p as Json).text === 'string' ? ((p as Json).text as string) : ''))
    .filter(Boolean)
    .join('\n');
}

/** All the text a request carries (for directives and prompt token counts) and its last user text (for echo). */
export function requestText(body: Json): { all: string; lastUser: string } {
  const parts: string[] = [];
  let lastUser = '';
  if (typeof body.system === 'string') parts.push(body.system);
  else if (Array.isArray(body.system)) parts.push(contentText(body.system));
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as unknown[]) {
      if (!m || typeof m !== 'object') continue;
      const text = contentText((m as Json).content);
      parts.push(text);
      if ((m as Json).role === 'user') lastUser = text;
    }
  }
  const prompt = body.prompt ?? body.input;
  if (typeof prompt === 'string') {
    parts.push(prompt);
    lastUser = prompt;
  } else if (Array.isArray(prompt)) {
    const texts = prompt.filter((p): p is string => typeof p === 'string');
    parts.push(...texts);
    lastUser = texts.at(-1) ?? lastUser;
  }
  return { all: parts.join('\n'), lastUser };
}

const DIRECTIVE = /\[mock:fault=([a-z0-9]+)(?:@([A-Za-z0-9_.-]+))?\]/gi;

function parseFault(v: string): MockFault | undefined {
  const lower = v.toLowerCase();
  if ((MOCK_FAULTS as readonly string[]).includes(lower)) return lower as MockFault;
  const status = Number(lower);
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined;
}

/**
 * The fault a request asks this mock for: `[mock:fault=503]` in its text
 * applies to every mock that sees it, `[mock:fault=503@name]` only to the
 * mock called `name` (a `kind: mock` upstream's name), so a fallback to
 * another mock can answer.
 */
export function requestedFault(text: string, name?: string): MockFault | undefined {
  if (!text.includes('[mock:')) return undefined;
  for (const m of text.matchAll(DIRECTIVE)) {
    if (m[2] !== undefined && m[2] !== name) continue;
    const f = parseFault(m[1]!);
    if (f !== undefined) return f;
  }
  return undefined;
}

/** Splits text into word tokens that join back to the text exactly. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}

/** A rough token count (4 characters a token, at least 1 for non-empty text). */
export function countTokens(text: string): number {
  return text ? Math.max(1, Math.ceil(text.length / 4)) : 0;
}

/**
 * The answer to a request body under a mock config.
 *
 * @example
 * mockAnswer({ messages: [{ role: 'user', content: 'hi' }] }, cfg).tokens.join(''); // 'echo: hi'
 */
export function mockAnswer(body: Json, cfg: MockConfig, name?: string): MockAnswer {
  const { all, lastUser } = requestText(body);
  const text = typeof body.mock_response === 'string' ? body.mock_response : cfg.response === 'echo' ? `echo: ${lastUser}` : cfg.text;
  let tokens = tokenize(text);
  let finishReason: MockAnswer['finishReason'] = 'stop';
  const max = body.max_tokens ?? body.max_completion_tokens;
  if (typeof max === 'number' && Number.isInteger(max) && max >= 0 && tokens.length > max) {
    tokens = tokens.slice(0, max);
    finishReason = 'length';
  }
  return { tokens, finishReason, promptTokens: countTokens(all), fault: requestedFault(all, name) ?? cfg.fault };
}

/**
 * A deterministic embedding: words hashed into `dims` buckets with signs,
 * L2-normalised, so texts sharing words are close (cosine) and the same text
 * always gets the same vector.
 */
export function mockEmbedding(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = createHash('sha256').update(word).digest();
    v[h.readUInt32LE(0) % dims]! += h[4]! & 1 ? 1 : -1;
  }
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  if (norm === 0) {
    v[0] = 1;
    return v;
  }
  return v.map((x) => x / norm);
}
