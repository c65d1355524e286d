/**
 * A one-pass prefilter for the keyword/cue regexes of the signals. Each
 * regex's source is read once at module load to derive what any match must
 * contain: a whole word token (`\b` + literal + `\b`), a token beginning, or
 * a character (`=>`, `\frac`, non-ASCII). One pass over a text then yields
 * a bit mask of the regexes that could match; the others are skipped (they
 * could not have matched), the rest run unchanged.
 *
 * Soundness rests on non-unicode `\w`/`\b` (`[A-Za-z0-9_]`) and on
 * non-unicode case folding never mapping a non-ASCII character to an ASCII
 * one (`/k/i` does not match the Kelvin sign, `/s/i` not `ſ`): tokens are
 * maximal runs of ASCII word characters, lowercased, and any non-ASCII
 * character counts as one requirement. Anything the derivation does not
 * understand makes the regex run always.
 */

/** What any match of a regex contains, derived from its source: one of these at least. */
export interface Requirements {
  /** The regex may match anywhere: never skipped. */
  always: boolean;
  /** A word token beginning with one of these (lowercase `\w` characters). */
  prefixes: string[];
  /** A word token that is one of these (lowercase). */
  words: string[];
  /** One of these ASCII characters (codes). */
  chars: number[];
  /** A non-ASCII character. */
  nonAscii: boolean;
}

// ---- a parser for the regex subset the signals use ----

/** A set of characters: ASCII codes, whether it holds non-ASCII characters, or anything. */
interface CharSet {
  ascii: Set<number>;
  nonAscii: boolean;
  any: boolean;
  /** Some of its non-ASCII characters (for generating test input). */
  samples?: number[];
}
export type Atom =
  | { t: 'chars'; set: CharSet }
  | { t: 'group'; alts: Item[][] }
  | { t: 'assert'; boundary: boolean; lineStart?: boolean }
  | { t: 'backref' };
/** An atom with its repetition bounds. */
export interface Item {
  atom: Atom;
  min: number;
  max: number;
}

class Unsupported extends Error {}

const range = (lo: number, hi: number, out: Set<number>): void => {
  for (let c = lo; c <= Math.min(hi, 127); c++) out.add(c);
};
const DIGITS = (() => {
  const s = new Set<number>();
  range(48, 57, s);
  return s;
})();
const WORDS = (() => {
  const s = new Set<number>();
  range(48, 57, s);
  range(65, 90, s);
  range(97, 122, s);
  s.add(95);
  return s;
})();
const SPACES = new Set([9, 10, 11, 12, 13, 32]);

