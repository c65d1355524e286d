/**
 * Adversarial text for the signal prefilter: strings each regex matches
 * (every alternative, random repetitions and class members, mixed case),
 * put into hostile contexts (text start and end, glued to word characters,
 * punctuation, non-ASCII look-alikes such as 'ſ', the Kelvin sign and 'ı',
 * beyond the scan limits).
 */
import { parseRegex, type Item } from '../../src/routing/signals/prefilter.js';
import { mulberry32 as rng } from './vectors.js';


const ANY = ['x', ' ', 'é', '1', '-', 'Q', '\t'];
/** Most strings one sequence expands to (beyond it, a random subset). */
const CAP = 3_000;

function pick<T>(xs: readonly T[], n: number, r: () => number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let k = 0; k < n; k++) out.push(xs[Math.floor(r() * xs.length)]!);
  return out;
}

/** Strings an atom matches: every alternative of a group, every member of a class of up to 26 (else a few). */
function expandAtom(a: Item['atom'], r: () => number): string[] {
  if (a.t === 'group') return a.alts.flatMap((alt) => expandSeq(alt, r));
  if (a.t !== 'chars') return [''];
  const members = [...a.set.ascii, ...(a.set.samples ?? [])];
  if (a.set.any || members.length === 0) return pick(ANY, 2, r);
  return pick(members, members.length <= 26 ? 26 : 8, r).map((c) => String.fromCharCode(c));
}

/** Strings along a sequence: the product of its items (an optional item with and without it, a repeat min and min + 1 times). */
function expandSeq(items: Item[], r: () => number): string[] {
  let acc = [''];
  for (const it of items) {
    const once = expandAtom(it.atom, r);
    let opts: string[];
    if (it.max === 1) opts = it.min === 0 ? ['', ...once] : once;
    else {
      opts = [];
      for (const reps of new Set([it.min, Math.min(it.min + 1, it.max), Math.min(Math.max(it.min, 2), it.max)])) {
        for (let v = 0; v < Math.min(once.length, 6); v++) {
          let s = '';
          for (let k = 0; k < reps; k++) s += once[Math.floor(r() * once.length)]!;
          opts.push(s);
        }
      }
    }
    const next: string[] = [];
    for (const x of acc) for (const y of opts) next.push(x + y);
    acc = next.length > CAP ? pick(next, CAP, r) : next;
  }
  return [...new Set(acc)];
}

/**
 * Strings along every path of the pattern (assertions ignored, so some do
 * not match: fine too), letters case-flipped at random under the `i` flag;
 * none for a pattern the prefilter cannot parse.
 */
export function regexSamples(re: RegExp, seed: number): string[] {
  const r = rng(seed);
  let alts: Item[][];
  try {
    alts = parseRegex(re.source);
  } catch {
    return []; // a pattern the prefilter does not parse always runs
  }
  const out = alts.flatMap((alt) => expandSeq(alt, r));
  if (!re.flags.includes('i')) return out;
  return out.map((s) => [...s].map((c) => (r() < 0.3 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join(''));
}

const FILLER = 'zq vx, mmm; jjj. ';

/** `s` in hostile contexts: alone, at text start and end, after/before word characters and punctuation, with look-alikes. */
export function contexts(s: string): string[] {
  const lookalike = s.replace(/s/g, 'ſ').replace(/k/g, '\u212A').replace(/i/g, 'ı').replace(/K/g, '\u212A');
  return [
    s,
    `${s} zq`,
    `zq ${s}`,
    `(${s})`,
    `,${s}.`,
    `x${s}`,
    `${s}x`,
    `_${s}_`,
    `9${s}9`,
    `é${s}é`,
    `\n${s}\n`,
    `A. ${s}\nB. no\nC. yes\nD. ${s}\nAnswer:`,
    s.toUpperCase(),
    s.toLowerCase(),
    lookalike,
    `zq ${lookalike} zq`,
  ];
}

/**
 * Long texts with `s` at the start, the middle, the end, straddling the task
 * head (8,000 chars) and the complexity scan's head/tail cut (24,000 chars).
 */
export function longContexts(s: string, filler = FILLER): string[] {
  const pad = (n: number) => filler.repeat(Math.ceil(n / filler.length)).slice(0, n);
  const half = Math.floor(s.length / 2);
  return [
    `${s} ${pad(30_000)}`,
    `${pad(30_000)} ${s}`,
    `${pad(15_000)}${s}${pad(15_000)}`,
    `${pad(8_000 - half)}${s}${pad(2_000)}`,
    `${pad(12_000 - half)}${s}${pad(20_000)}`,
    `${pad(20_000)}${s}${pad(12_000 - half)}`,
  ];
}
