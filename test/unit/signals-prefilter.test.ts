import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { COMPLEXITY_CUE_FILTER, complexityFeatures, wordCounts } from '../../src/routing/signals/complexity-features.js';
import { CueFilter, regexRequirements, setCuePrefilter, type Requirements } from '../../src/routing/signals/prefilter.js';
import { detectSensitive, PRIVACY_FILTER, privacySignal } from '../../src/routing/signals/privacy.js';
import { keywordTask, TASK_CUE_FILTER } from '../../src/routing/signals/task.js';
import { countMatches } from '../../src/routing/signals/text.js';
import { contexts, longContexts, regexSamples } from '../helpers/regex-samples.js';

const lines = (f: string) => readFileSync(new URL(`../../../shared/data/${f}`, import.meta.url), 'utf8').trim().split('\n');
const routingPrompts = lines('routing-dev.jsonl').map((l) => (JSON.parse(l) as { prompt: string }).prompt);
const pairTexts = lines('cache-pairs-dev.jsonl').flatMap((l) => {
  const p = JSON.parse(l) as { a: string; b: string };
  return [p.a, p.b];
});

const FILTERS: [string, CueFilter][] = [
  ['complexity', COMPLEXITY_CUE_FILTER],
  ['task', TASK_CUE_FILTER],
  ['privacy', PRIVACY_FILTER],
];

/** Every filtered regex's samples in short hostile contexts, and a few in long texts. */
function adversarial(): string[] {
  const out: string[] = [];
  let seed = 1;
  for (const [, f] of FILTERS) {
    for (const re of f.regexes) {
      const samples = regexSamples(re, seed++);
      for (const [i, s] of samples.entries()) {
        out.push(s);
        if (samples.length <= 300 || i % 4 === 0) out.push(...contexts(s));
        if (i % 200 === 0) out.push(...longContexts(s));
      }
      // Several samples together, and a real prompt as the surrounding text.
      out.push(samples.slice(0, 50).join(' '), `${routingPrompts[seed % routingPrompts.length]!}\n${samples.slice(0, 3).join('\n')}`);
    }
  }
  return out;
}
const ADVERSARIAL = adversarial();

/** Signal outputs with the prefilter on and off. */
function outputs(text: string): unknown {
  const req = promptRequest(text);
  return { f: complexityFeatures(req), t: keywordTask(req), p: privacySignal(req), d: detectSensitive(text, { spans: true }) };
}

/** Texts where a filter rules a regex out that matches: must be none. */
function unsound(filter: CueFilter, texts: readonly string[], only?: number): string[] {
  const bad: string[] = [];
  const res = filter.regexes.map((r) => new RegExp(r.source, r.flags.replace(/[gy]/g, '')));
  for (const text of texts) {
    const may = filter.scan(text);
    for (let k = 0; k < res.length; k++) {
      if (only !== undefined && k !== only) continue;
      if ((may & (1 << k)) === 0 && res[k]!.test(text)) bad.push(`/${res[k]!.source.slice(0, 40)}/ on ${JSON.stringify(text.slice(0, 80))}`);
    }
  }
  return bad;
}

afterEach(() => setCuePrefilter(true));

describe('regexRequirements (what any match must contain, from the regex source)', () => {
  it('takes whole words after \\b, rare characters, and the best token of a multi-word alternative', () => {
    const r = regexRequirements(/\b(?:solve|prove)\b|=>/g);
    expect(r).toMatchObject({ always: false, words: ['prove', 'solve'], prefixes: [], chars: ['='.charCodeAt(0)], nonAscii: false });
    // "to english": the rarer second word is required; "c++" its '+'.
    expect(regexRequirements(/\b(?:in|into|to) (?:english|french)\b/i).words).toEqual(['english', 'french']);
    expect(regexRequirements(/\b(?:c\+\+|rust)\b/i)).toMatchObject({ words: ['rust'], chars: ['+'.charCodeAt(0)] });
  });

  it('keeps a token open (a prefix) where the pattern does not end it', () => {
    expect(regexRequirements(/\b(?:translate|traduc)\w*/i).prefixes).toEqual(['traduc', 'translate']);
    // A non-ASCII letter is not a word character: "übersetz" starts a token at "b".
    expect(regexRequirements(/\bübersetz/i)).toMatchObject({ prefixes: ['bersetz'] });
    // \s* may be empty: "case5" is one token, so "case" is only its beginning (and admits "case" itself).
    expect(regexRequirements(/\bcase\s*\d\b/i)).toMatchObject({ prefixes: ['case'], words: [] });
  });

  it('gives "always" for what it cannot bound', () => {
    for (const re of [/x*/, /\bkey/u, /(a)\1/, /[^a]bc/, /.abc/, /\w+/, /(?<n>ab)/, /\cJ/, /abc/y]) expect(regexRequirements(re).always, String(re)).toBe(true);
    // Without \b before it, a word character does not start a token.
    expect(regexRequirements(/abc/).always).toBe(true);
    expect(regexRequirements(/^abc/m)).toMatchObject({ always: false, prefixes: ['abc'] });
  });

  it('treats non-ASCII look-alikes as non-word characters, as non-unicode regexes do', () => {
    const f = new CueFilter([/\bkey\b/i, /\bsecret/i, /\bis\b/i]);
    for (const text of ['\u212Aey', 'ſecret', 'ı\u017f', 'ke\u212Ay']) {
      expect(f.scan(text), text).toBe(0);
      expect([/\bkey\b/i, /\bsecret/i, /\bis\b/i].some((r) => r.test(text))).toBe(false);
    }
    expect(f.scan('a KEY here')).toBe(1);
    expect(f.scan('éSECRETS')).toBe(2);
  });
});