/** Parses a regex source (non-unicode syntax) into alternatives of items. */
export function parseRegex(src: string): Item[][] {
  let i = 0;
  const peek = () => src[i];
  const single = (c: number): CharSet => ({ ascii: c < 128 ? new Set([c]) : new Set(), nonAscii: c >= 128, any: false, samples: c >= 128 ? [c] : [] });
  const escapeSet = (c: string): CharSet | undefined => {
    if (c === 'd') return { ascii: new Set(DIGITS), nonAscii: false, any: false };
    if (c === 'w') return { ascii: new Set(WORDS), nonAscii: false, any: false };
    if (c === 's') return { ascii: new Set(SPACES), nonAscii: true, any: false };
    if (c === 'D' || c === 'W' || c === 'S') return { ascii: new Set(), nonAscii: true, any: true };
    return undefined;
  };
  /** Reads the character of an escape (after the backslash) that stands for one character. */
  const escapeChar = (): number => {
    const c = src[i++]!;
    if (c === 'n') return 10;
    if (c === 't') return 9;
    if (c === 'r') return 13;
    if (c === 'f') return 12;
    if (c === 'v') return 11;
    if (c === '0' && !/[0-9]/.test(src[i] ?? '')) return 0;
    if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(src.slice(i, i + 2))) return ((i += 2), parseInt(src.slice(i - 2, i), 16));
    if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(i, i + 4))) return ((i += 4), parseInt(src.slice(i - 4, i), 16));
    if (/[A-Za-z0-9]/.test(c)) throw new Unsupported(`escape \\${c}`);
    return c.charCodeAt(0);
  };
  const parseClass = (): CharSet => {
    // After '['.
    const set: CharSet = { ascii: new Set(), nonAscii: false, any: false, samples: [] };
    let negated = false;
    if (peek() === '^') ((negated = true), i++);
    while (i < src.length && src[i] !== ']') {
      let lo: number;
      if (src[i] === '\\') {
        i++;
        const s = escapeSet(src[i]!);
        if (s) {
          i++;
          s.ascii.forEach((c) => set.ascii.add(c));
          set.nonAscii ||= s.nonAscii;
          set.any ||= s.any;
          continue;
        }
        if (src[i] === 'b') ((i++), (lo = 8));
        else lo = escapeChar();
      } else lo = src.charCodeAt(i++);
      if (src[i] === '-' && src[i + 1] !== ']' && i + 1 < src.length) {
        i++;
        let hi: number;
        if (src[i] === '\\') {
          i++;
          if (escapeSet(src[i]!)) throw new Unsupported('class range to a class escape');
          hi = src[i] === 'b' ? ((i++), 8) : escapeChar();
        } else hi = src.charCodeAt(i++);
        if (hi < lo) throw new Unsupported('reversed range');
        range(lo, hi, set.ascii);
        if (hi >= 128) ((set.nonAscii = true), set.samples!.push(Math.max(lo, 128), hi));
      } else if (lo < 128) set.ascii.add(lo);
      else ((set.nonAscii = true), set.samples!.push(lo));
    }
    if (src[i] !== ']') throw new Unsupported('unterminated class');
    i++;
    if (negated) return { ascii: new Set(), nonAscii: true, any: true };
    return set;
  };
  const parseAlts = (): Item[][] => {
    const alts: Item[][] = [parseSeq()];
    while (peek() === '|') {
      i++;
      alts.push(parseSeq());
    }
    return alts;
  };
  const parseSeq = (): Item[] => {
    const items: Item[] = [];
    while (i < src.length && peek() !== '|' && peek() !== ')') {
      const atom = parseAtom();
      let min = 1;
      let max = 1;
      const q = peek();
      if (q === '?') ((min = 0), (max = 1), i++);
      else if (q === '*') ((min = 0), (max = Infinity), i++);
      else if (q === '+') ((min = 1), (max = Infinity), i++);
      else if (q === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (m) {
          min = Number(m[1]);
          max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
          i += m[0].length;
        }
      }
      if ((min !== 1 || max !== 1) && peek() === '?') i++; // lazy
      items.push({ atom, min, max });
    }
    return items;
  };
  const parseAtom = (): Atom => {
    const c = src[i++]!;
    if (c === '(') {
      let look = false;
      if (src.startsWith('?:', i)) i += 2;
      else if (src.startsWith('?=', i) || src.startsWith('?!', i)) ((i += 2), (look = true));
      else if (src.startsWith('?<=', i) || src.startsWith('?<!', i)) ((i += 3), (look = true));
      else if (src[i] === '?') throw new Unsupported('group kind');
      const alts = parseAlts();
      if (src[i] !== ')') throw new Unsupported('unterminated group');
      i++;
      return look ? { t: 'assert', boundary: false } : { t: 'group', alts };
    }
    if (c === '[') return { t: 'chars', set: parseClass() };
    if (c === '.') return { t: 'chars', set: { ascii: new Set(), nonAscii: true, any: true } };
    if (c === '^') return { t: 'assert', boundary: false, lineStart: true };
    if (c === '$') return { t: 'assert', boundary: false };
    if (c === '\\') {
      const e = src[i]!;
      if (e === 'b' || e === 'B') return (i++, { t: 'assert', boundary: e === 'b' });
      const s = escapeSet(e);
      if (s) return (i++, { t: 'chars', set: s });
      if (/[1-9]/.test(e) || e === 'k') throw new Unsupported('back reference');
      return { t: 'chars', set: single(escapeChar()) };
    }
    if (c === ')' || c === '|') throw new Unsupported('stray');
    // A surrogate pair stands for a non-ASCII character either way.
    return { t: 'chars', set: single(c.charCodeAt(0)) };
  };
  const alts = parseAlts();
  if (i !== src.length) throw new Unsupported('trailing input');
  return alts;
}

