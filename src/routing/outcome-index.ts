/**
 * The outcome-trained router's memory: labelled outcomes (a request
 * embedding, the cheaper tier that was judged, a score in 0..1 saying how
 * good enough it was) searchable by similarity, one index per (scope, tier).
 * It reuses the semantic cache's vector indexes: a linear scan while a
 * partition is small; once it grows, an HNSW graph (hnswlib-node) over a
 * low-dimensional projection of the vectors (uncentred PCA fitted on the
 * outcomes themselves, refitted as they grow) whose candidates are re-ranked
 * exactly in the full space. Bounded: past `maxOutcomes` or `maxAgeMs` the
 * oldest outcomes go first. The graphs can be snapshotted beside the outcome
 * store and restored without re-inserting anything (see `writeSnapshot`).
 *
 * The heavy work (fitting the projection, building or rebuilding a graph,
 * growing one) is never done inside `add()`: it runs in the background in
 * slices of a few milliseconds across event-loop turns, while searches keep
 * using the current state (the old projection and graphs, or the exact scan
 * of a partition that has no graph yet); the new graphs are swapped in at
 * once when all are built. `settled()` waits until no such work is left.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FlatIndex, type Neighbour } from '../cache/vector/flat.js';
import { HnswIndex } from '../cache/vector/hnsw.js';
import { Projection } from '../cache/vector/projection.js';
import { Dots, simdAvailable } from '../cache/vector/simd.js';
import { quantize } from './learned-model.js';

/** One labelled outcome. */
export interface Outcome {
  /** Unit-length request embedding (the semantic cache's). */
  vector: Float32Array;
  /** The cheaper tier judged (lower-cased on insert). */
  tier: string;
  /** 1: that tier was good enough for this request; 0: it was not. */
  score: number;
  /** Scope key: a tenant id, or `*` for global. */
  scope: string;
  /** Unix ms. */
  at: number;
  /** The int8 codes the vector was stored as (outcomes read back from a store): part of its identity in a snapshot. */
  codes?: Int8Array;
}

/** A neighbour with its outcome. */
export interface OutcomeMatch {
  score: number;
  similarity: number;
}

/** Options of {@link OutcomeIndex}. */
export interface OutcomeIndexOptions {
  maxOutcomes: number;
  /** Outcomes older than this are dropped (Infinity: never). */
  maxAgeMs: number;
  /** Partition size at which a scan gives way to a graph (default 256). */
  flatMax?: number;
  /** Dimensions of the graph's projection (default 160); 0: the graph holds the full vectors (no projection, no re-rank). */
  projectTo?: number;
  /** Graph candidates re-ranked per neighbour asked for (default 2: k = 32 re-ranks 64). */
  candidates?: number;
  /** Candidate list of a graph search (default 64). */
  ef?: number;
  /** Links per graph node (default 24). */
  m?: number;
  now?: () => number;
  /**
   * false: fits and graph builds run to completion inside the `add()` that
   * needs them (blocking; a reference for tests and offline tools). Default
   * true: in the background, in slices across event-loop turns.
   */
  background?: boolean;
}

interface Slot {
  part: Part;
  label: number;
  score: number;
  at: number;
  /** Identity of the outcome (content hash), for matching a snapshot against the store. */
  id: string;
}

interface Part {
  key: string;
  /** Every vector of the partition, full length: the scan of a small partition, the exact re-rank of a large one. */
  flat: FlatIndex;
  /** Over projected vectors (or full ones with `projectTo: 0`), once the partition outgrows the scan. */
  graph: HnswIndex | undefined;
  slots: Map<number, Slot>;
  nextLabel: number;
  /** The graph being built for this partition in the background (it replaces `graph` when the job is done). */
  build: Build | undefined;
}

/**
 * A graph being built: the labels to insert, in order (outcomes added
 * meanwhile are appended); once the queue is through (`done`) while the job
 * builds other partitions, outcomes added are inserted at once, as into a
 * live graph.
 */
interface Build {
  part: Part;
  /** Made when the job reaches this build (creating a large graph takes milliseconds). */
  graph: HnswIndex | undefined;
  capacity: number;
  /** The space of the graph (undefined: full vectors). */
  projection: Projection | undefined;
  queue: number[];
  next: number;
  done: boolean;
}

/**
 * Background work, one at a time: `fit` fits a new projection (on a sample
 * taken when the job starts) then builds every partition's graph in it;
 * `build` gives one partition its first graph; `grow` rebuilds one into a
 * larger graph before it fills up. Nothing changes what searches see until
 * the job is done.
 */
interface Job {
  kind: 'fit' | 'build' | 'grow';
  /** The fit still running (fit only). */
  fit: Generator<void, Projection> | undefined;
  /** The space of the graphs being built (undefined: full vectors). */
  projection: Projection | undefined;
  /** Outcomes held when the fit's sample was taken. */
  fittedAt: number;
  builds: Build[];
  /** Index in `builds` of the one being worked on. */
  at: number;
}

