/**
 * The privacy signal: which kinds of sensitive data a request carries, so the
 * policy can keep it on a local tier. Each detector pairs a pattern with a
 * check (Luhn, mod-97, SSA ranges, entropy, context) because false positives
 * on dates, prices, versions and order numbers would pin ordinary traffic to
 * the local model.
 */
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { CueFilter } from './prefilter.js';
import { ibanPrefixValid, luhnValid, shannonEntropy, ssnValid } from './privacy-checks.js';

/** A kind of sensitive data. */
export type SensitiveKind = 'email' | 'phone' | 'credit-card' | 'iban' | 'us-ssn' | 'uk-nino' | 'api-key' | 'private-key';

/** Every kind, in reporting order. */
export const SENSITIVE_KINDS: readonly SensitiveKind[] = ['email', 'phone', 'credit-card', 'iban', 'us-ssn', 'uk-nino', 'api-key', 'private-key'];

/** Where one finding is in the scanned text. */
export interface SensitiveSpan {
  kind: SensitiveKind;
  /** The detector that fired, e.g. `aws-access-key-id`, `nanp`, `jwt`. */
  rule: string;
  start: number;
  end: number;
}

/** What `detectSensitive` found. */
export interface SensitiveResult {
  /** Distinct kinds found, in {@link SENSITIVE_KINDS} order. */
  kinds: SensitiveKind[];
  /** Findings, when asked for with `{ spans: true }`. */
  spans?: SensitiveSpan[];
}

interface Detector {
  kind: SensitiveKind;
  rule: string;
  re: RegExp;
  /** Cheap substring every match contains; the regex is skipped when absent. */
  needs?: string;
  /** Needs at least one digit in the text. */
  digits?: boolean;
  check?: (m: RegExpExecArray) => boolean;
  /** Capture group holding the sensitive part (the span); default the whole match. */
  group?: number;
}

const hasDigitAndLetter = (s: string) => /\d/.test(s) && /[A-Za-z]/.test(s);
const PLACEHOLDER = /^(?:x+|\*+|<[^>]*>|\$\{[^}]*\}|your[_-]|example|placeholder|redacted|changeme|process\.env|os\.environ)/i;