// ---- the derivation ----

interface Frame {
  seq: Item[];
  i: number;
  next: Frame | null;
}
/** Ends a path where it stands (after a repeat the walk does not follow). */
const STOP: Frame = { seq: [], i: 0, next: null };

const isWord = (c: number) => c < 128 && WORDS.has(c);
const lower = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);
/** Longest token prefix the derivation follows. */
const MAX_PREFIX = 24;
/** Characters too common in prose to be worth requiring (anything else non-word is rare). */
const COMMON = new Set([...' \t\n\r\v\f,.-:;()\'"/!?'].map((c) => c.charCodeAt(0)));

/** Where a path of the pattern stands. */
const enum Mode {
  /** Nothing consumed yet. */
  Start,
  /** In a token whose start is known: `acc` is its beginning. */
  Token,
  /** Just after a `\b` that ended a token: a word character cannot follow. */
  Ended,
  /** In a run of word characters whose start (or content) is not known. */
  Unknown,
  /** After a non-word character: a word character starts a token. */
  Between,
}

/** One requirement a path's match fulfils, with how rare it is in prose (higher: rarer, better). */
interface Candidate {
  kind: 'word' | 'prefix' | 'char' | 'non-ascii';
  value: string;
  score: number;
}
/** The candidates met along a path so far (a shared list, newest first). */
type Seen = { c: Candidate; next: Seen } | null;

const add = (seen: Seen, c: Candidate): Seen => ({ c, next: seen });
const wordCandidate = (acc: string): Candidate => ({ kind: 'word', value: acc, score: 2 * acc.length + 1 });
const prefixCandidate = (acc: string): Candidate => ({ kind: 'prefix', value: acc, score: 2 * acc.length });
const charCandidate = (c: number): Candidate =>
  c >= 128 ? { kind: 'non-ascii', value: '', score: 3 } : { kind: 'char', value: String.fromCharCode(c), score: COMMON.has(c) ? 0.5 : 5 };
const keyOf = (c: Candidate) => `${c.kind}:${c.value}`;
/**
 * Once a pattern has many paths, one that met a candidate of this score (a
 * word of 3+ letters; any, past thousands) is not followed further: to bound
 * the walk, that candidate is requirement enough.
 */
const enough = (seen: Seen, score: number): boolean => {
  for (let s = seen; s !== null; s = s.next) if (s.c.score >= score) return true;
  return false;
};

/**
 * What any match of `re` must contain, derived from its source: for each
 * path through the pattern, one token (a whole word, or a token beginning)
 * or character that every match along that path has, the rarest found.
 * Supports the non-unicode syntax the signals use; anything else (the
 * `u`/`v`/`y` flags, back references, named groups, `\c`) gives `always`.
 *
 * @example
 * regexRequirements(/\b(?:solve|prove)\b|=>/g); // { words: ['prove', 'solve'], chars: [62], ... }
 */
