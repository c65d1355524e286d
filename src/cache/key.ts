/**
 * Cache keys. A *partition* holds everything that must be equal for two
 * requests to share an answer except the question itself: the tenant, the
 * model group, the operation, the system prompt, the earlier conversation,
 * the context before the question of a long last turn, and every parameter
 * that changes the answer. The *exact key* adds a digest of the last user
 * turn (of its question, when split); the semantic cache searches only within a partition,
 * so a follow-up such as "and in French?" never matches another conversation.
 *
 * Digests are SHA-256 over a canonical, key-order-stable serialisation that is
 * fed to the hash in 16 KiB chunks (no whole-request string is built).
 * SHA-256 costs ~0.5 µs for a short prompt and ~13 µs for 20 KB here (SHA-NI);
 * SHA-1 and MD5 are no faster, so there is no reason to give up collision
 * resistance on a key that separates tenants.
 */
import { createHash, type Hash } from 'node:crypto';
import type { CanonicalMessage, CanonicalRequest, ContentPart } from '../protocol/canonical.js';

/** A cache partition: entries are never served across partitions. */
export interface Partition {
  /**
   * `<tenant digest>:<model-group digest>:<digest of everything>`: hex and
   * `:` only. The leading parts let a purge select a tenant or a model group
   * by prefix; the last part (128 bits over the full tenant and model-group
   * names too) is what isolates entries.
   */
  readonly id: string;
  readonly tenant: string;
  readonly modelGroup: string;
  /**
   * Where the question starts in a last user turn that is a plain string
   * split by {@link splitQuestion}: the text before it is already in `id`,
   * so the exact key hashes only the rest.
   */
  readonly questionStart?: number;
}

/** Input of {@link partitionOf}. */
export interface PartitionInput {
  tenant: string;
  modelGroup: string;
  req: CanonicalRequest;
  /** Longest question the semantic cache embeds (see {@link splitQuestion}); default {@link DEFAULT_QUESTION_CHARS}. */
  questionChars?: number;
}

/**
 * Default longest question window the semantic cache embeds, in characters.
 * Short enough that a question after a long shared context is what the
 * vector (and the verifier) compare, long enough for ordinary questions
 * (QQP questions are almost all under 300 characters).
 */
export const DEFAULT_QUESTION_CHARS = 500;

/** `extra` parameters that do not change the answer and stay out of the key. */
const NEUTRAL_EXTRA = new Set(['stream_options', 'metadata', 'store', 'user', 'service_tier', 'prompt_cache_key', 'safety_identifier']);

const CHUNK = 16 * 1024;

/** Streams a canonical serialisation into a hash without building one big string. */
class DigestWriter {
  private buf = '';
  private readonly hash: Hash = createHash('sha256');

  write(s: string): void {
    this.buf += s;
    if (this.buf.length >= CHUNK) {
      this.hash.update(this.buf);
      this.buf = '';
    }
  }

  /** Canonical JSON: object keys sorted, `undefined` members dropped. */
  value(v: unknown): void {
    if (v === null || v === undefined) return this.write('null');
    switch (typeof v) {
      case 'string':
        return this.write(JSON.stringify(v));
      case 'number':
        return this.write(Number.isFinite(v) ? String(v) : 'null');
      case 'boolean':
        return this.write(v ? 'true' : 'false');
      case 'bigint':
        return this.write(v.toString());
      case 'object':
        break;
      default:
        return this.write('null');
    }
    if (Array.isArray(v)) {
      this.write('[');
      v.forEach((item, i) => {
        if (i > 0) this.write(',');
        this.value(item);
      });
      return this.write(']');
    }
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    this.write('{');
    keys.forEach((k, i) => {
      this.write(i > 0 ? ',' : '');
      this.write(JSON.stringify(k));
      this.write(':');
      this.value(obj[k]);
    });
    this.write('}');
  }

  /** A named field; fields are written in a fixed order by the caller. */
  field(name: string, v: unknown): void {
    this.write(`|${name}=`);
    this.value(v);
  }

  digest(hexChars = 64): string {
    if (this.buf.length > 0) this.hash.update(this.buf);
    this.buf = '';
    return this.hash.digest('hex').slice(0, hexChars);
  }
}

/** `greedy` for temperature 0, `sampled` otherwise (unset means the provider's default, which samples). */
export function temperatureClass(temperature: number | undefined): 'greedy' | 'sampled' {
  return temperature === 0 ? 'greedy' : 'sampled';
}