const DETECTORS: readonly Detector[] = [
  {
    kind: 'private-key',
    rule: 'pem-private-key',
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g,
    needs: '-----BEGIN',
  },
  { kind: 'api-key', rule: 'anthropic-key', re: /\bsk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_-]{20,}/g, needs: 'sk-ant-' },
  {
    kind: 'api-key',
    rule: 'openai-key',
    re: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g,
    needs: 'sk-',
    check: (m) => hasDigitAndLetter(m[0].slice(3)) && shannonEntropy(m[0]) >= 3.5,
  },
  { kind: 'api-key', rule: 'stripe-key', re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b/g, needs: '_' },
  { kind: 'api-key', rule: 'aws-access-key-id', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, digits: true },
  { kind: 'api-key', rule: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g, needs: '_' },
  { kind: 'api-key', rule: 'slack-token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, needs: 'xox' },
  { kind: 'api-key', rule: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g, needs: 'AIza' },
  { kind: 'api-key', rule: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, needs: 'eyJ' },
  {
    kind: 'api-key',
    rule: 'assigned-secret',
    re: /\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|(?:auth|access|bearer|refresh)[_-]?token|client[_-]?secret|password|passwd|private[_-]?key)["']?\s*[:=]\s*["']?([A-Za-z0-9_\-./+=]{16,200})/gi,
    check: (m) => {
      const v = m[1]!;
      return !PLACEHOLDER.test(v) && hasDigitAndLetter(v) && shannonEntropy(v) >= 3.5;
    },
    group: 1,
  },
  {
    kind: 'api-key',
    rule: 'bearer-token',
    re: /\bBearer\s+([A-Za-z0-9_\-.+/=]{24,})/g,
    needs: 'Bearer',
    check: (m) => hasDigitAndLetter(m[1]!) && shannonEntropy(m[1]!) >= 3.5,
    group: 1,
  },
  {
    kind: 'email',
    rule: 'email',
    re: /\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b/g,
    needs: '@',
  },
  {
    kind: 'credit-card',
    rule: 'card-number',
    // 13–19 digits, bare or in groups of 2–7 split by any short run of separators: "4111 1111 1111 1111",
    // "4111-1111-1111-1111", "3782 822463 10005", "4111.1111.1111.1111", "4111 / 1111 / …", mixed.
    re: /(?<![\d.,-])(?:\d{13,19}|\d{2,7}(?:[ \t.\-_/\\:|,;*~'·•]{1,3}\d{2,7}){1,8})(?!\d|[.,]\d)/g,
    digits: true,
    check: (m) => {
      if (m[0].length < 13) return false; // most matches: a short number in prose
      const d = m[0].replace(/\D/g, '');
      return d.length >= 13 && d.length <= 19 && /^(?:4|5[1-5]|2[2-7]|3[0478]|6[025]|5[06-9])/.test(d) && !/^(\d)\1+$/.test(d) && luhnValid(d);
    },
  },
  {
    kind: 'iban',
    rule: 'iban',
    re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
    digits: true,
    check: (m) => ibanPrefixValid(m[0]),
  },
  {
    kind: 'us-ssn',
    rule: 'ssn',
    re: /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])|\b(?:SSN|social security(?: number)?)\s*(?:#|no\.?|number)?\s*[:=]?\s*(\d{3})[ -]?(\d{2})[ -]?(\d{4})\b/gi,
    digits: true,
    check: (m) => (m[1] !== undefined ? ssnValid(m[1], m[2]!, m[3]!) : ssnValid(m[4]!, m[5]!, m[6]!)),
  },
  {
    kind: 'uk-nino',
    rule: 'nino',
    re: /\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
    digits: true,
  },
  {
    kind: 'phone',
    rule: 'international',
    // E.164: "+" and 8–15 digits, bare or in groups that each start with a separator or "(".
    re: /(?<![\w+])\+(?:[1-9]\d{7,14}|[1-9]\d{0,2}(?:[ .-]?\(\d{1,5}\)|[ .-]\d{1,10}){2,6})(?![\d-]|[.,]\d)/g,
    needs: '+',
    check: (m) => {
      const n = m[0].replace(/\D/g, '').length;
      return n >= 8 && n <= 15;
    },
  },
  {
    kind: 'phone',
    rule: 'nanp',
    // (NXX) NXX-XXXX, or NXX-NXX-XXXX / NXX.NXX.XXXX with one consistent separator, optional leading 1.
    // Space-separated or bare digits count only with a label (below): "250 300 1000" is usually not a phone.
    re: /(?<![\w#.+-])(?:1[ .-]?)?(?:\([2-9][0-8]\d\)\s?[2-9]\d{2}[ .-]?\d{4}|[2-9][0-8]\d([.-])[2-9]\d{2}\1\d{4})(?![\w-]|[.,]\d)/g,
    digits: true,
  },
  {
    kind: 'phone',
    rule: 'labelled-phone',
    re: /\b(?:phone|tel|telephone|mobile|cell|call me at|whatsapp|fax)\b\.?\s*(?:#|no\.?|number)?\s*[:=]?\s*(\(?\d[\d ().-]{6,18}\d)/gi,
    digits: true,
    check: (m) => {
      const n = m[1]!.replace(/\D/g, '').length;
      return n >= 7 && n <= 15;
    },
    group: 1,
  },
];

/** One pass over a text rules out the detectors that cannot match in it ({@link CueFilter}). */
/** @internal Exported for the equivalence tests. */
export const PRIVACY_FILTER = new CueFilter(DETECTORS.map((d) => d.re));
const FILTER = PRIVACY_FILTER;

/** Options of `detectSensitive`. */
export interface DetectOptions {
  /** Also return where each finding is. */
  spans?: boolean;
}

const DIGIT = /\d/;

/**
 * Finds sensitive data in a text.
 *
 * @example
 * detectSensitive('mail me at ann@example.org').kinds; // ['email']
 * detectSensitive('card 4111 1111 1111 1111', { spans: true }).spans; // [{ kind: 'credit-card', start: 5, end: 24, ... }]
 */
export function detectSensitive(text: string, opts: DetectOptions = {}): SensitiveResult {
  const found = new Set<SensitiveKind>();
  if (!opts.spans) {
    scan(normalizeForScan(text).text, found, undefined);
    return { kinds: ordered(found) };
  }
  const n = normalizeForScan(text, true);
  const spans: SensitiveSpan[] = [];
  scan(n.text, found, spans);
  if (n.map) {
    // Spans found in the normalised text, mapped back to the caller's text.
    const map = n.map;
    for (const sp of spans) {
      sp.start = map[sp.start]!;
      sp.end = map[sp.end]!;
    }
  }
  return { kinds: ordered(found), spans: spans.sort((a, b) => a.start - b.start) };
}

const NON_ASCII = /[^\x00-\x7f]/;
const FORMAT_CHARS = /\p{Cf}/gu;
const FORMAT_CHAR = /^\p{Cf}$/u;

/**
 * NFKC with format characters (zero-width spaces, joiners, bidi marks)
 * removed: full-width digits become ASCII digits and `＠` becomes `@`, so
 * look-alike text is scanned as what it reads as. ASCII text is returned as
 * is. With `withMap`, `map[i]` is the index in `text` of normalised index
 * `i` (and of its end); no map is returned when offsets did not move.
 */
export function normalizeForScan(text: string, withMap = false): { text: string; map?: Int32Array } {
  if (!NON_ASCII.test(text)) return { text };
  // One native pass (about 10x faster than code point by code point on long non-Latin text).
  const whole = text.normalize('NFKC');
  const hasFormat = FORMAT_CHARS.test(whole);
  FORMAT_CHARS.lastIndex = 0;
  const out = hasFormat ? whole.replace(FORMAT_CHARS, '') : whole;
  if (!withMap || (!hasFormat && out.length === text.length && !FORMAT_CHARS.test(text))) return { text: out };
  FORMAT_CHARS.lastIndex = 0;
  // Offsets moved: normalise code point by code point to know where each character came from.
  let mapped = '';
  const idx: number[] = [];
  let i = 0;
  for (const ch of text) {
    const n = ch.charCodeAt(0) < 0x80 ? ch : FORMAT_CHAR.test(ch) ? '' : ch.normalize('NFKC');
    for (let k = 0; k < n.length; k++) idx.push(i);
    mapped += n;
    i += ch.length;
  }
  idx.push(text.length);
  return { text: mapped, map: Int32Array.from(idx) };
}

/**
 * Scans everything of a request the upstream will see and returns the
 * sensitive kinds found: the system prompt; every message's text parts
 * (each part on its own), image URLs that are not inline data, names and
 * tool-call arguments; tool names, descriptions and parameter schemas; the
 * `response_format` schema; stop sequences; `user`; every string of
 * `extra` (`metadata` and unknown fields that are forwarded); embedding
 * inputs. Text is NFKC-normalised first ({@link normalizeForScan}).
 *
 * @example
 * privacySignal(req); // ['email', 'phone']
 */
export function privacySignal(req: CanonicalRequest): SensitiveKind[] {
  const found = new Set<SensitiveKind>();
  const see = (t: string | undefined): void => {
    if (t !== undefined && t.length >= 6) scan(normalizeForScan(t).text, found, undefined);
  };
  // The many short strings (names, schemas, metadata) are scanned as one text: one pass of the detectors, not one per string.
  const small: string[] = [];
  const note = (t: string | undefined): void => {
    if (t !== undefined && t !== '') small.push(t);
  };
  see(req.system);
  for (const m of req.messages) {
    if (typeof m.content === 'string') see(m.content);
    else for (const p of m.content) see(p.type === 'text' ? p.text : p.url.startsWith('data:') ? undefined : p.url);
    note(m.name);
    if (m.toolCalls) for (const c of m.toolCalls) (note(c.name), see(c.arguments));
  }
  if (req.tools) {
    for (const t of req.tools) {
      note(t.name);
      note(t.description);
      collectStrings(t.parameters, small);
    }
  }
  if (req.responseFormat?.type === 'json_schema') {
    note(req.responseFormat.name);
    collectStrings(req.responseFormat.schema, small);
  }
  if (req.stop) for (const s of req.stop) note(s);
  note(req.user);
  collectStrings(req.extra, small);
  if (small.length > 0) see(small.join('\n'));
  // Embedding inputs leave the machine too.
  if (req.input) for (const s of req.input) see(s);
  return ordered(found);
}

/** Appends every string of a JSON value (object keys included) to `out`, depth-bounded. */
function collectStrings(v: unknown, out: string[], depth = 0): void {
  if (typeof v === 'string') {
    if (v !== '') out.push(v);
    return;
  }
  if (v === null || typeof v !== 'object' || depth > 32) return;
  if (Array.isArray(v)) {
    for (const x of v) collectStrings(x, out, depth + 1);
    return;
  }
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out.push(k);
    collectStrings(x, out, depth + 1);
  }
}

function scan(text: string, found: Set<SensitiveKind>, spans: SensitiveSpan[] | undefined): void {
  if (text.length < 6) return;
  const digits = DIGIT.test(text);
  const may = FILTER.scan(text);
  for (let k = 0; k < DETECTORS.length; k++) {
    const d = DETECTORS[k]!;
    if ((may & (1 << k)) === 0) continue;
    if (!spans && found.has(d.kind)) continue;
    if (d.digits && !digits) continue;
    if (d.needs !== undefined && !text.includes(d.needs)) continue;
    d.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = d.re.exec(text)) !== null) {
      if (d.check && !d.check(m)) continue;
      found.add(d.kind);
      if (!spans) break;
      const part = d.group !== undefined ? m[d.group]! : m[0];
      const start = m.index + (d.group !== undefined ? m[0].lastIndexOf(part) : 0);
      const end = start + part.length;
      if (!spans.some((s) => s.start < end && start < s.end)) spans.push({ kind: d.kind, rule: d.rule, start, end });
    }
    d.re.lastIndex = 0;
  }
}

function ordered(found: Set<SensitiveKind>): SensitiveKind[] {
  return found.size === 0 ? [] : SENSITIVE_KINDS.filter((k) => found.has(k));
}
