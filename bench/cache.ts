/**
 * Response-cache benchmark: semantic lookup latency at 1k, 10k and 100k
 * entries (index alone, whole lookup without embedding, whole lookup with a
 * USE Lite embedding), for the in-process store and, when
 * SWITCHYARD_TEST_REDISEARCH_URL is set, RediSearch; a semantic hit served
 * end to end with USE Lite; embedding throughput with and without batching;
 * and one index per partition vs one global graph with a filter.
 *
 *   npx tsx bench/cache.ts
 *   BENCH_CACHE_SIZES=1000,10000 BENCH_QUERIES=500 npx tsx bench/cache.ts
 *
 * Index vectors are synthetic (512-d, clustered like sentence embeddings) so
 * that 100k entries build in seconds; query texts for the USE Lite rows are
 * real questions from the dev pairs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import hnswlib from 'hnswlib-node';
import { createResponseCache, type CacheTicket, type ResponseCache } from '../src/cache/index.js';
import { exactKey, partitionOf } from '../src/cache/key.js';
import { MemoryVectorStore } from '../src/cache/vector/memory.js';
import { RedisVectorStore } from '../src/cache/vector/redis.js';
import { escapeGlob, unlinkMatching } from '../src/cache/stores/redis-client.js';
import { RedisStore } from '../src/store/redis.js';
import { cacheSchema, type CacheConfigInput } from '../src/config/cache.js';
import type { Embedder } from '../src/embedding/embedder.js';
import { createEmbedder } from '../src/embedding/index.js';
import type { CanonicalRequest, CanonicalResponse } from '../src/protocol/canonical.js';
import { percentile } from './lib/load.js';

const DIM = 512;
const SIZES = (process.env.BENCH_CACHE_SIZES ?? '1000,10000,100000').split(',').map(Number);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 1000);
/** Questions embedded for the embedder rows (worker against in-thread). */
const EMBED_TEXTS = Number(process.env.BENCH_EMBED_TEXTS ?? 512);
const REDISEARCH_URL = process.env.SWITCHYARD_TEST_REDISEARCH_URL;
/**
 * Where the dev pairs are looked for, in order: BENCH_CACHE_PAIRS, then a
 * `data/` or `shared/data/` folder next to or above the clone (the layout of
 * a workspace holding the repository and the shared dev data), then
 * /work/shared/data. The first that exists wins.
 */
export function pairsFileCandidates(repo = resolve(import.meta.dirname, '..'), env = process.env): string[] {
  const name = 'cache-pairs-dev.jsonl';
  const out: string[] = [];
  if (env.BENCH_CACHE_PAIRS) out.push(resolve(env.BENCH_CACHE_PAIRS));
  for (let dir = repo, i = 0; i < 4; i++, dir = resolve(dir, '..')) {
    out.push(resolve(dir, 'data', name), resolve(dir, 'shared', 'data', name));
  }
  out.push(resolve('/work/shared/data', name));
  return [...new Set(out)];
}

const PAIRS_CANDIDATES = pairsFileCandidates();
const PAIRS_FILE = PAIRS_CANDIDATES.find((f) => existsSync(f)) ?? PAIRS_CANDIDATES[0]!;

/** Median and 99th percentile, ms. */
export interface Latency {
  p50: number;
  p99: number;
  n: number;
}

export interface LookupRow {
  store: 'memory' | 'redis';
  entries: number;
  /** Time to insert up to `entries` through the facade (exact + vector), ms. */
  buildMs: number;
  buildPerEntryUs: number;
  /** Vector index search alone (memory store only). */
  index?: Latency;
  /** Whole `lookup()` (key, exact miss, search, verifier) with the embedding precomputed. */
  lookup: Latency;
  /** Whole `lookup()` including a USE Lite embedding of a real question. */
  lookupUseLite?: Latency;
}