export function regexRequirements(re: RegExp): Requirements {
  const always: Requirements = { always: true, prefixes: [], words: [], chars: [], nonAscii: false };
  if (/[uvy]/.test(re.flags)) return always;
  let alts: Item[][];
  try {
    alts = parseRegex(re.source);
  } catch (e) {
    if (e instanceof Unsupported) return always;
    throw e;
  }
  let budget = 200_000;
  class Always extends Error {}

  /** Candidate keys met along each path walked to its end. */
  const paths: string[][] = [];
  const candidates = new Map<string, Candidate>();
  /** A path ends (or the walk stops following it): what it met are its candidate requirements. */
  const finish = (mode: Mode, acc: string, best: Seen): void => {
    if (mode === Mode.Token) best = add(best, prefixCandidate(acc)); // the token may go on
    if (best === null) throw new Always(); // e.g. a match that may consume nothing
    const keys: string[] = [];
    for (let s: Seen = best; s !== null; s = s.next) {
      const k = keyOf(s.c);
      candidates.set(k, s.c);
      keys.push(k);
    }
    paths.push(keys.reverse());
  };
  /** Consumes one character `c` (a code, ≥ 128 for any non-ASCII one) and walks on from `f`. */
  const consume = (c: number, f: Frame | null, mode: Mode, boundary: boolean, acc: string, best: Seen): void => {
    if (isWord(c)) {
      const ch = String.fromCharCode(lower(c));
      if (mode === Mode.Token) {
        if (acc.length === MAX_PREFIX) return step(f, Mode.Unknown, false, '', add(best, prefixCandidate(acc)));
        return step(f, Mode.Token, false, acc + ch, best);
      }
      if (mode === Mode.Between || (mode === Mode.Start && boundary)) return step(f, Mode.Token, false, ch, best);
      if (mode === Mode.Ended) return; // a word character right after a \b that ended a word: this path never matches
      return step(f, Mode.Unknown, false, '', best); // Start without a \b, or Unknown
    }
    if (mode === Mode.Token) best = add(best, wordCandidate(acc));
    return step(f, Mode.Between, false, '', add(best, charCandidate(c)));
  };
  /** Walks one path of the pattern from frame `f`. */
  const step = (f: Frame | null, mode: Mode, boundary: boolean, acc: string, best: Seen): void => {
    if (--budget < 0) throw new Always();
    if (f === null || f === STOP || (paths.length >= 256 && enough(best, paths.length >= 2_048 ? 0 : 7))) return finish(mode, acc, best);
    if (f.i === f.seq.length) return step(f.next, mode, boundary, acc, best);
    const item = f.seq[f.i]!;
    const next: Frame = { seq: f.seq, i: f.i + 1, next: f.next };
    const { atom } = item;
    if (atom.t === 'assert') {
      const b = atom.boundary && item.min >= 1;
      // Before the first character a `\b` or `^` (line terminators are not word characters) makes a word character a token start.
      if (mode === Mode.Start) return step(next, mode, boundary || b || (atom.lineStart === true && item.min >= 1), acc, best);
      if (mode !== Mode.Token) return step(next, mode, false, acc, best);
      // After a word character, a \b ends the token; another assertion leaves it open.
      if (b) return step(next, Mode.Ended, false, '', add(best, wordCandidate(acc)));
      return step(next, Mode.Unknown, false, '', add(best, prefixCandidate(acc)));
    }
    if (atom.t === 'backref') return finish(mode, acc, best);
    if (item.min === 0) step(next, mode, boundary, acc, best);
    if (item.max === 0) return;
    if (atom.t === 'group') {
      // A repeated group: one pass through it, then the path stops.
      const after = item.max === 1 ? next : STOP;
      for (const alt of atom.alts) step({ seq: alt, i: 0, next: after }, mode, boundary, acc, best);
      return;
    }
    const set = atom.set;
    if (set.any) return finish(mode, acc, best);
    if (item.max === 1) {
      // One path per member, except where members lead to the same place or are too many to follow.
      const wordy = new Set<number>();
      const other: number[] = [];
      for (const c of set.ascii) if (isWord(c)) wordy.add(lower(c));
      else other.push(c);
      if (set.nonAscii) other.push(128);
      if (other.length <= 3) for (const c of other) consume(c, next, mode, boundary, acc, best);
      else step(next, Mode.Between, false, '', mode === Mode.Token ? add(best, wordCandidate(acc)) : best); // some non-word character
      if (wordy.size === 0) return;
      const starts = mode === Mode.Token || mode === Mode.Between || (mode === Mode.Start && boundary);
      if (!starts) return consume(wordy.values().next().value!, next, mode, boundary, acc, best); // all lead to Unknown (or nowhere)
      if (wordy.size <= 8) for (const c of wordy) consume(c, next, mode, boundary, acc, best);
      else step(next, Mode.Unknown, false, '', mode === Mode.Token ? add(best, prefixCandidate(acc)) : best); // some word character
      return;
    }
    // A repeated set: all word characters extend one run, all non-word ones separate tokens; a mix stops the path.
    let wordy = 0;
    for (const c of set.ascii) if (isWord(c)) wordy++;
    if (wordy === set.ascii.size && !set.nonAscii && wordy > 0) {
      if (mode === Mode.Token) best = add(best, prefixCandidate(acc));
      return step(next, Mode.Unknown, false, '', best); // a run whose content is not followed
    }
    if (wordy === 0 && (set.ascii.size > 0 || set.nonAscii)) {
      if (mode === Mode.Token) best = add(best, wordCandidate(acc));
      return step(next, Mode.Between, false, '', best);
    }
    return finish(mode, acc, best);
  };
  try {
    for (const alt of alts) step({ seq: alt, i: 0, next: null }, Mode.Start, false, '', null);
  } catch (e) {
    if (e instanceof Always) return always;
    throw e;
  }
  // Each path requires its rarest candidate (the first of equals); then a requirement every path of
  // which is also covered by the others is dropped (rarest last): fewer requirements, never more matches.
  const chosen = new Set<string>();
  for (const keys of paths) {
    let top = keys[0]!;
    for (const k of keys) if (candidates.get(k)!.score > candidates.get(top)!.score) top = k;
    chosen.add(top);
  }
  // The chosen requirements that admit each path (a token prefix also admits every word and longer
  // prefix it begins), counted per path, so dropping one is checked against its own paths only.
  const admitted = new Map<string, number[]>();
  for (const k of chosen) admitted.set(k, []);
  const counts = new Int32Array(paths.length);
  paths.forEach((keys, p) => {
    const by = new Set<string>();
    for (const x of keys) {
      if (chosen.has(x)) by.add(x);
      const c = candidates.get(x)!;
      if (c.kind !== 'word' && c.kind !== 'prefix') continue;
      for (let j = 1; j <= c.value.length; j++) {
        const k = `prefix:${c.value.slice(0, j)}`;
        if (chosen.has(k)) by.add(k);
      }
    }
    for (const k of by) admitted.get(k)!.push(p);
    counts[p] = by.size;
  });
  for (const k of [...chosen].sort((x, y) => candidates.get(x)!.score - candidates.get(y)!.score)) {
    const mine = admitted.get(k)!;
    if (mine.some((p) => counts[p] === 1)) continue;
    for (const p of mine) counts[p]!--;
    chosen.delete(k);
  }
  const prefixes: string[] = [];
  const words: string[] = [];
  const chars = new Set<number>();
  let nonAscii = false;
  for (const k of chosen) {
    const c = candidates.get(k)!;
    if (c.kind === 'word') words.push(c.value);
    else if (c.kind === 'prefix') prefixes.push(c.value);
    else if (c.kind === 'non-ascii') nonAscii = true;
    else chars.add(c.value.charCodeAt(0)); // a non-word character: no case
  }
  return { always: false, prefixes: prefixes.sort(), words: words.sort(), chars: [...chars].sort((a, b) => a - b), nonAscii };
}