describe('cue prefilter soundness: a regex ruled out cannot match', () => {
  it.each(FILTERS)('%s: on routing-dev, both sides of cache-pairs-dev and the adversarial corpus', { timeout: 120_000 }, (_, filter) => {
    expect(unsound(filter, routingPrompts)).toEqual([]);
    expect(unsound(filter, pairTexts)).toEqual([]);
    expect(unsound(filter, ADVERSARIAL)).toEqual([]);
  });

  it('the adversarial corpus catches nearly every requirement left out of a derived table', { timeout: 300_000 }, () => {
    // Drop one token requirement at a time: some sample of that regex must then be ruled out wrongly.
    const missed: string[] = [];
    let tried = 0;
    for (const [name, filter] of FILTERS) {
      filter.regexes.forEach((re, k) => {
        const req = filter.requirements[k]!;
        const mine = ADVERSARIAL.filter((t) => t.length < 1_000).filter((t) => new RegExp(re.source, re.flags.replace(/[gy]/g, '')).test(t));
        for (const list of ['words', 'prefixes'] as const) {
          for (const w of req[list]) {
            const cut: Requirements = { ...req, [list]: req[list].filter((x) => x !== w) };
            const broken = new CueFilter([re], [cut]);
            tried++;
            if (unsound(broken, mine).length === 0) missed.push(`${name} /${re.source.slice(0, 30)}/ ${list} ${w}`);
          }
        }
      });
    }
    expect(tried).toBeGreaterThan(400);
    // A requirement can be redundant (every text it admits also has another one), most often where the
    // walk of a pattern with many paths stopped early: today 1 of 444, "client" (texts also have "secret").
    expect(missed.length, missed.join('\n')).toBeLessThanOrEqual(tried / 100);
  });
});

describe('signals with the prefilter equal the signals without it', () => {
  const check = (texts: readonly string[]) => {
    setCuePrefilter(false);
    const before = texts.map(outputs);
    setCuePrefilter(true);
    const diff: string[] = [];
    texts.forEach((t, i) => {
      const after = outputs(t);
      if (JSON.stringify(after) !== JSON.stringify(before[i])) diff.push(JSON.stringify(t.slice(0, 100)));
    });
    return diff;
  };

  it('on every routing-dev prompt', { timeout: 120_000 }, () => expect(check(routingPrompts)).toEqual([]));
  it('on both sides of every cache-pairs-dev pair', { timeout: 120_000 }, () => expect(check(pairTexts)).toEqual([]));
  it('on the adversarial corpus (every alternative of every cue in hostile contexts, long texts)', { timeout: 300_000 }, () =>
    expect(check(ADVERSARIAL)).toEqual([]));

  it('a wrong table changes the signals (the check can fail)', () => {
    // "prove" left out of the reasoning cue: "Prove that..." would lose its reasoning score.
    const k = TASK_CUE_FILTER.regexes.findIndex((r) => r.source.startsWith('\\b(?:prove|'));
    const reqs = TASK_CUE_FILTER.requirements;
    const broken = new CueFilter(TASK_CUE_FILTER.regexes, reqs.map((r, i) => (i === k ? { ...r, words: r.words.filter((w) => w !== 'prove') } : r)));
    const text = 'Prove that there are infinitely many primes.';
    expect(TASK_CUE_FILTER.scan(text) & (1 << k)).not.toBe(0);
    expect(broken.scan(text) & (1 << k)).toBe(0);
    expect(unsound(broken, [text])).not.toEqual([]);
  });
});

describe('wordCounts (one pass for the words and long words of the complexity features)', () => {
  const WORD = /[A-Za-z\u00C0-\u024F]+/g;
  const LONG_WORD = /[A-Za-z\u00C0-\u024F]{10,}/g;
  const edges = ['\u00BF', '\u00C0', '\u00D7', '\u024F', '\u0250', '@', '[', '`', '{', 'Z', 'a', 'ſ', '\u212A', 'ı', '_', '9'];

  it('counts what the regexes count, on the corpora, the adversarial corpus and range edges', { timeout: 120_000 }, () => {
    const texts = [...routingPrompts, ...pairTexts, ...ADVERSARIAL, '', 'a', 'abcdefghij', 'abcdefghi', 'x'.repeat(50_000)];
    for (const a of edges) for (const b of edges) texts.push(`${a}${b}abcdefghi${a}`, `${b}${'é'.repeat(9)}${a}x`, `${a}${b}`);
    const bad: string[] = [];
    for (const t of texts) {
      const want = Math.min(countMatches(WORD, t, 100_000), 100_000) * 1024 + countMatches(LONG_WORD, t);
      if (wordCounts(t) !== want) bad.push(JSON.stringify(t.slice(0, 60)));
    }
    expect(bad).toEqual([]);
  });
});