export interface EmbedRow {
  mode: string;
  texts: number;
  ms: number;
  textsPerSec: number;
  /** Event-loop delay while it ran (lateness of a 5 ms timer, and perf_hooks.monitorEventLoopDelay): p99 and max, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
}

export interface LayoutRow {
  layout: 'per-partition' | 'global graph + filter';
  entries: number;
  partitions: number;
  buildMs: number;
  lookup: Latency;
}

export interface SnapshotRow {
  entries: number;
  writeMs: number;
  restoreMs: number;
  /** Snapshot file plus graph files. */
  bytes: number;
}

export interface CacheBench {
  lookups: LookupRow[];
  /** Snapshot and restore of the largest in-process index. */
  snapshot?: SnapshotRow;
  /** Semantic hits served end to end with USE Lite (store a, look up its paraphrase b). */
  semanticHit?: Latency & { hits: number; tried: number };
  exactHit: Latency;
  embedding: EmbedRow[];
  layouts: LayoutRow[];
  notes: string[];
}

function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** Clustered unit vectors: a few hundred topics, each question a noisy copy of its topic. */
function vectorSource(seed: number): (noise?: number) => Float32Array {
  const rand = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: 300 }, () => normalise(Float32Array.from({ length: DIM }, gauss)));
  return (noise = 0.045) => {
    const c = centres[Math.floor(rand() * centres.length)]!;
    return normalise(Float32Array.from(c, (x) => x + noise * gauss()));
  };
}

function perturb(v: Float32Array, rand: () => number, amount: number): Float32Array {
  return normalise(Float32Array.from(v, (x) => x + amount * (rand() - 0.5)));
}

function chatReq(question: string): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'bench-model', system: 'Answer briefly.', messages: [{ role: 'user', content: question }], stream: false, extra: {} };
}

function answer(i: number): CanonicalResponse {
  return { id: `r${i}`, model: 'bench-model', created: 0, text: `Answer number ${i}: a short paragraph of cached text that stands in for a model reply.`, finishReason: 'stop' };
}

function loadQuestions(): { a: string; b: string; duplicate: boolean }[] {
  try {
    return readFileSync(PAIRS_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { a: string; b: string; duplicate: boolean });
  } catch {
    return [];
  }
}

/** Returns precomputed vectors for known texts, and defers to USE Lite for the rest. */
class SwitchEmbedder implements Embedder {
  readonly id = 'use-lite';
  readonly dim = DIM;
  readonly table = new Map<string, Float32Array>();
  constructor(private readonly real: Embedder | undefined) {}
  async ready(): Promise<void> {
    await this.real?.ready();
  }
  async embed(texts: string[]): Promise<Float32Array[]> {
    const known = texts.map((t) => this.table.get(t));
    if (known.every((v) => v !== undefined)) return known as Float32Array[];
    if (this.real === undefined) throw new Error('no embedder for unknown text');
    return this.real.embed(texts);
  }
}

const BENCH_TENANT = { tenant: 'bench-tenant', modelGroup: 'bench-group' };

function ticketFor(question: string, embedding: Float32Array): CacheTicket {
  const r = chatReq(question);
  const partition = partitionOf({ ...BENCH_TENANT, req: r });
  return { partition, key: exactKey(r, partition), ttlSeconds: 3600, text: question, embedding };
}

async function timedLookups(cache: ResponseCache, questions: string[]): Promise<Latency> {
  const samples: number[] = [];
  // Warm up (JIT, first verifier calls) on the same questions; they stay misses.
  for (const q of questions.slice(0, 20)) await cache.lookup({ req: chatReq(q), ...BENCH_TENANT, route: '/v1/chat/completions', noCache: false, noStore: false });
  for (const q of questions) {
    const t = performance.now();
    await cache.lookup({ req: chatReq(q), ...BENCH_TENANT, route: '/v1/chat/completions', noCache: false, noStore: false });
    samples.push(performance.now() - t);
  }
  return latency(samples);
}