// ---- the per-text pass ----

/** Token character codes: 0 for a non-word character, 1..37 for `0-9`, `a-z` (either case), `_`. */
const WORD_CODE = new Uint8Array(128);
for (let c = 48; c <= 57; c++) WORD_CODE[c] = c - 47;
for (let c = 97; c <= 122; c++) WORD_CODE[c] = WORD_CODE[c - 32] = c - 86;
WORD_CODE[95] = 37;
const FANOUT = 38;

let prefilterOn = true;

/**
 * Turns the prefilter off (every `scan` says "may match") or back on. For the
 * equivalence tests only: the signals are the same either way.
 */
export function setCuePrefilter(on: boolean): void {
  prefilterOn = on;
}

/**
 * Up to 32 regexes with the requirements of each, checked together by one
 * pass over a text: a trie of the token prefixes and words, a table of the
 * first characters.
 *
 * @example
 * const f = new CueFilter([/\bsolve\b/i, /=>/]);
 * f.scan('how to solve it'); // 0b01: only the first may match
 */
export class CueFilter {
  /** The regexes, by index (bit `1 << index` of `scan`'s mask). */
  readonly regexes: readonly RegExp[];
  /** Requirements of each regex, by index. */
  readonly requirements: readonly Requirements[];
  /** Trie of lowercase tokens: `children[node * FANOUT + code]`, 0 for none (node 0 is the root). */
  private readonly children: Int32Array;
  /** Regexes a token starting with the node's path may start. */
  private readonly prefixMask: Int32Array;
  /** Regexes a token equal to the node's path may start. */
  private readonly wordMask: Int32Array;
  private readonly chars = new Int32Array(128);
  private readonly nonAscii: number;
  private readonly always: number;
  private readonly all: number;

