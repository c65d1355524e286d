/**
 * Offline evaluation of the semantic cache: embeds labelled question pairs,
 * sweeps the similarity threshold and reports precision / recall / F1 and the
 * false-hit rate among served hits, with and without the verifier.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Embedder } from '../embedding/embedder.js';
import {
  DEFAULT_SIMILARITY_THRESHOLD,
  FEATURE_NAMES,
  normalizeQuestion,
  pairFeatures,
  verifyCandidate,
  type FeatureName,
  type VerifierWeights,
  type VerifyOptions,
} from '../cache/verify.js';

/** One labelled pair of `cache-pairs-*.jsonl`. */
export interface CachePair {
  a: string;
  b: string;
  duplicate: boolean;
  source: string;
}

/** A pair with its embedding cosine similarity. */
export interface ScoredPair extends CachePair {
  similarity: number;
}

/** Reads a JSON Lines file of {@link CachePair}s. */
export async function loadPairs(file: string): Promise<{ pairs: CachePair[]; hash: string }> {
  const raw = await readFile(file);
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  const pairs = raw
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const o = JSON.parse(l) as Partial<CachePair>;
      if (typeof o.a !== 'string' || typeof o.b !== 'string' || typeof o.duplicate !== 'boolean') {
        throw new Error(`${file}:${i + 1}: expected {a, b, duplicate, source}`);
      }
      return { a: o.a, b: o.b, duplicate: o.duplicate, source: o.source ?? 'unknown' };
    });
  return { pairs, hash };
}

/**
 * Cosine similarity of every pair (texts normalised with {@link normalizeQuestion}).
 * Vectors are cached in `os.tmpdir()` keyed by the file hash and embedder id, so reruns skip the model.
 */
export async function scorePairs(
  pairs: CachePair[],
  hash: string,
  embedder: Embedder,
  log: (msg: string) => void = () => {},
): Promise<ScoredPair[]> {
  const index = new Map<string, number>();
  for (const p of pairs) {
    for (const t of [normalizeQuestion(p.a), normalizeQuestion(p.b)]) if (!index.has(t)) index.set(t, index.size);
  }
  const texts = [...index.keys()];
  const vectors = await cachedVectors(texts, `${hash}-${embedder.id.replace(/[^\w.-]/g, '_')}`, embedder, log);
  return pairs.map((p) => {
    const va = vectors[index.get(normalizeQuestion(p.a))!]!;
    const vb = vectors[index.get(normalizeQuestion(p.b))!]!;
    let dot = 0;
    for (let i = 0; i < va.length; i++) dot += va[i]! * vb[i]!;
    return { ...p, similarity: dot };
  });
}