/** Writes `index` to a temporary snapshot and restores it into a new store. */
async function snapshotRow(index: MemoryVectorStore, embedderId: string): Promise<SnapshotRow> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-'));
  try {
    const path = join(dir, 'semantic.ndjson');
    let t = performance.now();
    await index.snapshot(path);
    const writeMs = performance.now() - t;
    const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const copy = new MemoryVectorStore({ maxEntries: index.size() * 2, embedderId });
    t = performance.now();
    await copy.restore(path);
    const restoreMs = performance.now() - t;
    await copy.close();
    return { entries: index.size(), writeMs, restoreMs, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function lookupRows(
  store: 'memory' | 'redis',
  useLite: Embedder | undefined,
  realQuestions: string[],
  log: (s: string) => void,
): Promise<{ rows: LookupRow[]; snapshot?: SnapshotRow }> {
  const embedder = new SwitchEmbedder(useLite);
  const max = Math.max(...SIZES);
  const prefix = `switchyard-bench:${process.pid}:`;
  const cfg: CacheConfigInput =
    store === 'memory'
      ? { memory: { maxEntries: max * 2, maxBytes: 1 << 30 }, semantic: { maxEntries: max * 2 } }
      : { store: 'redis', redis: { url: REDISEARCH_URL, keyPrefix: prefix, commandTimeoutMs: 5_000 }, semantic: { vectorStore: 'redis' } };
  // The memory index is handed to the facade so the index-only rows search the very same graph.
  const index = store === 'memory' ? new MemoryVectorStore({ maxEntries: max * 2, embedderId: embedder.id }) : undefined;
  const cache = createResponseCache(cacheSchema.parse(cfg), { embedder, vectorStore: index });
  const next = vectorSource(42);
  const rand = rng(7);
  const stored: Float32Array[] = [];
  const rows: LookupRow[] = [];
  let buildMs = 0;
  try {
    for (const size of SIZES) {
      const t = performance.now();
      const pending: Promise<void>[] = [];
      for (let i = stored.length; i < size; i++) {
        const v = next();
        stored.push(v);
        const q = `synthetic question ${i} about topic ${i % 997}`;
        pending.push(cache.store(ticketFor(q, v), answer(i)));
        if (pending.length >= 64) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      buildMs += performance.now() - t;

      // Queries near stored entries (hits above the threshold) and fresh ones (misses), half and half.
      const queries = Array.from({ length: QUERIES }, (_, j) => (j % 2 === 0 ? perturb(stored[Math.floor(rand() * stored.length)]!, rand, 0.02) : next(0.2)));
      const texts = queries.map((v, j) => {
        const q = `bench query ${size}-${j}`;
        embedder.table.set(q, v);
        return q;
      });
      let indexLatency: Latency | undefined;
      if (index !== undefined) {
        const partition = ticketFor('any', queries[0]!).partition.id;
        const samples: number[] = [];
        for (const v of queries) {
          const t1 = performance.now();
          index.searchSync(partition, v, 4);
          samples.push(performance.now() - t1);
        }
        indexLatency = latency(samples);
      }
      const lookup = await timedLookups(cache, texts);
      const lookupUseLite = useLite !== undefined && realQuestions.length > 0 ? await timedLookups(cache, realQuestions.slice(0, Math.min(200, QUERIES))) : undefined;
      const row: LookupRow = { store, entries: size, buildMs, buildPerEntryUs: (buildMs / size) * 1000, index: indexLatency, lookup, lookupUseLite };
      rows.push(row);
      log(
        `${store} ${size} entries: build ${(buildMs / 1000).toFixed(1)} s (${row.buildPerEntryUs.toFixed(0)} µs/entry)` +
          (indexLatency ? ` | index p50 ${indexLatency.p50.toFixed(3)} ms p99 ${indexLatency.p99.toFixed(3)} ms` : '') +
          ` | lookup p50 ${lookup.p50.toFixed(3)} ms p99 ${lookup.p99.toFixed(3)} ms` +
          (lookupUseLite ? ` | with use-lite p50 ${lookupUseLite.p50.toFixed(2)} ms p99 ${lookupUseLite.p99.toFixed(2)} ms` : ''),
      );
    }
    const s = cache.stats();
    if (s.errors > 0) log(`  (${s.errors} cache errors during the ${store} run)`);
    if (index !== undefined) {
      const snapshot = await snapshotRow(index, embedder.id);
      log(`snapshot of ${snapshot.entries} entries: write ${snapshot.writeMs.toFixed(0)} ms, restore ${snapshot.restoreMs.toFixed(0)} ms, ${(snapshot.bytes / 2 ** 20).toFixed(0)} MiB`);
      return { rows, snapshot };
    }
  } finally {
    await cache.close();
    await index?.close();
    // Leave nothing behind on the server: the index, its documents, its record, the exact entries.
    if (store === 'redis') await dropBenchKeys(prefix).catch((err: unknown) => log(`cleanup of ${prefix}* failed: ${String(err)}`));
  }
  return { rows };
}

/** Drops the benchmark's RediSearch index (with its documents and record) and every other key under `prefix`. */
async function dropBenchKeys(prefix: string): Promise<void> {
  const redis = new RedisStore('bench-cleanup', { url: REDISEARCH_URL!, commandTimeoutMs: 30_000, breaker: { failures: 1000, cooldownMs: 100 } });
  try {
    await new RedisVectorStore({ redis, keyPrefix: prefix }).drop();
    await unlinkMatching(redis, `${escapeGlob(prefix)}*`);
  } finally {
    await redis.close();
  }
}

/** Store `a` of each duplicate pair with USE Lite, then look up `b`: the latency of served semantic hits. */
async function semanticHits(useLite: Embedder, pairs: { a: string; b: string; duplicate: boolean }[]): Promise<{ semantic?: CacheBench['semanticHit']; exact: Latency }> {
  const cache = createResponseCache(cacheSchema.parse({}), { embedder: useLite });
  try {
    const dups = pairs.filter((p) => p.duplicate).slice(0, 300);
    for (const [i, p] of dups.entries()) {
      const res = await cache.lookup({ req: chatReq(p.a), ...BENCH_TENANT, route: '/v1/chat/completions', noCache: false, noStore: false });
      if (res.ticket) await cache.store(res.ticket, answer(i));
    }
    const hitTimes: number[] = [];
    for (const p of dups) {
      const t = performance.now();
      const res = await cache.lookup({ req: chatReq(p.b), ...BENCH_TENANT, route: '/v1/chat/completions', noCache: false, noStore: false });
      if (res.result === 'hit-semantic') hitTimes.push(performance.now() - t);
    }
    const exactTimes: number[] = [];
    for (const p of dups) {
      const t = performance.now();
      await cache.lookup({ req: chatReq(p.a), ...BENCH_TENANT, route: '/v1/chat/completions', noCache: false, noStore: false });
      exactTimes.push(performance.now() - t);
    }
    const semantic = hitTimes.length > 0 ? { ...latency(hitTimes), hits: hitTimes.length, tried: dups.length } : undefined;
    return { semantic, exact: latency(exactTimes) };
  } finally {
    await cache.close();
  }
}

export async function embeddingRows(texts: string[]): Promise<EmbedRow[]> {
  const rows: EmbedRow[] = [];
  for (const [mode, maxBatch, worker] of [
    ['use-lite on a worker, batched (maxBatch 32, 2 ms)', 32, true],
    ['use-lite in-thread, batched (maxBatch 32, 2 ms)', 32, false],
    ['use-lite in-thread, unbatched', 1, false],
  ] as const) {
    const e = createEmbedder({ kind: 'use-lite', worker, batch: { maxBatch, maxWaitMs: 2 } });
    await e.ready();
    await e.embed(texts.slice(0, 8)); // warm up
    const timed = async (texts: number, run: () => Promise<unknown>, label: string) => {
      // Event-loop delay: how late a 5 ms timer fires. monitorEventLoopDelay records a stall only when the
      // loop gets back to its timer, so the stall still going on when the work ends is added by hand.
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const lateness: number[] = [];
      let due = performance.now() + 5;
      let timer: NodeJS.Timeout;
      const tick = () => {
        const now = performance.now();
        lateness.push(Math.max(0, now - due));
        due = now + 5;
        timer = setTimeout(tick, 5);
      };
      timer = setTimeout(tick, 5);
      const t = performance.now();
      await run();
      const end = performance.now();
      clearTimeout(timer);
      loop.disable();
      lateness.push(Math.max(0, end - due));
      lateness.sort((a, b) => a - b);
      const p99 = Math.max(lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * 0.99))]!, loop.percentile(99) / 1e6 - 5);
      const max = Math.max(lateness[lateness.length - 1]!, loop.max / 1e6 - 5);
      rows.push({ mode: `${mode}, ${label}`, texts, ms: end - t, textsPerSec: (texts / (end - t)) * 1000, loopP99Ms: p99, loopMaxMs: max });
    };
    await timed(texts.length, () => Promise.all(texts.map((x) => e.embed([x]))), `${texts.length} concurrent`);
    const oneByOne = texts.slice(0, 64);
    await timed(oneByOne.length, async () => {
      for (const x of oneByOne) await e.embed([x]);
    }, 'one at a time');
    await e.close?.();
  }
  return rows;
}