/** Hex digest (first `hexChars` of SHA-256) of a string. */
export function digestOf(text: string, hexChars = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/** Key prefix that selects a tenant's partitions, or one model group of it. */
export function partitionPrefix(filter: { tenant: string; modelGroup?: string }): string {
  const t = nameDigest('t', filter.tenant);
  return filter.modelGroup === undefined ? `${t}:` : `${t}:${nameDigest('m', filter.modelGroup)}:`;
}

/** Digests of tenant and model-group names, remembered: every request hashed the same few names again. */
const nameDigests = new Map<string, string>();

function nameDigest(kind: 't' | 'm', name: string): string {
  const k = `${kind}\0${name}`;
  let d = nameDigests.get(k);
  if (d === undefined) {
    // Bounded: many tenants only cost the hashing again, never memory.
    if (nameDigests.size >= 4096) nameDigests.clear();
    nameDigests.set(k, (d = digestOf(k)));
  }
  return d;
}

/** Index of the last message when it is a user turn (the question), else -1. */
function questionIndex(req: CanonicalRequest): number {
  const last = req.messages.length - 1;
  return last >= 0 && req.messages[last]!.role === 'user' ? last : -1;
}

/** Parts with only one text part are the same prompt as the plain string. */
function canonicalContent(content: string | ContentPart[]): unknown {
  if (typeof content === 'string') return content;
  if (content.length === 1 && content[0]!.type === 'text') return content[0]!.text;
  return content;
}

/** Tool-call arguments by value, so `{"a":1,"b":2}` and `{"b":2,"a":1}` agree. */
function canonicalArguments(args: string): unknown {
  try {
    return { json: JSON.parse(args) as unknown };
  } catch {
    return { raw: args };
  }
}

/** Tool-call ids are random per call; they are keyed by order of appearance instead. */
function writeMessage(w: DigestWriter, m: CanonicalMessage, ids: Map<string, number>): void {
  const ordinal = (id: string): number => {
    let n = ids.get(id);
    if (n === undefined) ids.set(id, (n = ids.size));
    return n;
  };
  w.value({
    r: m.role,
    c: canonicalContent(m.content),
    n: m.name,
    e: m.isError === true ? true : undefined,
    t: m.toolCallId === undefined ? undefined : ordinal(m.toolCallId),
    tc: m.toolCalls?.map((tc) => ({ i: ordinal(tc.id), n: tc.name, a: canonicalArguments(tc.arguments) })),
  });
}

function answerChangingExtra(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extra)) if (!NEUTRAL_EXTRA.has(k)) out[k] = v;
  return out;
}

/**
 * The partition of a request: tenant + model group + operation + system
 * prompt + earlier conversation + an exact digest of the context before the
 * question of a long last user turn ({@link splitQuestion}) + answer-changing parameters (tools,
 * tool_choice, response_format, temperature class, top_p, max tokens, stop,
 * `extra` such as seed/n/logprobs). The protocol and `stream` are not part of
 * it: a hit replays in any protocol, streamed or not.
 *
 * @example
 * ```ts
 * const p = partitionOf({ tenant: 'acme', modelGroup: 'fast', req });
 * const key = exactKey(req, p);
 * ```
 */
export function partitionOf(input: PartitionInput): Partition {
  const { tenant, modelGroup, req } = input;
  const w = new DigestWriter();
  w.field('v', 2);
  w.field('tenant', tenant);
  w.field('group', modelGroup);
  w.field('op', req.operation);
  w.field('system', req.system ?? null);
  const q = questionIndex(req);
  const end = q >= 0 ? q : req.messages.length;
  const ids = new Map<string, number>();
  w.write('|history=');
  for (let i = 0; i < end; i++) writeMessage(w, req.messages[i]!, ids);
  // Everything of the last user turn the embedder will not see, exactly: two texts that differ
  // outside the embedded question never share a partition, whatever their vectors say.
  const text = q >= 0 ? turnText(req.messages[q]!.content) : undefined;
  const split = text === undefined ? undefined : splitQuestion(text, input.questionChars ?? DEFAULT_QUESTION_CHARS);
  w.field('context', split !== undefined && split.start > 0 ? digestOf(text!.slice(0, split.start), 32) : null);
  w.field('tools', req.tools?.map((t) => ({ n: t.name, d: t.description, p: t.parameters, s: t.strict })));
  w.field('toolChoice', req.toolChoice);
  w.field('format', req.responseFormat);
  w.field('temp', temperatureClass(req.temperature));
  w.field('topP', req.topP);
  w.field('max', req.maxTokens);
  w.field('stop', req.stop === undefined ? undefined : [...req.stop].sort());
  w.field('input', req.operation === 'embedding' ? req.input : undefined);
  w.field('extra', answerChangingExtra(req.extra));
  const id = `${partitionPrefix({ tenant, modelGroup })}${w.digest(32)}`;
  const plain = q >= 0 && typeof req.messages[q]!.content === 'string';
  return plain && split !== undefined && split.start > 0 ? { id, tenant, modelGroup, questionStart: split.start } : { id, tenant, modelGroup };
}

