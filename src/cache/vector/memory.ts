/**
 * In-process semantic index: one index per partition, a linear scan while
 * the partition is small ({@link FlatIndex}) and an HNSW graph
 * ({@link HnswIndex}, hnswlib-node) once it grows past `flatMax`.
 *
 * Why one index per partition rather than one global graph with a filter:
 * most partitions are tiny (each conversation prefix is its own partition),
 * and a filtered HNSW search for a rare partition walks most of the graph
 * calling a JS filter per node (see bench/cache.ts, "global+filter"). Per
 * partition, a lookup only touches its own entries.
 *
 * Bounded to `maxEntries` and to `maxBytes` (approximate: vectors by the
 * capacity their index allocated, native HNSW memory included, plus records)
 * across partitions, least recently used first; each entry has an expiry. A
 * graph partition that shrinks back to a quarter of `flatMax` returns to a flat
 * index, which gives its native memory back. `snapshot(path)`/`restore(path)` keep the cache across
 * restarts (see snapshot.ts).
 */
import { responseBytes, type VectorMatch, type VectorRecord, type VectorStore } from '../types.js';
import { FlatIndex } from './flat.js';
import { HnswIndex, type HnswParams } from './hnsw.js';
import { readSnapshot, writeSnapshot, type SnapshotPartition } from './snapshot.js';

/** Options of {@link MemoryVectorStore}. */
export interface MemoryVectorStoreOptions {
  maxEntries: number;
  /** Approximate bytes the store may hold (vectors, graphs, records); default unbounded. */
  maxBytes?: number;
  /** Partitions above this size move to an HNSW graph (default 128: a scan of 128 unit vectors of 512 floats costs about what a graph search does). */
  flatMax?: number;
  hnsw?: HnswParams;
  /** Written into snapshots; a snapshot of another embedder is not restored. */
  embedderId?: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Entry {
  record: VectorRecord;
  /** Position in the LRU order. */
  seq: number;
  /** Approximate bytes of the record and bookkeeping (the vector is counted by the index). */
  bytes: number;
}

/** Per entry: the Entry and record objects, an `entries` and an `order` Map slot. */
const ENTRY_OVERHEAD = 240;
/** Per partition: the Part object, its `entries` Map and its key in `parts`. */
const PART_OVERHEAD = 560;

/** Approximate bytes of a record held in memory (strings are UTF-16). */
export function recordBytes(r: VectorRecord): number {
  return ENTRY_OVERHEAD + 2 * (r.partition.length + r.model.length + r.text.length + (r.sig?.length ?? 0) + (r.id?.length ?? 0)) + responseBytes(r.response);
}

/** @internal One partition's index and entries. */
export interface Part {
  id: string;
  index: FlatIndex | HnswIndex;
  entries: Map<number, Entry>;
  nextLabel: number;
  /** `index.bytes` as last counted into the store's total. */
  indexBytes: number;
}

/**
 * Partitioned nearest-neighbour store in process memory.
 *
 * @example
 * ```ts
 * const store = new MemoryVectorStore({ maxEntries: 100_000 });
 * await store.add(vec, { partition, model, text, response, expiresAt });
 * const [best] = await store.search(partition, query, 4);
 * ```
 */
export class MemoryVectorStore implements VectorStore {
  readonly kind = 'memory' as const;
  private readonly parts = new Map<string, Part>();
  /** LRU order across partitions: seq → where the entry lives. Oldest first. */
  private readonly order = new Map<number, { part: Part; label: number }>();
  private seq = 0;
  private bytes = 0;
  private dim: number | undefined;
  private readonly flatMax: number;
  private readonly now: () => number;

  constructor(private readonly opts: MemoryVectorStoreOptions) {
    this.flatMax = opts.flatMax ?? 128;
    this.now = opts.now ?? Date.now;
  }

  /** Vector length, fixed by the first vector added or restored. */
  get dimensions(): number | undefined {
    return this.dim;
  }

  /** Approximate bytes held (see the class comment). */
  get byteSize(): number {
    return this.bytes;
  }

  /** Number of partitions, and how many use a graph. */
  partitions(): { total: number; hnsw: number } {
    let hnsw = 0;
    for (const p of this.parts.values()) if (p.index instanceof HnswIndex) hnsw++;
    return { total: this.parts.size, hnsw };
  }

  async add(vector: Float32Array, record: VectorRecord): Promise<void> {
    this.addSync(vector, record);
  }

  /** {@link add} without the promise (bulk loads, benchmarks). */
  addSync(vector: Float32Array, record: VectorRecord): void {
    this.dim ??= vector.length;
    if (vector.length !== this.dim) throw new Error(`vector has ${vector.length} dimensions, the store ${this.dim}`);
    let part = this.parts.get(record.partition);
    if (part === undefined) {
      part = { id: record.partition, index: new FlatIndex(this.dim), entries: new Map(), nextLabel: 0, indexBytes: 0 };
      this.parts.set(part.id, part);
      this.bytes += PART_OVERHEAD + 2 * part.id.length;
    }
    const label = part.nextLabel++;
    if (part.index instanceof FlatIndex && part.index.size >= this.flatMax) part.index = this.promote(part.index);
    part.index.add(label, vector);
    this.recount(part);
    this.track(part, label, record);
    this.evict();
  }

  async search(partition: string, vector: Float32Array, k: number): Promise<VectorMatch[]> {
    return this.searchSync(partition, vector, k);
  }