/** Longest run of background work per event-loop turn (one step, e.g. a graph insert, may pass it by a fraction of a millisecond). */
const SLICE_MS = 3;
/**
 * A graph is rebuilt into a larger one once it holds this share of its
 * capacity: the rebuild must finish before the graph is full, or the insert
 * that fills it falls back to hnswlib's synchronous resize. At 0.75 the
 * rebuild of the second of two partitions growing together did not keep up
 * with one outcome recorded per event-loop turn at 65k (bench stall mode:
 * a 136 ms resize).
 */
const GROW_AT = 0.5;

/** What a restore did, for logs, metrics and tests. */
export interface RestoreReport {
  /** `snapshot`: graphs read from the file; `rebuild`: every outcome inserted again. */
  source: 'snapshot' | 'rebuild';
  /** Why the snapshot was not used (rebuild only). */
  reason?: string;
  /** Outcomes held after the restore. */
  outcomes: number;
  /** Graph insertions the restore made (a snapshot restore inserts only what the snapshot lacks). */
  graphInserts: number;
  ms: number;
}

/** Partition key of a (scope, tier). */
function partKey(scope: string, tier: string): string {
  return `${scope}\u0000${tier.toLowerCase()}`;
}

/** The samples a projection is fitted on at most, and the outcome count past which it is no longer refitted. */
const FIT_SAMPLES = 768;
const REFIT_UNTIL = 4_096;

/**
 * Outcomes by (scope, tier), searchable by similarity, oldest evicted first.
 *
 * @example
 * const idx = new OutcomeIndex({ maxOutcomes: 100_000, maxAgeMs: 30 * 86_400_000 });
 * idx.add({ vector, tier: 'MEDIUM', score: 1, scope: '*', at: Date.now() });
 * idx.search('*', 'medium', query, 32); // [{ score: 1, similarity: 0.93 }, ...]
 */
export class OutcomeIndex {
  private readonly parts = new Map<string, Part>();
  /** Insertion order = age order (outcomes arrive in time order; a late one is placed by `at` on load only). */
  private readonly order = new Set<Slot>();
  private dim: number | undefined;
  private readonly flatMax: number;
  private readonly projectTo: number;
  private readonly candidates: number;
  private readonly ef: number;
  private readonly graphParams: { m: number; efConstruction: number };
  private readonly now: () => number;
  private projection: Projection | undefined;
  /** Outcomes held when the projection was fitted. */
  private fittedAt = 0;
  /** The last query projected, and its projection (the tiers of one decision share a query). */
  private lastQuery = new Float32Array(0);
  private lastProjected = new Float32Array(0);
  /** WebAssembly memory for the exact re-rank: the query, the scores, the gathered candidates (undefined: JavaScript). */
  private rerank: Dots | undefined;
  /** Graph insertions so far (observable: a snapshot restore makes none for the outcomes it holds). */
  graphInserts = 0;
  private readonly background: boolean;
  /** The last failure of background work (the job was dropped; undefined: none). */
  backgroundError: Error | undefined;
  /** Told of each failure of background work (the owner logs it: a dropped job leaves partitions scanned exactly). */
  onError: ((e: Error) => void) | undefined;
  private job: Job | undefined;
  /** A background turn is scheduled. */
  private timer: NodeJS.Immediate | undefined;
  /** Work may be needed (checked when the current job ends). */
  private wanted = false;
  /** Inside a snapshot restore: no work is started until it is done. */
  private restoring = false;
  private idle: Array<() => void> = [];
  /** Outcomes expected per partition (see `expect`). */
  private expected: Map<string, number> | undefined;
  /** The last snapshot write (writes are serialised). */
  private writing: Promise<void> = Promise.resolve();
  private snapshots = 0;
  /** Scratch for the projection of a vector being inserted by a background build. */
  private buildScratch = new Float32Array(0);
  /** Bumped by every change of the held outcomes (a snapshot is rewritten only after a change). */
  version = 0;

  constructor(private opts: OutcomeIndexOptions) {
    this.flatMax = opts.flatMax ?? 256;
    this.projectTo = opts.projectTo ?? 160;
    this.candidates = opts.candidates ?? 2;
    this.ef = opts.ef ?? 64;
    this.graphParams = { m: opts.m ?? GRAPH.m, efConstruction: GRAPH.efConstruction };
    this.now = opts.now ?? Date.now;
    this.background = opts.background ?? true;
  }

  /** New bounds; applied at once. */
  setBounds(maxOutcomes: number, maxAgeMs: number): void {
    this.opts = { ...this.opts, maxOutcomes, maxAgeMs };
    this.evict();
  }