/** Many small partitions: one index per partition vs one global HNSW graph with a partition filter. */
function layoutRows(entries: number, partitions: number): LayoutRow[] {
  const next = vectorSource(11);
  const vecs = Array.from({ length: entries }, () => next());
  const queries = Array.from({ length: 200 }, () => next());
  const rows: LayoutRow[] = [];

  let t = performance.now();
  const per = new MemoryVectorStore({ maxEntries: entries });
  vecs.forEach((v, i) => per.addSync(v, { partition: `p${i % partitions}`, model: 'g', text: '', response: answer(i), expiresAt: Number.MAX_SAFE_INTEGER }));
  let buildMs = performance.now() - t;
  let samples = queries.map((q, j) => {
    const t1 = performance.now();
    per.searchSync(`p${j % partitions}`, q, 4);
    return performance.now() - t1;
  });
  rows.push({ layout: 'per-partition', entries, partitions, buildMs, lookup: latency(samples) });

  t = performance.now();
  const global = new hnswlib.HierarchicalNSW('ip', DIM);
  global.initIndex({ maxElements: entries, m: 16, efConstruction: 64 });
  global.setEf(64);
  vecs.forEach((v, i) => global.addPoint(Array.from(v), i));
  buildMs = performance.now() - t;
  samples = queries.map((q, j) => {
    const p = j % partitions;
    const arr = Array.from(q);
    const t1 = performance.now();
    global.searchKnn(arr, 4, (label) => label % partitions === p);
    return performance.now() - t1;
  });
  rows.push({ layout: 'global graph + filter', entries, partitions, buildMs, lookup: latency(samples) });
  return rows;
}