/**
 * The exact-cache key: the partition plus a digest of the last user turn's
 * full content (text and images; for a long turn split by
 * {@link splitQuestion}, the question, its context being in the partition).
 * Without a final user turn (e.g. after a tool result) the whole
 * conversation is already in the partition.
 */
export function exactKey(req: CanonicalRequest, partition: Partition): string {
  const q = questionIndex(req);
  const w = new DigestWriter();
  const m = q >= 0 ? req.messages[q]! : undefined;
  if (m && partition.questionStart !== undefined && typeof m.content === 'string') {
    // The context (text before questionStart) is in the partition id already: hash the question only.
    w.value({ r: m.role, q: m.content.slice(partition.questionStart), at: partition.questionStart, n: m.name });
  } else if (m) writeMessage(w, m, new Map());
  else w.write('-');
  return `${partition.id}:${w.digest(32)}`;
}

/** The text of a turn made only of text (parts joined); `undefined` when it carries an image. */
function turnText(content: string | ContentPart[]): string | undefined {
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) {
    if (part.type !== 'text') return undefined;
    text += part.text;
  }
  return text;
}

/** Where the question of a turn starts, and the question itself. */
export interface QuestionSplit {
  /** The text the semantic cache embeds and the verifier compares. */
  question: string;
  /** Offset of `question` in the turn: everything before it goes into the partition as an exact digest. */
  start: number;
}

const WORD = /[\p{L}\p{N}]/u;
const SENTENCE_END = /[.!?。！？](?=\s)/g;

/**
 * Splits the last user turn into the question the semantic cache embeds and
 * the context before it, which is matched exactly (a digest in the
 * partition). A turn of at most `maxChars` is all question. A longer one
 * (a RAG prompt: pages of context, then the question) is split at the start
 * of its last line that holds a word; when that line is itself longer than
 * `maxChars`, at its last sentence; failing that, the last
 * `maxChars` characters from a word boundary. So the vector stands for the
 * question actually asked, not for the context that swamps it, and no part
 * of the text is left unchecked.
 *
 * @example
 * splitQuestion(`${'Refund policy: ... '.repeat(200)}\nWhat is the refund window?`, 500);
 * // { question: 'What is the refund window?', start: 3800 }
 */
export function splitQuestion(text: string, maxChars = DEFAULT_QUESTION_CHARS): QuestionSplit {
  if (text.length <= maxChars) return { question: text, start: 0 };
  // The last line holding a word (trailing blank lines, fences and punctuation stay with it).
  let start = 0;
  for (let pos = text.length; ; ) {
    const nl = text.lastIndexOf('\n', pos - 1);
    if (WORD.test(text.slice(nl + 1, pos))) {
      start = nl + 1;
      break;
    }
    if (nl < 0) break;
    pos = nl;
  }
  if (text.length - start <= maxChars) return { question: text.slice(start), start };
  // That line is too long: its last sentence (that holds a word and fits).
  const floor = text.length - maxChars;
  let cut = -1;
  SENTENCE_END.lastIndex = Math.max(start, floor - 1);
  for (let m = SENTENCE_END.exec(text); m !== null; m = SENTENCE_END.exec(text)) {
    const after = m.index + 1;
    if (after >= floor && WORD.test(text.slice(after))) cut = after;
  }
  if (cut < 0) {
    // No sentence boundary: the last maxChars characters, from a word boundary.
    const ws = text.slice(floor).search(/\s/);
    cut = ws >= 0 && WORD.test(text.slice(floor + ws)) ? floor + ws : floor;
  }
  while (cut < text.length && /\s/.test(text[cut]!)) cut++;
  return { question: text.slice(cut), start: cut };
}

/**
 * The text the semantic cache embeds: the question of the last user turn
 * ({@link splitQuestion}) when the turn is text only. `undefined` when there
 * is no final user turn or it carries images (the same words about two
 * pictures are not the same question).
 */
export function questionText(req: CanonicalRequest, maxChars = DEFAULT_QUESTION_CHARS): string | undefined {
  const q = questionIndex(req);
  if (q < 0) return undefined;
  const text = turnText(req.messages[q]!.content);
  if (text === undefined || text.trim() === '') return undefined;
  const { question } = splitQuestion(text, maxChars);
  return question.trim() === '' ? undefined : question;
}