  /** Vector length, fixed by the first outcome. */
  get dimensions(): number | undefined {
    return this.dim;
  }

  get size(): number {
    return this.order.size;
  }

  /** Whether an outcome can be held (right length, valid score, not too old). */
  private acceptable(o: Outcome): boolean {
    this.dim ??= o.vector.length;
    return o.vector.length === this.dim && o.score >= 0 && o.score <= 1 && this.now() - o.at <= this.opts.maxAgeMs;
  }

  private part(scope: string, tier: string): Part {
    const key = partKey(scope, tier);
    let part = this.parts.get(key);
    if (!part) {
      part = { key, flat: new FlatIndex(this.dim!), graph: undefined, slots: new Map(), nextLabel: 0, build: undefined };
      this.parts.set(key, part);
    }
    return part;
  }

  /** Adds an outcome; returns false (and keeps nothing) when its vector has the wrong length or it is already too old. */
  add(o: Outcome): boolean {
    if (!this.acceptable(o)) return false;
    const part = this.part(o.scope, o.tier);
    const label = part.nextLabel++;
    part.flat.add(label, o.vector);
    const graph = part.graph;
    if (graph) this.graphAdd(graph, label, o.vector);
    const build = part.build;
    if (build?.done) this.buildAdd(build, label, o.vector);
    else build?.queue.push(label);
    const slot: Slot = { part, label, score: o.score, at: o.at, id: outcomeId(o) };
    part.slots.set(label, slot);
    this.order.add(slot);
    this.version++;
    this.evict();
    if (
      (!graph && !part.build && part.flat.size > this.flatMax) ||
      (graph && !part.build && graph.size >= GROW_AT * graph.capacity && this.grownCapacity(graph, part.key) > graph.capacity) ||
      (this.projection && this.fittedAt < REFIT_UNTIL && this.order.size >= 4 * this.fittedAt)
    )
      this.want();
    return true;
  }

  /** Whether background work is running or scheduled (a refit, a graph build or growth). */
  get rebuilding(): boolean {
    return this.job !== undefined || this.timer !== undefined;
  }

