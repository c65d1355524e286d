/**
 * Splicing a continuation onto an answer that failed mid-stream, so the
 * client sees one coherent answer: no text twice, none missing.
 *
 * - `prefill`: the candidate was sent the delivered text as a final assistant
 *   message. It either continues it (its text is appended) or restarts from
 *   the beginning (its text begins with the delivered text, whitespace
 *   normalised, and that overlap is dropped). One that starts like the
 *   delivered text and then departs from it rewrote the answer: not spliceable.
 * - `fresh`: the candidate generated from the original request. Its text is
 *   spliced only if it begins with the delivered text; only the rest is sent.
 */

/** How a continuation's text relates to the delivered text, so far. */
export type PrefixMatch =
  /** The continuation begins with the delivered text; the remainder starts at `rest`. */
  | { kind: 'match'; rest: number }
  /** The continuation agrees with the delivered text as far as it goes. */
  | { kind: 'need-more' }
  /** They differ at `at` (an index into the delivered text). */
  | { kind: 'diverged'; at: number };

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 12 || c === 11 || c === 0xa0;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Does `text` begin with `delivered`, whitespace normalised (leading
 * whitespace ignored, any whitespace run equal to any other)?
 *
 * @example
 * matchPrefix('Hello  world', 'Hello world, and more'); // { kind: 'match', rest: 11 }
 * matchPrefix('Hello world', 'Hello');                  // { kind: 'need-more' }
 * matchPrefix('Hello world', ' and more');              // { kind: 'diverged', at: 0 }
 */
export function matchPrefix(delivered: string, text: string): PrefixMatch {
  let i = skipWs(delivered, 0);
  let j = skipWs(text, 0);
  while (i < delivered.length) {
    if (j >= text.length) return { kind: 'need-more' };
    const a = isWs(delivered.charCodeAt(i));
    const b = isWs(text.charCodeAt(j));
    if (a && b) {
      i = skipWs(delivered, i);
      j = skipWs(text, j);
      // The delivered text ended in whitespace: the continuation's run must be complete to know where the rest begins.
      if (i >= delivered.length && j >= text.length) return { kind: 'need-more' };
      continue;
    }
    if (a || b || delivered.charCodeAt(i) !== text.charCodeAt(j)) return { kind: 'diverged', at: i };
    i++;
    j++;
  }
  return { kind: 'match', rest: j };
}

/** Thrown when a continuation cannot be spliced onto the delivered text. */
export class SpliceError extends Error {
  override readonly name = 'SpliceError';
}

/** A restart that agrees with the delivered text this far (characters) and then departs from it is a rewrite. */
const REWRITE_AFTER = 12;

/**
 * Filters a continuation's text so that only what the client has not seen
 * goes through.
 *
 * @example
 * const s = new Splicer('The answer is', 'fresh', false);
 * s.push('The answer'); // ''  (still deciding)
 * s.push(' is 42.');    // ' 42.'
 * s.end();              // ''
 */
export class Splicer {
  private buf = '';
  private deciding = true;
  /** The continuation began with the delivered text (a restart whose overlap was dropped). */
  restarted = false;

  /**
   * @param delivered the text the client already has
   * @param mode how the continuation was asked for
   * @param trimmed the prefill dropped trailing whitespace of `delivered` (a
   *   continuation's leading whitespace is then already on the client)
   */
  constructor(
    private readonly delivered: string,
    private readonly mode: 'prefill' | 'fresh',
    private readonly trimmed: boolean,
  ) {}

  /** Feeds continuation text; returns what to send now. Throws SpliceError when it cannot be spliced. */
  push(text: string): string {
    if (!this.deciding) return text;
    this.buf += text;
    return this.decide(false);
  }

  /** The continuation finished; returns what is left to send. Throws SpliceError when it cannot be spliced. */
  end(): string {
    if (!this.deciding) return '';
    return this.decide(true);
  }

  private decide(final: boolean): string {
    const m = matchPrefix(this.delivered, this.buf);
    if (m.kind === 'need-more') {
      if (!final) return '';
      if (this.mode === 'prefill' && this.buf.trim() === '') return this.pass('');
      throw new SpliceError('the continuation repeats part of the delivered text and stops');
    }
    if (m.kind === 'match') {
      this.restarted = this.mode === 'prefill';
      return this.pass(this.buf.slice(m.rest));
    }
    if (this.mode === 'fresh') throw new SpliceError('the fresh generation does not begin with the text already delivered');
    const started = skipWs(this.delivered, 0);
    if (m.at - started >= Math.min(REWRITE_AFTER, this.delivered.length - started)) {
      throw new SpliceError('the continuation rewrote the text already delivered');
    }
    // A true continuation of the prefill.
    return this.pass(this.trimmed ? this.buf.replace(/^\s+/, '') : this.buf);
  }

  private pass(out: string): string {
    this.deciding = false;
    this.buf = '';
    return out;
  }
}