/**
 * Runs every cache benchmark.
 *
 * @example
 * ```ts
 * const bench = await runCacheBench();
 * console.log(cacheMarkdown(bench));
 * ```
 */
export async function runCacheBench(log: (s: string) => void = console.log): Promise<CacheBench> {
  const notes: string[] = [];
  const pairs = loadQuestions();
  if (pairs.length === 0) notes.push(`no pairs file (looked at ${PAIRS_CANDIDATES.join(', ')}; set BENCH_CACHE_PAIRS): USE Lite rows skipped`);
  let useLite: Embedder | undefined;
  if (pairs.length > 0) {
    try {
      useLite = createEmbedder({ kind: 'use-lite' });
      await useLite.ready();
    } catch (err) {
      notes.push(`USE Lite unavailable (${(err as Error).message}): USE Lite rows skipped`);
      useLite = undefined;
    }
  }
  const realQuestions = pairs.map((p) => p.b);

  const memory = await lookupRows('memory', useLite, realQuestions, log);
  const lookups = memory.rows;
  if (REDISEARCH_URL) lookups.push(...(await lookupRows('redis', useLite, realQuestions, log)).rows);
  else notes.push('RediSearch rows skipped: SWITCHYARD_TEST_REDISEARCH_URL unset');

  let semanticHit: CacheBench['semanticHit'];
  let exactHit: Latency = { p50: NaN, p99: NaN, n: 0 };
  if (useLite !== undefined) {
    const r = await semanticHits(useLite, pairs);
    semanticHit = r.semantic;
    exactHit = r.exact;
    if (semanticHit) log(`semantic hit end to end (use-lite): p50 ${semanticHit.p50.toFixed(2)} ms p99 ${semanticHit.p99.toFixed(2)} ms (${semanticHit.hits}/${semanticHit.tried} paraphrases served)`);
    log(`exact hit end to end: p50 ${exactHit.p50.toFixed(3)} ms p99 ${exactHit.p99.toFixed(3)} ms`);
  }

  const embedding = useLite !== undefined ? await embeddingRows(pairs.slice(0, EMBED_TEXTS).map((p) => p.a)) : [];
  for (const r of embedding) log(`${r.mode}: ${r.textsPerSec.toFixed(0)} texts/s, event-loop delay p99 ${r.loopP99Ms.toFixed(0)} ms, max ${r.loopMaxMs.toFixed(0)} ms`);
  await useLite?.close?.();

  const layouts = layoutRows(10_000, 1_000);
  for (const r of layouts) log(`${r.layout}, ${r.entries} entries in ${r.partitions} partitions: build ${r.buildMs.toFixed(0)} ms, lookup p50 ${r.lookup.p50.toFixed(3)} ms p99 ${r.lookup.p99.toFixed(3)} ms`);
  return { lookups, snapshot: memory.snapshot, semanticHit, exactHit, embedding, layouts, notes };
}