async function cachedVectors(
  texts: string[],
  key: string,
  embedder: Embedder,
  log: (msg: string) => void,
): Promise<Float32Array[]> {
  const file = join(tmpdir(), `switchyard-cache-eval-${key}.f32`);
  try {
    const buf = await readFile(file);
    const n = buf.readUInt32LE(0);
    const dim = buf.readUInt32LE(4);
    if (n === texts.length && buf.length === 8 + n * dim * 4) {
      const all = new Float32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + buf.length));
      log(`vectors: ${n} read from ${file}`);
      return Array.from({ length: n }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
    }
  } catch {
    // no cache yet
  }
  await embedder.ready();
  const out: Float32Array[] = [];
  const started = Date.now();
  const chunk = 256;
  for (let i = 0; i < texts.length; i += chunk) {
    // Submitted as concurrent single calls so a BatchingEmbedder can merge them.
    const part = texts.slice(i, i + chunk);
    const vecs = await Promise.all(part.map((t) => embedder.embed([t]).then((v) => v[0]!)));
    out.push(...vecs);
    if ((i / chunk) % 20 === 0) log(`embedded ${out.length}/${texts.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  const dim = out[0]?.length ?? 0;
  const buf = Buffer.alloc(8 + out.length * dim * 4);
  buf.writeUInt32LE(out.length, 0);
  buf.writeUInt32LE(dim, 4);
  out.forEach((v, i) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(buf, 8 + i * dim * 4));
  await writeFile(`${file}.tmp`, buf);
  await rename(`${file}.tmp`, file);
  log(`vectors: ${out.length} embedded in ${((Date.now() - started) / 1000).toFixed(1)} s, cached in ${file}`);
  return out;
}

// ---------------------------------------------------------------- metrics

/** Served-hit quality at one operating point. */
export interface HitMetrics {
  /** Pairs served from the cache. */
  served: number;
  /** Served pairs that are duplicates. */
  truePositives: number;
  /** Duplicates in the set. */
  positives: number;
  precision: number;
  recall: number;
  f1: number;
  /** Share of served hits that are wrong (1 − precision). */
  falseHitRate: number;
}

/** Precision, recall, F1 and false-hit rate of the pairs for which `serve` is true. */
export function hitMetrics<T extends { duplicate: boolean }>(rows: T[], serve: (row: T) => boolean): HitMetrics {
  let served = 0;
  let tp = 0;
  let positives = 0;
  for (const r of rows) {
    if (r.duplicate) positives++;
    if (serve(r)) {
      served++;
      if (r.duplicate) tp++;
    }
  }
  const precision = served === 0 ? 1 : tp / served;
  const recall = positives === 0 ? 0 : tp / positives;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { served, truePositives: tp, positives, precision, recall, f1, falseHitRate: served === 0 ? 0 : 1 - precision };
}

// ---------------------------------------------------------------- fitting the verifier

/** Options of {@link fitVerifier}. */
export interface FitOptions {
  /** L2 penalty on the standardised weights (bias not penalised). Default 1. */
  l2?: number;
  /** Only pairs at or above this similarity are learnt from: the verifier only ever sees such candidates. Default 0.6. */
  minSimilarity?: number;
  /** Served-hit precision the acceptance threshold is chosen for, on the training pairs. Default 0.91. */
  targetPrecision?: number;
  /** Features to use; the others get weight 0. Default all. */
  features?: readonly FeatureName[];
}

/** A fitted verifier: weights for {@link verifyCandidate} and its acceptance threshold. */
export interface FittedVerifier {
  weights: VerifierWeights;
  minScore: number;
}

/** Fits the verifier's logistic regression on scored pairs (Newton's method, L2) and picks `minScore`. */
export function fitVerifier(rows: ScoredPair[], opts: FitOptions = {}): FittedVerifier {
  const names = opts.features ?? FEATURE_NAMES;
  const minSim = opts.minSimilarity ?? 0.6;
  const train = rows.filter((r) => r.similarity >= minSim);
  const X = train.map((r) => {
    const f = pairFeatures(r.a, r.b, r.similarity);
    return names.map((n) => f[n]);
  });
  const y = train.map((r) => (r.duplicate ? 1 : 0));
  const { bias, w } = fitLogistic(X, y, opts.l2 ?? 1);
  const weights: VerifierWeights = { bias, w: Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0])) as VerifierWeights['w'] };
  names.forEach((n, j) => (weights.w[n] = w[j]!));
  const scores = train.map((r) => verifyCandidate(r.a, r.b, r.similarity, { weights, minScore: 0 }).score);
  return { weights, minScore: thresholdForPrecision(scores, y, opts.targetPrecision ?? 0.91) };
}

/** Lowest score threshold whose served set still has at least `target` precision. */
export function thresholdForPrecision(scores: number[], labels: number[], target: number): number {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((p, q) => q[0] - p[0]);
  let tp = 0;
  let best = 1;
  order.forEach(([s, y], i) => {
    tp += y;
    const next = order[i + 1];
    if (tp / (i + 1) >= target && (next === undefined || next[0] < s)) best = s;
  });
  return best;
}

/** L2-regularised logistic regression on standardised features; weights returned on the raw scale. */
export function fitLogistic(X: number[][], y: number[], l2: number, iterations = 30): { bias: number; w: number[] } {
  const n = X.length;
  const d = X[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const x of X) x.forEach((v, j) => (mean[j]! += v / n));
  for (const x of X) x.forEach((v, j) => (sd[j]! += (v - mean[j]!) ** 2 / n));
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) || 1;
  const Z = X.map((x) => [1, ...x.map((v, j) => (v - mean[j]!) / sd[j]!)]);
  let beta = new Array<number>(d + 1).fill(0);
  for (let it = 0; it < iterations; it++) {
    const g = beta.map((b, j) => (j === 0 ? 0 : l2 * b));
    const H = beta.map((_, j) => beta.map((__, k) => (j === k && j > 0 ? l2 : 0)));
    Z.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-z.reduce((s, v, j) => s + v * beta[j]!, 0)));
      const r = p - y[i]!;
      const q = p * (1 - p);
      for (let j = 0; j <= d; j++) {
        g[j]! += r * z[j]!;
        for (let k = 0; k <= j; k++) H[j]![k]! += q * z[j]! * z[k]!;
      }
    });
    for (let j = 0; j <= d; j++) for (let k = j + 1; k <= d; k++) H[j]![k] = H[k]![j]!;
    const step = solve(H, g);
    beta = beta.map((b, j) => b - step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  const w = beta.slice(1).map((b, j) => b / sd[j]!);
  const bias = beta[0]! - w.reduce((s, wj, j) => s + wj * mean[j]!, 0);
  return { bias, w };
}

function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const pivot = M[c]![c]! || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / pivot;
      if (f !== 0) for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/** Deterministic PRNG (mulberry32) for fold assignment and samples. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Result of {@link crossValidateVerifier}: held-out decisions of every pair. */
export interface CrossValidation {
  /** For each input row, whether the verifier trained without that row's fold accepted it. */
  accepted: boolean[];
  /** Held-out verifier probability of each row. */
  scores: number[];
  folds: FittedVerifier[];
}

/** k-fold cross-validation by pair: each fold is judged by a verifier fitted on the other folds. */
export function crossValidateVerifier(rows: ScoredPair[], k = 5, seed = 1, opts: FitOptions = {}): CrossValidation {
  const rnd = seededRandom(seed);
  const order = rows.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const fold = new Array<number>(rows.length);
  order.forEach((row, pos) => (fold[row] = pos % k));
  const accepted = new Array<boolean>(rows.length).fill(false);
  const scores = new Array<number>(rows.length).fill(0);
  const folds: FittedVerifier[] = [];
  for (let f = 0; f < k; f++) {
    const fitted = fitVerifier(rows.filter((_, i) => fold[i] !== f), opts);
    folds.push(fitted);
    rows.forEach((r, i) => {
      if (fold[i] !== f) return;
      const v = verifyCandidate(r.a, r.b, r.similarity, fitted);
      accepted[i] = v.accept;
      scores[i] = v.score;
    });
  }
  return { accepted, scores, folds };
}

// ---------------------------------------------------------------- the sweep

/** Options of {@link runCacheEval}. */
export interface CacheEvalOptions {
  /** JSON Lines of {@link CachePair}, e.g. `cache-pairs-dev.jsonl`. */
  pairsFile: string;
  embedder: Embedder;
  /** Similarity thresholds to sweep. Default 0.60..0.95 step 0.01. */
  thresholds?: number[];
  /** Also report served hits that pass {@link verifyCandidate}. Default true. */
  verifier?: boolean;
  verifierOptions?: VerifyOptions;
  /**
   * Judge each QQP pair with a verifier refitted without that pair's fold (5-fold),
   * instead of the shipped weights that were fitted on the dev pairs. Default false.
   */
  crossValidate?: boolean;
  /** Served-hit precision the recommended threshold must reach (with the verifier). Default 0.9. */
  targetPrecision?: number;
  /** Where the table goes. Default stdout. */
  out?: { write(text: string): unknown };
}

/** One row of the sweep. */
export interface ThresholdRow {
  threshold: number;
  qqp: HitMetrics;
  qqpVerified?: HitMetrics;
  /** Recall on the gptcache-mock rewordings (all positives). */
  mockRecall: number;
  mockRecallVerified?: number;
}

/** Result of {@link runCacheEval}. */
export interface CacheEvalResult {
  rows: ThresholdRow[];
  /** Highest-recall threshold whose verified QQP precision reaches the target (ties → the higher threshold); undefined if none. */
  recommended?: ThresholdRow;
}

/**
 * Embeds every pair, sweeps the similarity threshold and prints precision,
 * recall, F1 and false-hit rate of served hits, with and without the verifier.
 *
 * @example
 * ```ts
 * await runCacheEval({ pairsFile: 'cache-pairs-dev.jsonl', embedder: createEmbedder(), verifier: true });
 * ```
 */
export async function runCacheEval(opts: CacheEvalOptions): Promise<CacheEvalResult> {
  const out = opts.out ?? process.stdout;
  const useVerifier = opts.verifier ?? true;
  const target = opts.targetPrecision ?? 0.9;
  const thresholds = opts.thresholds ?? Array.from({ length: 36 }, (_, i) => Math.round((0.6 + i * 0.01) * 100) / 100);
  const { pairs, hash } = await loadPairs(opts.pairsFile);
  const scored = await scorePairs(pairs, hash, opts.embedder, (m) => out.write(`${m}\n`));
  const qqp = scored.filter((p) => p.source === 'qqp');
  const mock = scored.filter((p) => p.source !== 'qqp' && p.duplicate);
  const judge = (rows: ScoredPair[]) => rows.map((r) => verifyCandidate(r.a, r.b, r.similarity, opts.verifierOptions).accept);
  let qqpAccepted: boolean[] = [];
  let mockAccepted: boolean[] = [];
  if (useVerifier) {
    qqpAccepted = opts.crossValidate ? crossValidateVerifier(qqp).accepted : judge(qqp);
    mockAccepted = judge(mock);
  }
  const rows = thresholds.map((t): ThresholdRow => {
    const row: ThresholdRow = {
      threshold: t,
      qqp: hitMetrics(qqp, (r) => r.similarity >= t),
      mockRecall: hitMetrics(mock, (r) => r.similarity >= t).recall,
    };
    if (useVerifier) {
      row.qqpVerified = hitMetrics(qqp.map((r, i) => ({ ...r, ok: qqpAccepted[i]! })), (r) => r.similarity >= t && r.ok);
      row.mockRecallVerified = hitMetrics(mock.map((r, i) => ({ ...r, ok: mockAccepted[i]! })), (r) => r.similarity >= t && r.ok).recall;
    }
    return row;
  });
  let recommended: ThresholdRow | undefined;
  for (const r of rows) {
    const m = r.qqpVerified ?? r.qqp;
    if (m.served > 0 && m.precision >= target && (!recommended || m.recall >= (recommended.qqpVerified ?? recommended.qqp).recall)) recommended = r;
  }
  out.write(formatTable(rows, { embedder: opts.embedder.id, pairs: qqp.length, mock: mock.length, crossValidated: !!opts.crossValidate }));
  out.write(
    recommended
      ? `recommended threshold: ${recommended.threshold.toFixed(2)} (highest QQP recall with served-hit precision >= ${target}${useVerifier ? ', with verifier' : ''})\n`
      : `no threshold reaches served-hit precision >= ${target}; keep the default ${DEFAULT_SIMILARITY_THRESHOLD}\n`,
  );
  return { rows, recommended };
}

function formatTable(rows: ThresholdRow[], info: { embedder: string; pairs: number; mock: number; crossValidated: boolean }): string {
  const pct = (x: number) => (100 * x).toFixed(1).padStart(5);
  const m = (h: HitMetrics) => `${String(h.served).padStart(6)} ${pct(h.precision)} ${pct(h.recall)} ${pct(h.f1)} ${pct(h.falseHitRate)}`;
  const verified = rows[0]?.qqpVerified !== undefined;
  const lines = [
    `embedder ${info.embedder}; ${info.pairs} QQP pairs, ${info.mock} gptcache-mock rewordings; served-hit metrics in %` +
      (verified && info.crossValidated ? '; verifier columns: 5-fold held-out' : ''),
    `thresh | QQP, similarity only:        | ${verified ? 'QQP, with verifier:          | ' : ''}mock recall`,
    `       | served  prec   rec    F1   FHR | ${verified ? 'served  prec   rec    F1   FHR | ' : ''} sim${verified ? '  +verif' : ''}`,
  ];
  for (const r of rows) {
    lines.push(
      `  ${r.threshold.toFixed(2)} | ${m(r.qqp)} | ${r.qqpVerified ? `${m(r.qqpVerified)} | ` : ''}${pct(r.mockRecall)}${
        r.mockRecallVerified !== undefined ? `  ${pct(r.mockRecallVerified)}` : ''
      }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