  /** {@link search} without the promise. */
  searchSync(partition: string, vector: Float32Array, k: number): VectorMatch[] {
    const part = this.parts.get(partition);
    if (part === undefined || vector.length !== this.dim) return [];
    const now = this.now();
    const out: VectorMatch[] = [];
    // Ask for a few extra in case some have expired.
    for (const n of part.index.search(vector, k + 2)) {
      const entry = part.entries.get(n.label);
      if (entry === undefined) continue;
      if (entry.record.expiresAt <= now) {
        this.removeEntry(part, n.label, entry);
        continue;
      }
      if (out.length < k) {
        out.push({ record: entry.record, similarity: n.similarity });
        this.touch(entry);
      }
    }
    return out;
  }

  async purge(partitionPrefix: string): Promise<number> {
    let n = 0;
    for (const part of [...this.parts.values()]) {
      if (!part.id.startsWith(partitionPrefix)) continue;
      for (const [label, entry] of [...part.entries]) {
        this.removeEntry(part, label, entry);
        n++;
      }
    }
    return n;
  }

  /** Removes expired entries everywhere; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const { part, label } of [...this.order.values()]) {
      const entry = part.entries.get(label);
      if (entry !== undefined && entry.record.expiresAt <= now) {
        this.removeEntry(part, label, entry);
        n++;
      }
    }
    return n;
  }

  size(): number {
    return this.order.size;
  }

  async close(): Promise<void> {
    this.parts.clear();
    this.order.clear();
    this.bytes = 0;
  }

  /**
   * Writes the live entries to `path` (NDJSON of records, flat vectors
   * inline) plus one graph file per HNSW partition; the NDJSON file is
   * renamed into place last, so a crash leaves the previous snapshot whole.
   */
  async snapshot(path: string): Promise<{ entries: number; partitions: number }> {
    this.sweep();
    const parts: SnapshotPartition[] = [...this.parts.values()].map((p) => ({
      id: p.id,
      nextLabel: p.nextLabel,
      flat: p.index instanceof FlatIndex ? p.index : undefined,
      hnsw: p.index instanceof HnswIndex ? p.index : undefined,
    }));
    const ordered = [...this.order.values()].map(({ part, label }) => ({ partition: part.id, label, record: part.entries.get(label)!.record }));
    await writeSnapshot(path, { dim: this.dim ?? 0, embedderId: this.opts.embedderId, parts, ordered });
    return { entries: ordered.length, partitions: parts.length };
  }

  /**
   * Loads a snapshot into an empty store. Resolves to the entries restored,
   * or to a reason when nothing was (missing file, other embedder or dim).
   */
  async restore(path: string): Promise<{ entries: number } | { skipped: string }> {
    if (this.order.size > 0) return { skipped: 'store is not empty' };
    const snap = await readSnapshot(path, { embedderId: this.opts.embedderId, dim: this.dim, hnsw: this.opts.hnsw, now: this.now() });
    if ('skipped' in snap) return snap;
    this.dim = snap.dim;
    for (const p of snap.parts) {
      const part: Part = { id: p.id, index: p.index, entries: new Map(), nextLabel: p.nextLabel, indexBytes: 0 };
      this.parts.set(p.id, part);
      this.bytes += PART_OVERHEAD + 2 * part.id.length;
      this.recount(part);
    }
    for (const { partition, label, record } of snap.ordered) this.track(this.parts.get(partition)!, label, record);
    for (const part of [...this.parts.values()]) if (part.entries.size === 0) this.dropPart(part);
    this.evict();
    return { entries: this.order.size };
  }

  private promote(flat: FlatIndex): HnswIndex {
    const graph = HnswIndex.create(flat.dim, Math.max(256, flat.size * 2), this.opts.hnsw);
    for (const [label, vec] of flat.entries()) graph.add(label, vec);
    return graph;
  }

  private track(part: Part, label: number, record: VectorRecord): void {
    const seq = this.seq++;
    const bytes = recordBytes(record);
    part.entries.set(label, { record, seq, bytes });
    this.order.set(seq, { part, label });
    this.bytes += bytes;
  }

  /** Brings the total up to date with a partition's index size. */
  private recount(part: Part): void {
    const now = part.index.bytes;
    this.bytes += now - part.indexBytes;
    part.indexBytes = now;
  }

  private dropPart(part: Part): void {
    this.parts.delete(part.id);
    this.bytes -= PART_OVERHEAD + 2 * part.id.length + part.indexBytes;
    part.indexBytes = 0;
  }

  /** A graph partition that shrank to a quarter of `flatMax` goes back to a flat index (its native memory is freed). */
  private demote(part: Part, graph: HnswIndex): void {
    const flat = new FlatIndex(graph.dim, Math.max(1, graph.size));
    for (const label of graph.liveLabels()) flat.add(label, graph.vector(label));
    part.index = flat;
  }

  private touch(entry: Entry): void {
    const where = this.order.get(entry.seq);
    if (where === undefined) return;
    this.order.delete(entry.seq);
    entry.seq = this.seq++;
    this.order.set(entry.seq, where);
  }

  private removeEntry(part: Part, label: number, entry: Entry): void {
    part.entries.delete(label);
    part.index.remove(label);
    this.order.delete(entry.seq);
    this.bytes -= entry.bytes;
    if (part.entries.size === 0) return this.dropPart(part);
    if (part.index instanceof HnswIndex && part.index.size <= this.flatMax / 4) this.demote(part, part.index);
    this.recount(part);
  }

  private evict(): void {
    const maxBytes = this.opts.maxBytes ?? Infinity;
    while (this.order.size > this.opts.maxEntries || (this.bytes > maxBytes && this.order.size > 0)) {
      const first = this.order.entries().next();
      if (first.done === true) return;
      const [, { part, label }] = first.value;
      const entry = part.entries.get(label);
      if (entry === undefined) this.order.delete(first.value[0]);
      else this.removeEntry(part, label, entry);
    }
  }
}