  constructor(res: readonly RegExp[], requirements: readonly Requirements[] = res.map(regexRequirements)) {
    if (res.length > 32) throw new Error(`CueFilter takes at most 32 regexes, got ${res.length}`);
    this.regexes = res;
    this.requirements = requirements;
    const children: number[] = [];
    const prefixMask: number[] = [0];
    const wordMask: number[] = [0];
    const nodeOf = (p: string): number => {
      let node = 0;
      for (let j = 0; j < p.length; j++) {
        const at = node * FANOUT + WORD_CODE[p.charCodeAt(j)]!;
        if (!children[at]) {
          children[at] = prefixMask.length;
          prefixMask.push(0);
          wordMask.push(0);
        }
        node = children[at]!;
      }
      return node;
    };
    let nonAscii = 0;
    let always = 0;
    requirements.forEach((r, k) => {
      const bit = 1 << k;
      if (r.always) always |= bit;
      for (const p of r.prefixes) prefixMask[nodeOf(p)]! |= bit;
      for (const w of r.words) wordMask[nodeOf(w)]! |= bit;
      for (const c of r.chars) {
        if (c < 128 && WORD_CODE[c] !== 0) throw new Error(`required character ${String.fromCharCode(c)} is a word character: require a token instead`);
        this.chars[c]! |= bit;
      }
      if (r.nonAscii) nonAscii |= bit;
    });
    this.children = new Int32Array(prefixMask.length * FANOUT);
    children.forEach((v, at) => (this.children[at] = v ?? 0));
    this.prefixMask = Int32Array.from(prefixMask);
    this.wordMask = Int32Array.from(wordMask);
    this.nonAscii = nonAscii;
    this.always = always;
    this.all = res.length === 32 ? -1 : (1 << res.length) - 1;
  }

  /**
   * Bit `k` set: regex `k` may match in `text`, or in a prefix of it that
   * ends before a non-word character. Clear: it cannot.
   */
  scan(text: string): number {
    if (!prefilterOn) return this.all;
    const { children, prefixMask, wordMask, chars, all, nonAscii } = this;
    let mask = this.always;
    const n = text.length;
    let i = 0;
    while (i < n) {
      let c = text.charCodeAt(i++);
      if (c >= 128) {
        mask |= nonAscii;
        continue;
      }
      let w = WORD_CODE[c]!;
      if (w === 0) {
        mask |= chars[c]!; // required characters are never word characters
        if (mask === all) return mask;
        continue;
      }
      // A token starts here (the character before is not a word character): walk it down the trie.
      let node = children[w]!;
      while (node !== 0) {
        mask |= prefixMask[node]!;
        if (i === n) break;
        c = text.charCodeAt(i);
        if (c >= 128 || (w = WORD_CODE[c]!) === 0) break;
        i++;
        node = children[node * FANOUT + w]!;
      }
      if (node !== 0) {
        mask |= wordMask[node]!; // the token ended on the node: it is that word
        continue;
      }
      // Off the trie: skip the rest of the token.
      while (i < n) {
        c = text.charCodeAt(i);
        if (c >= 128 || WORD_CODE[c] === 0) break;
        i++;
      }
    }
    return mask;
  }
}