  /**
   * Resolves once no background work is left (at once when there is none):
   * every graph then holds every outcome, in the current projection.
   *
   * @example
   * for (const o of list) idx.add(o);
   * await idx.settled(); // graphs built: searches no longer scan
   */
  settled(): Promise<void> {
    if (!this.rebuilding) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Asks for background work: scheduled for the next turn (or done now without `background`). */
  private want(): void {
    this.wanted = true;
    if (this.restoring || this.job) return;
    if (!this.background) {
      this.runAll();
      return;
    }
    this.timer ??= setImmediate(this.turn);
  }

  /**
   * Does all pending background work now, synchronously (blocking): for
   * offline tools that decide in a tight loop and must not depend on how far
   * the background got (an exact scan and a graph can differ in a neighbour).
   *
   * @example
   * for (const o of seeds) idx.add(o);
   * idx.finishNow(); // graphs built: every search goes through them
   */
  finishNow(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    try {
      this.runAll();
    } finally {
      if (!this.rebuilding) for (const resolve of this.idle.splice(0)) resolve();
      else this.timer ??= setImmediate(this.turn);
    }
  }

  /** Runs every job to completion (without `background`). */
  private runAll(): void {
    for (;;) {
      const job = this.job ?? this.nextJob();
      if (!job) return;
      this.job = job;
      while (!this.step(job, Number.POSITIVE_INFINITY));
      this.finish(job);
    }
  }

  /** One background turn: at most SLICE_MS of work, then the next turn is scheduled if work is left. */
  private readonly turn = (): void => {
    this.timer = undefined;
    const deadline = performance.now() + SLICE_MS;
    while (performance.now() < deadline) {
      let job: Job | undefined;
      try {
        job = this.job ?? this.nextJob();
        if (!job) break;
        this.job = job;
        if (this.step(job, deadline)) this.finish(job);
      } catch (e) {
        // Not thrown from a timer (it would end the process): the job is dropped, searches keep the current state.
        const err = e instanceof Error ? e : new Error(String(e));
        this.backgroundError = err;
        for (const b of job?.builds ?? []) b.part.build = undefined;
        this.job = undefined;
        this.wanted = false;
        try {
          this.onError?.(err);
        } catch {
          // A failing reporter must not end the process either.
        }
        break;
      }
    }
    if (this.job || this.wanted) this.timer = setImmediate(this.turn);
    else for (const resolve of this.idle.splice(0)) resolve();
  };

  /** The most urgent work needed, started (undefined: none). */
  private nextJob(): Job | undefined {
    if (!this.wanted || this.restoring) return undefined;
    this.wanted = false;
    const job = (kind: Job['kind']): Job => ({ kind, fit: undefined, projection: this.projection, fittedAt: this.fittedAt, builds: [], at: 0 });
    let needsGraph: Part | undefined;
    for (const p of this.parts.values()) {
      if (!p.graph && p.flat.size > this.flatMax) {
        needsGraph = p;
        break;
      }
    }
    if (this.projects() && (this.projection ? this.fittedAt < REFIT_UNTIL && this.order.size >= 4 * this.fittedAt : needsGraph)) {
      // Something else may be wanted once this is done (e.g. a partition that outgrows its scan meanwhile).
      this.wanted = true;
      const j = job('fit');
      j.fit = Projection.fitSteps(this.sample(), this.projectTo);
      j.fittedAt = this.order.size;
      return j;
    }
    this.wanted = true;
    if (needsGraph) {
      const j = job('build');
      j.builds.push(this.startBuild(needsGraph, j.projection, this.capacityFor(needsGraph.flat.size, needsGraph.key)));
      return j;
    }
    for (const p of this.parts.values()) {
      const g = p.graph;
      if (g && g.size >= GROW_AT * g.capacity && this.grownCapacity(g, p.key) > g.capacity) {
        const j = job('grow');
        j.builds.push(this.startBuild(p, j.projection, this.grownCapacity(g, p.key)));
        return j;
      }
    }
    this.wanted = false;
    return undefined;
  }

  /**
   * The capacity a filling graph is rebuilt into: double, but no more than
   * the index may hold (plus the one outcome added before the oldest is
   * evicted): a graph that large reuses the slots of removed outcomes and
   * never grows.
   */
  private grownCapacity(g: HnswIndex, key: string): number {
    return this.capacityFor(g.size, key);
  }

  /**
   * The capacity of a new graph for `n` outcomes (or the partition's expected
   * count, when larger): room to double before it must grow (at most what
   * the index may hold, plus one).
   */
  private capacityFor(n: number, key: string): number {
    const m = Math.max(n, this.expected?.get(key) ?? 0);
    return Math.max(1024, Math.min(Math.ceil((2 * m) / GROW_AT), this.opts.maxOutcomes + 1));
  }

  /**
   * Announces the outcomes about to be added (a restore at start): graphs
   * built meanwhile are sized for each partition's final count, so none is
   * rebuilt to grow on the way. `undefined` ends it.
   */
  expect(outcomes: readonly Outcome[] | undefined): void {
    if (!outcomes) {
      this.expected = undefined;
      return;
    }
    const counts = new Map<string, number>();
    for (const o of outcomes) {
      const key = partKey(o.scope, o.tier);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    this.expected = counts;
  }

  /** Copies of up to FIT_SAMPLES outcome vectors, evenly spread over all held (partition by partition, in storage order). */
  private sample(): Float32Array[] {
    let total = 0;
    for (const p of this.parts.values()) total += p.flat.size;
    const step = Math.max(1, total / FIT_SAMPLES);
    const sample: Float32Array[] = [];
    let base = 0;
    const parts = this.parts.values();
    let part = parts.next();
    for (let i = 0; i < total && sample.length < FIT_SAMPLES; i += step) {
      const at = Math.floor(i);
      while (!part.done && at >= base + part.value.flat.size) {
        base += part.value.flat.size;
        part = parts.next();
      }
      if (part.done) break;
      sample.push(part.value.flat.at(at - base).slice());
    }
    return sample;
  }

  private startBuild(part: Part, projection: Projection | undefined, capacity: number): Build {
    const b: Build = { part, graph: undefined, capacity, projection, queue: part.flat.labelList(), next: 0, done: false };
    part.build = b;
    return b;
  }

  private buildAdd(b: Build, label: number, vec: Float32Array): void {
    const p = b.projection;
    if (p && this.buildScratch.length !== p.to) this.buildScratch = new Float32Array(p.to);
    b.graph!.add(label, p ? p.project(vec, this.buildScratch) : vec);
    this.graphInserts++;
  }

  /** Works on `job` until `deadline`; true when it is done. */
  private step(job: Job, deadline: number): boolean {
    if (job.fit) {
      for (;;) {
        const r = job.fit.next();
        if (r.done) {
          job.fit = undefined;
          job.projection = r.value;
          // Every partition that has a graph or needs one gets one in the new space.
          for (const p of this.parts.values()) if (p.graph || p.flat.size > this.flatMax) job.builds.push(this.startBuild(p, job.projection, this.capacityFor(p.flat.size, p.key)));
          if (performance.now() >= deadline) return false;
          break;
        }
        if (performance.now() >= deadline) return false;
      }
    }
    while (job.at < job.builds.length) {
      const b = job.builds[job.at]!;
      if (!b.graph) {
        b.graph = HnswIndex.create(b.projection ? b.projection.to : this.dim!, b.capacity, { ...this.graphParams, efSearch: this.ef });
        if (performance.now() >= deadline) return false;
      }
      while (b.next < b.queue.length) {
        const label = b.queue[b.next++]!;
        const vec = b.part.flat.view(label);
        if (vec) this.buildAdd(b, label, vec); // else removed meanwhile
        if (b.next < b.queue.length && performance.now() >= deadline) return false;
      }
      b.done = true;
      b.queue = [];
      job.at++;
      if (job.at < job.builds.length && performance.now() >= deadline) return false;
    }
    return true;
  }

  /** Swaps in what `job` built (partitions emptied meanwhile are skipped). */
  private finish(job: Job): void {
    this.job = undefined;
    for (const b of job.builds) {
      b.part.build = undefined;
      if (b.graph && this.parts.get(b.part.key) === b.part) b.part.graph = b.graph;
    }
    if (job.kind === 'fit') {
      this.projection = job.projection;
      this.fittedAt = job.fittedAt;
      this.lastQuery = new Float32Array(0);
    }
  }

  /** Whether graphs hold projections (a projection at least as long as the vectors would gain nothing). */
  private projects(): boolean {
    return this.projectTo > 0 && this.projectTo < this.dim!;
  }

  private graphAdd(graph: HnswIndex, label: number, vec: Float32Array): void {
    graph.add(label, this.projection ? this.projection.project(vec) : vec);
    this.graphInserts++;
  }

  /** The projection of `query`, computed once for consecutive searches with the same vector. */
  private projected(query: Float32Array): Float32Array {
    const p = this.projection!;
    const last = this.lastQuery;
    if (last.length === query.length) {
      let same = true;
      for (let i = 0; i < query.length; i++) {
        if (last[i] !== query[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastProjected;
    }
    if (this.lastProjected.length !== p.to) this.lastProjected = new Float32Array(p.to);
    if (last.length !== query.length) this.lastQuery = new Float32Array(query.length);
    this.lastQuery.set(query);
    return p.project(query, this.lastProjected);
  }

  /** The `k` nearest of a partition, best first, with exact similarities. */
  private nearest(part: Part, query: Float32Array, k: number): Neighbour[] {
    const graph = part.graph;
    if (!graph) return part.flat.search(query, k);
    if (!this.projection) return graph.search(query, k);
    const found = graph.search(this.projected(query), k * this.candidates);
    const sims = this.exact(part.flat, found, query);
    // The best k by exact similarity (insertion).
    const best: Neighbour[] = [];
    for (let c = 0; c < found.length; c++) {
      const n = found[c]!;
      const sim = sims[c]!;
      if (best.length === k && sim <= best[k - 1]!.similarity) continue;
      let i = best.length < k ? best.length : k - 1;
      if (best.length < k) best.push(n);
      while (i > 0 && best[i - 1]!.similarity < sim) {
        best[i] = best[i - 1]!;
        i--;
      }
      n.similarity = sim;
      best[i] = n;
    }
    return best;
  }

  /** Exact similarities of `found` to `query` (a view valid until the next call). */
  private exact(flat: FlatIndex, found: readonly Neighbour[], query: Float32Array): ArrayLike<number> {
    const dim = query.length;
    if (dim % 4 !== 0 || !simdAvailable()) return found.map((n) => flat.similarity(n.label, query));
    const need = dim + found.length + found.length * dim;
    if (!this.rerank) this.rerank = new Dots(need);
    const d = this.rerank;
    d.reserve(need);
    const f = d.f32;
    f.set(query, 0);
    const rows = dim + found.length;
    for (let c = 0; c < found.length; c++) if (!flat.copyInto(found[c]!.label, f, rows + c * dim)) f.fill(0, rows + c * dim, rows + (c + 1) * dim);
    d.dots(0, rows, found.length, dim, dim);
    return f.subarray(dim, dim + found.length);
  }

  /**
   * The `k` most similar outcomes of a (scope, tier), best first. Expired
   * ones met on the way are dropped.
   */
  search(scope: string, tier: string, query: Float32Array, k: number): OutcomeMatch[] {
    const part = this.parts.get(partKey(scope, tier));
    if (!part || query.length !== this.dim) return [];
    const oldest = this.now() - this.opts.maxAgeMs;
    const out: OutcomeMatch[] = [];
    for (const n of this.nearest(part, query, k)) {
      const slot = part.slots.get(n.label);
      if (!slot) continue;
      if (slot.at < oldest) {
        this.remove(slot);
        continue;
      }
      out.push({ score: slot.score, similarity: n.similarity });
    }
    return out;
  }

  /** Outcomes held for a (scope, tier). */
  count(scope: string, tier: string): number {
    return this.parts.get(partKey(scope, tier))?.slots.size ?? 0;
  }

  private remove(slot: Slot): void {
    const part = slot.part;
    part.slots.delete(slot.label);
    part.flat.remove(slot.label);
    part.graph?.remove(slot.label);
    part.build?.graph?.remove(slot.label);
    this.order.delete(slot);
    this.version++;
    if (part.slots.size === 0) this.parts.delete(part.key);
  }

  private evict(): void {
    const oldest = this.now() - this.opts.maxAgeMs;
    for (const slot of this.order) {
      if (this.order.size <= this.opts.maxOutcomes && slot.at >= oldest) break;
      this.remove(slot);
    }
  }

  /**
   * Writes the graphs beside `path`: `<path>` is a JSON header (format,
   * dimensions, the projection, per partition its graph file with the file's
   * SHA-256 and each label's outcome identity) committed by rename after the
   * graph files `<path>.<generation>.<n>.hnsw`; older generations are then
   * removed. Waits for background work to settle first (a snapshot never
   * holds a graph about to be replaced); then one partition per event-loop
   * turn, its graph (hnswlib's native write, synchronous) and its labels
   * captured together; the checksums, header write and clean-up are
   * asynchronous. Calls are serialised.
   */
  writeSnapshot(path: string): Promise<void> {
    const run = this.writing.then(() => this.writeSnapshotNow(path));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async writeSnapshotNow(path: string): Promise<void> {
    const dir = dirname(path);
    const base = basename(path);
    mkdirSync(dir, { recursive: true });
    let gen: string;
    let parts: SnapshotPart[];
    let fitted: Projection | undefined;
    let fittedAt: number;
    // One partition per event-loop turn: its graph file and its labels are captured together (each partition is
    // consistent on its own; the restore matches entries to stored outcomes partition by partition). Started again
    // if the projection changes meanwhile: every graph of a snapshot must be in its projection.
    for (;;) {
      while (this.rebuilding) await this.settled();
      gen = `${Date.now().toString(36)}${process.pid.toString(36)}${(this.snapshots++).toString(36)}`;
      parts = [];
      fitted = this.projection;
      fittedAt = this.fittedAt;
      let n = 0;
      let same = true;
      for (const p of [...this.parts.values()]) {
        if (this.projection !== fitted) {
          same = false;
          break;
        }
        if (this.parts.get(p.key) !== p) continue; // emptied meanwhile
        let file: string | undefined;
        if (p.graph) {
          file = `${base}.${gen}.${n++}.hnsw`;
          p.graph.write(join(dir, file));
        }
        const ids: string[] = [];
        const labels: number[] = [];
        for (const s of p.slots.values()) {
          labels.push(s.label);
          ids.push(s.id);
        }
        parts.push({ key: p.key, nextLabel: p.nextLabel, ...(file ? { file } : {}), labels, ids });
        if (file) await new Promise((r) => setImmediate(r));
      }
      if (same && this.projection === fitted) break;
      for (const p of parts) if (p.file) await rm(join(dir, p.file), { force: true });
    }
    const projection = fitted ? { to: fitted.to, fittedAt, basis: f32ToBase64(fitted.basis) } : undefined;
    const dim = this.dim ?? 0;
    // From here on nothing reads the index: outcomes may come and go.
    for (const p of parts) if (p.file) p.sha256 = await sha256File(join(dir, p.file));
    const body: SnapshotBody = { dim, graph: { ...this.graphParams, ef: this.ef }, projectTo: this.projectTo, ...(projection ? { projection } : {}), parts };
    const text = JSON.stringify(body);
    const header: SnapshotFile = { format: SNAPSHOT_FORMAT, version: 1, sha256: createHash('sha256').update(text).digest('hex'), body: text };
    const tmp = join(dir, `.${base}.${gen}.tmp`);
    await writeFile(tmp, JSON.stringify(header));
    await rename(tmp, path);
    for (const f of await readdir(dir)) if (f.startsWith(`${base}.`) && f.endsWith('.hnsw') && !f.startsWith(`${base}.${gen}.`)) await rm(join(dir, f), { force: true });
  }

  /**
   * Restores `outcomes` (as read from the store, oldest first) into this
   * empty index from the snapshot at `path`: partitions, labels and graphs
   * come from the file, vectors from the outcomes; outcomes the snapshot
   * lacks are inserted, snapshot entries the store no longer holds are
   * deleted. A missing, corrupt or mismatched file (format, checksums,
   * dimensions, graph settings, or less than half of the outcomes found in
   * it) is not used: every outcome is inserted again. Never throws for a
   * bad file. A rebuild adds the outcomes in slices of a few milliseconds
   * (graphs sized for all of them at once) and waits for each background job
   * rather than racing ahead of it, so decisions meanwhile never scan a large
   * partition. Resolves once the graphs are built (`settled()`); undefined
   * when `stop()` said to give up.
   */
  restore(outcomes: readonly Outcome[], path: string | undefined): Promise<RestoreReport>;
  restore(outcomes: readonly Outcome[], path: string | undefined, stop: () => boolean): Promise<RestoreReport | undefined>;
  async restore(outcomes: readonly Outcome[], path: string | undefined, stop?: () => boolean): Promise<RestoreReport | undefined> {
    const t0 = performance.now();
    const inserts0 = this.graphInserts;
    const r =
      path === undefined ? { reason: 'no snapshot file configured' } : outcomes.length === 0 ? { reason: 'no stored outcomes' } : this.fromSnapshot(outcomes, path);
    if ('reason' in r) {
      this.expect(outcomes);
      try {
        if (!(await this.addSliced(outcomes, true, stop))) return undefined;
      } finally {
        this.expect(undefined);
      }
    }
    await this.settled();
    const source = 'reason' in r ? { source: 'rebuild' as const, reason: r.reason } : { source: 'snapshot' as const };
    return { ...source, outcomes: this.size, graphInserts: this.graphInserts - inserts0, ms: performance.now() - t0 };
  }

  /**
   * Adds outcomes in slices of a few milliseconds (graph inserts are CPU
   * work), so requests keep being decided meanwhile; with `waitForWork` a
   * slice also ends when background work starts, and the next waits for it.
   * False when `stop()` said to give up.
   *
   * @example
   * await idx.addSliced(await store.poll(), false);
   */
  async addSliced(list: readonly Outcome[], waitForWork: boolean, stop?: () => boolean): Promise<boolean> {
    for (let i = 0; i < list.length; ) {
      if (stop?.()) return false;
      const until = performance.now() + SLICE_MS;
      do this.add(list[i++]!);
      while (i < list.length && performance.now() < until && !(waitForWork && this.rebuilding));
      if (i < list.length) await (waitForWork && this.rebuilding ? this.settled() : new Promise((r) => setImmediate(r)));
    }
    return true;
  }

  /**
   * The snapshot half of {@link OutcomeIndex.restore}: restores from the
   * file, or returns why not and leaves the index empty (the caller then
   * inserts the outcomes, e.g. in slices).
   */
  fromSnapshot(outcomes: readonly Outcome[], path: string): RestoreReport | { reason: string } {
    const t0 = performance.now();
    const inserts0 = this.graphInserts;
    if (this.order.size > 0) return { reason: 'index not empty' };
    let reason: string | undefined;
    this.restoring = true;
    try {
      reason = this.restoreSnapshot(outcomes, path);
    } catch (e) {
      reason = `snapshot unreadable: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.restoring = false;
    }
    if (reason !== undefined) {
      this.reset();
      return { reason };
    }
    this.evict();
    // Partitions the snapshot had no graph for, or a refit it was written before.
    this.want();
    return { source: 'snapshot', outcomes: this.size, graphInserts: this.graphInserts - inserts0, ms: performance.now() - t0 };
  }

  private reset(): void {
    this.job = undefined;
    this.parts.clear();
    this.order.clear();
    this.projection = undefined;
    this.fittedAt = 0;
    this.lastQuery = new Float32Array(0);
  }

  /** Undefined when restored; else why the snapshot was not used (the index may then hold a partial state: reset it). */
  private restoreSnapshot(outcomes: readonly Outcome[], path: string): string | undefined {
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8');
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no snapshot at ${path}` : `snapshot unreadable: ${(e as Error).message}`;
    }
    const file = JSON.parse(raw) as Partial<SnapshotFile>;
    if (file.format !== SNAPSHOT_FORMAT || file.version !== 1 || typeof file.body !== 'string') return 'not an outcome-graph snapshot (version 1)';
    if (createHash('sha256').update(file.body).digest('hex') !== file.sha256) return 'snapshot header checksum mismatch';
    const body = JSON.parse(file.body) as SnapshotBody;
    const dim = outcomes[0]?.vector.length;
    if (dim === undefined) return 'no outcomes to restore';
    if (body.dim !== dim) return `snapshot has ${body.dim} dimensions, the outcomes ${dim}`;
    if (body.projectTo !== this.projectTo || body.graph.m !== this.graphParams.m || body.graph.efConstruction !== this.graphParams.efConstruction || body.graph.ef !== this.ef) return 'snapshot made with other graph settings';
    this.dim = dim;
    if (this.projects() !== (body.projection !== undefined) && body.parts.some((p) => p.file)) return 'snapshot graph and projection settings disagree';
    // Which stored outcome each snapshot entry is (identity → queue of outcome positions).
    const byId = new Map<string, number[]>();
    outcomes.forEach((o, i) => {
      if (!this.acceptable(o)) return;
      const id = `${partKey(o.scope, o.tier)}\u0000${outcomeId(o)}`;
      const q = byId.get(id);
      if (q) q.push(i);
      else byId.set(id, [i]);
    });
    this.dim = dim;
    const placed = new Map<number, { part: Part; label: number }>();
    const graphs: Array<{ part: Part; file: string; sha256: string | undefined; keep: Set<number> }> = [];
    for (const sp of body.parts) {
      if (sp.labels.length !== sp.ids.length) return 'snapshot partition malformed';
      const part: Part = { key: sp.key, flat: new FlatIndex(dim, Math.max(1, sp.labels.length)), graph: undefined, slots: new Map(), nextLabel: sp.nextLabel, build: undefined };
      const keep = new Set<number>();
      sp.labels.forEach((label, j) => {
        const q = byId.get(`${sp.key}\u0000${sp.ids[j]}`);
        const i = q?.shift();
        if (i === undefined) return;
        if (label >= sp.nextLabel) return;
        placed.set(i, { part, label });
        keep.add(label);
      });
      this.parts.set(sp.key, part);
      if (sp.file) graphs.push({ part, file: sp.file, sha256: sp.sha256, keep });
    }
    if (placed.size * 2 < outcomes.length) return `snapshot is stale: ${placed.size} of ${outcomes.length} outcomes found in it`;
    const dir = dirname(path);
    const graphDim = body.projection ? body.projection.to : dim;
    for (const g of graphs) {
      const bytes = readFileSync(join(dir, g.file));
      if (createHash('sha256').update(bytes).digest('hex') !== g.sha256) return `graph file ${g.file} checksum mismatch`;
      g.part.graph = HnswIndex.read(join(dir, g.file), graphDim, g.keep, { ...this.graphParams, efSearch: this.ef });
      if (g.part.graph.size !== g.keep.size) return `graph file ${g.file} lacks labels its header lists`;
    }
    if (body.projection) {
      this.projection = Projection.of(dim, body.projection.to, base64ToF32(body.projection.basis));
      this.fittedAt = body.projection.fittedAt;
    }
    // Outcomes in store order: the snapshot's own get their label back, the others are inserted.
    outcomes.forEach((o, i) => {
      const at = placed.get(i);
      if (!at) {
        this.add(o);
        return;
      }
      at.part.flat.add(at.label, o.vector);
      const slot: Slot = { part: at.part, label: at.label, score: o.score, at: o.at, id: outcomeId(o) };
      at.part.slots.set(at.label, slot);
      this.order.add(slot);
    });
    for (const [key, p] of this.parts) if (p.slots.size === 0) this.parts.delete(key);
    return undefined;
  }
}

/**
 * Graph parameters. On 512-d sentence embeddings (bench/routing.ts: 100k
 * outcomes in two partitions, k = 32, recall@32 against an exact scan),
 * outcomes come in tight clusters of near duplicates: M = 16 left some
 * clusters unreachable (with efConstruction 64 over the full vectors, and
 * again over projections: a query found 1 of its 32 neighbours), M = 24,
 * efConstruction = 100 keeps them connected. Over 160-d projections with 2k
 * candidates re-ranked exactly the graph finds as much as over the full
 * vectors (same-run recall 0.997 against 0.998) for ~30% less CPU per
 * search, and builds ~2x faster: a search is bound by memory latency (~2,000
 * node visits) and a node is 3x smaller. 128-d lost a little recall (0.996),
 * 96-d more (0.992), 64-d more still (0.97).
 */
const GRAPH = { m: 24, efConstruction: 100 } as const;

const SNAPSHOT_FORMAT = 'switchyard-outcome-graph';

interface SnapshotPart {
  key: string;
  nextLabel: number;
  file?: string;
  sha256?: string;
  labels: number[];
  ids: string[];
}

interface SnapshotBody {
  dim: number;
  graph: { m: number; efConstruction: number; ef: number };
  projectTo: number;
  projection?: { to: number; fittedAt: number; basis: string };
  parts: SnapshotPart[];
}

interface SnapshotFile {
  format: typeof SNAPSHOT_FORMAT;
  version: 1;
  /** SHA-256 of `body`. */
  sha256: string;
  body: string;
}

/** SHA-256 of a file, read in chunks (hashing a 100 MB graph at once blocked the event loop ~0.2 s). */
async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function f32ToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function base64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.byteLength));
  return out;
}

/**
 * An outcome's identity: a hash of its int8 codes (as stored: the same for the
 * live vector and its copy read back from the store), score and time.
 */
function outcomeId(o: Outcome): string {
  const codes = o.codes ?? quantize(o.vector);
  let h1 = 0xdeadbeef ^ Math.round(o.at);
  let h2 = 0x41c6ce57 ^ Math.round(o.score * 1e6);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${(h1 >>> 0).toString(36)}.${(h2 >>> 0).toString(36)}.${o.at.toString(36)}`;
}
