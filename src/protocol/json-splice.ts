/**
 * Byte-preserving edits of a JSON request body: set top-level members (the
 * model name, a usage request) by splicing new value bytes into the client's
 * original bytes. Everything else — key order, whitespace, number spelling
 * (a 64-bit `seed` stays exactly the digits the client sent, where
 * `JSON.parse` + `JSON.stringify` would round it to a double), escapes —
 * arrives at the upstream unchanged.
 *
 * The scanner only walks the top level: nested values are skipped by
 * bracket counting with string awareness, so the cost is one pass over the
 * bytes and no allocation besides the output. The input is assumed to be
 * valid JSON (the core parsed it already); anything else throws.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** Index just past the string starting at `i` (which is a quote). */
function skipString(b: Uint8Array, i: number): number {
  i++;
  while (i < b.length) {
    const c = b[i]!;
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i + 1;
    else i++;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the value starting at `i`. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i]!;
      if (d === QUOTE) {
        i = skipString(b, i);
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new SyntaxError('unterminated container');
  }
  // Number or literal: up to the next delimiter.
  while (i < b.length) {
    const d = b[i]!;
    if (d === COMMA || d === RBRACE || d === RBRACKET || isSpace(d)) break;
    i++;
  }
  return i;
}

/** The key at `start..end` (quotes included), decoded only when it holds an escape. */
function keyName(b: Uint8Array, start: number, end: number): string {
  for (let i = start + 1; i < end - 1; i++) {
    if (b[i] === BACKSLASH) return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8')) as string;
  }
  return Buffer.from(b.buffer, b.byteOffset + start + 1, end - start - 2).toString('utf8');
}

/**
 * Returns `body` with each named top-level member set to the given JSON
 * value text: an existing member (every occurrence, should a key repeat)
 * gets its value bytes replaced in place; a missing one is inserted first in
 * the object. Returns the input itself when nothing changes.
 *
 * @example
 * setTopLevel(Buffer.from('{"seed": 18446744073709551615, "model":"auto"}'), { model: '"gpt-4o-mini"' })
 * // → '{"seed": 18446744073709551615, "model":"gpt-4o-mini"}'
 */
export function setTopLevel(body: Buffer, members: Readonly<Record<string, string>>): Buffer {
  const names = Object.keys(members);
  let i = skipSpace(body, 0);
  if (body[i] !== LBRACE) throw new SyntaxError('body is not a JSON object');
  const open = i;
  i = skipSpace(body, i + 1);
  const edits: { start: number; end: number; text: string }[] = [];
  const seen = new Set<string>();
  if (body[i] !== RBRACE) {
    for (;;) {
      if (body[i] !== QUOTE) throw new SyntaxError(`expected a key at byte ${i}`);
      const keyEnd = skipString(body, i);
      const key = names.length > 0 ? keyName(body, i, keyEnd) : '';
      i = skipSpace(body, keyEnd);
      if (body[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i}`);
      i = skipSpace(body, i + 1);
      const valueEnd = skipValue(body, i);
      const text = members[key];
      if (text !== undefined && Object.prototype.hasOwnProperty.call(members, key)) {
        seen.add(key);
        if (!bytesEqual(body, i, valueEnd, text)) edits.push({ start: i, end: valueEnd, text });
      }
      i = skipSpace(body, valueEnd);
      if (body[i] === COMMA) {
        i = skipSpace(body, i + 1);
        continue;
      }
      if (body[i] === RBRACE) break;
      throw new SyntaxError(`expected ',' or '}' at byte ${i}`);
    }
  }
  const missing = names.filter((n) => !seen.has(n));
  if (missing.length > 0) {
    const empty = body[skipSpace(body, open + 1)] === RBRACE;
    const inserted = missing.map((n) => `${JSON.stringify(n)}:${members[n]}`).join(',') + (empty ? '' : ',');
    edits.unshift({ start: open + 1, end: open + 1, text: inserted });
  }
  if (edits.length === 0) return body;
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of edits) {
    parts.push(body.subarray(at, e.start), Buffer.from(e.text, 'utf8'));
    at = e.end;
  }
  parts.push(body.subarray(at));
  return Buffer.concat(parts);
}

function bytesEqual(b: Uint8Array, start: number, end: number, text: string): boolean {
  if (end - start !== text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[start + k] !== text.charCodeAt(k)) return false;
  return true;
}