const ms = (x: number | undefined, digits = 3) => (x === undefined || Number.isNaN(x) ? '–' : `${x.toFixed(digits)} ms`);

/** The benchmark as markdown tables. */
export function cacheMarkdown(b: CacheBench): string {
  const out = [
    '| store | entries | build | build/entry | index p50 | index p99 | lookup p50 | lookup p99 | lookup+use-lite p50 | lookup+use-lite p99 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of b.lookups) {
    out.push(
      `| ${r.store} | ${r.entries} | ${(r.buildMs / 1000).toFixed(1)} s | ${r.buildPerEntryUs.toFixed(0)} µs | ${ms(r.index?.p50)} | ${ms(r.index?.p99)} | ${ms(r.lookup.p50)} | ${ms(r.lookup.p99)} | ${ms(r.lookupUseLite?.p50, 2)} | ${ms(r.lookupUseLite?.p99, 2)} |`,
    );
  }
  if (b.snapshot) {
    const sn = b.snapshot;
    out.push('', '| snapshot | entries | write | restore | size |', '|---|---:|---:|---:|---:|');
    out.push(`| in-process index | ${sn.entries} | ${sn.writeMs.toFixed(0)} ms | ${sn.restoreMs.toFixed(0)} ms | ${(sn.bytes / 2 ** 20).toFixed(0)} MiB |`);
  }
  out.push('', '| served from cache | p50 | p99 | n |', '|---|---:|---:|---:|');
  out.push(`| exact hit | ${ms(b.exactHit.p50)} | ${ms(b.exactHit.p99)} | ${b.exactHit.n} |`);
  if (b.semanticHit) out.push(`| semantic hit (use-lite, verifier on) | ${ms(b.semanticHit.p50, 2)} | ${ms(b.semanticHit.p99, 2)} | ${b.semanticHit.hits} of ${b.semanticHit.tried} |`);
  if (b.embedding.length > 0) {
    out.push('', '| embedding | texts | time | texts/s | event-loop delay p99 / max |', '|---|---:|---:|---:|---:|');
    for (const r of b.embedding) out.push(`| ${r.mode} | ${r.texts} | ${r.ms.toFixed(0)} ms | ${r.textsPerSec.toFixed(0)} | ${r.loopP99Ms.toFixed(0)} / ${r.loopMaxMs.toFixed(0)} ms |`);
  }
  out.push('', '| partition layout | entries | partitions | build | lookup p50 | lookup p99 |', '|---|---:|---:|---:|---:|---:|');
  for (const r of b.layouts) out.push(`| ${r.layout} | ${r.entries} | ${r.partitions} | ${r.buildMs.toFixed(0)} ms | ${ms(r.lookup.p50)} | ${ms(r.lookup.p99)} |`);
  if (b.notes.length > 0) out.push('', ...b.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const bench = await runCacheBench();
  console.log(`\n${cacheMarkdown(bench)}`);
}
