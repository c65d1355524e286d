/**
 * The index of a large partition: hnswlib-node's `HierarchicalNSW` in inner
 * product space (vectors are unit length, so 1 - distance is the cosine).
 * Removed entries are `markDelete`d and their slots reused by later inserts
 * (`allowReplaceDeleted`), so a bounded cache never grows its graph.
 */
import hnswlib from 'hnswlib-node';
import type { Neighbour } from './flat.js';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

/** Graph parameters. */
export interface HnswParams {
  /** Links per node (default 16). */
  m?: number;
  /** Candidate list while building (default 64). */
  efConstruction?: number;
  /** Candidate list while searching (default 64). */
  efSearch?: number;
}

/**
 * A growable HNSW graph keyed by caller labels.
 *
 * @example
 * ```ts
 * const idx = HnswIndex.create(512, 1024);
 * idx.add(1, vec);
 * idx.search(query, 4);
 * ```
 */
export class HnswIndex {
  private live = 0;
  private deleted = 0;
  private readonly labels = new Set<number>();
  /**
   * hnswlib-node takes only a plain `number[]` (it reads it element by
   * element); one reused array of `dim` doubles spares an allocation and a
   * copy per call (`Array.from` of a Float32Array costs ~10 µs at 512-d).
   */
  private readonly buf: number[];
  /** The ef last given to the graph (a native `getEf` per search is avoided). */
  private ef: number;
  /** Element slots allocated (hnswlib's max elements), kept here: no native call per insert. */
  private cap: number;

  private constructor(
    private readonly index: Hnsw,
    readonly dim: number,
    private readonly params: HnswParams,
  ) {
    this.ef = params.efSearch ?? 64;
    index.setEf(this.ef);
    this.cap = index.getMaxElements();
    this.buf = new Array<number>(dim).fill(0);
  }

  /** The reused argument array, holding `vec`. */
  private arg(vec: Float32Array): number[] {
    const b = this.buf;
    for (let i = 0; i < b.length; i++) b[i] = vec[i]!;
    return b;
  }

  /** An empty graph with room for `capacity` vectors (it grows when full). */
  static create(dim: number, capacity: number, params: HnswParams = {}): HnswIndex {
    const index = new HierarchicalNSW('ip', dim);
    index.initIndex({ maxElements: capacity, m: params.m ?? 16, efConstruction: params.efConstruction ?? 64, randomSeed: 100, allowReplaceDeleted: true });
    return new HnswIndex(index, dim, params);
  }

  /** Reads a graph written by {@link HnswIndex.write}; `keep` lists the labels still wanted, the others are deleted. */
  static read(file: string, dim: number, keep: Set<number>, params: HnswParams = {}): HnswIndex {
    const index = new HierarchicalNSW('ip', dim);
    index.readIndexSync(file, true);
    const idx = new HnswIndex(index, dim, params);
    // The label list also holds labels deleted before the snapshot; marking them again throws.
    for (const label of index.getIdsList()) {
      if (keep.has(label)) {
        idx.labels.add(label);
        idx.live++;
      } else {
        try {
          index.markDelete(label);
        } catch {
          /* already deleted */
        }
      }
    }
    idx.deleted = index.getCurrentCount() - idx.live;
    return idx;
  }

  get size(): number {
    return this.live;
  }

  /**
   * Element slots allocated. An insert into a full graph (no deleted slot to
   * reuse) doubles it: a synchronous native copy of the whole graph (tens of
   * ms at 10k+ elements).
   */
  get capacity(): number {
    return this.cap;
  }

  /**
   * Approximate bytes held, native memory included: hnswlib allocates every
   * element slot up front (vector, level-0 links, label), so this counts the
   * capacity, not the live entries; plus the label set.
   */
  get bytes(): number {
    const m = this.params.m ?? 16;
    const perSlot = this.dim * 4 + (2 * m + 1) * 4 + 8 + 2 + 48; // vector, level-0 links, label, visited list, label lookup
    return 256 + this.index.getMaxElements() * perSlot + this.labels.size * 48;
  }

  /** The live labels. */
  liveLabels(): IterableIterator<number> {
    return this.labels.values();
  }

  /** A copy of a stored vector. */
  vector(label: number): Float32Array {
    return Float32Array.from(this.index.getPoint(label));
  }

  has(label: number): boolean {
    return this.labels.has(label);
  }

  /** Adds a vector under a label never used before in this index. */
  add(label: number, vec: Float32Array): void {
    if (vec.length !== this.dim) throw new Error(`vector has ${vec.length} dimensions, the index ${this.dim}`);
    if (this.deleted === 0 && this.live >= this.cap) {
      this.index.resizeIndex(this.cap * 2);
      this.cap = this.index.getMaxElements();
    }
    this.index.addPoint(this.arg(vec), label, true);
    if (this.deleted > 0) this.deleted--;
    this.labels.add(label);
    this.live++;
  }

  remove(label: number): boolean {
    if (!this.labels.delete(label)) return false;
    this.index.markDelete(label);
    this.live--;
    this.deleted++;
    return true;
  }

  /** The `k` most similar live vectors, best first. */
  search(query: Float32Array, k: number): Neighbour[] {
    if (this.live === 0) return [];
    const n = Math.min(k, this.live);
    const ef = Math.max(this.params.efSearch ?? 64, n);
    if (ef !== this.ef) this.index.setEf((this.ef = ef));
    if (query.length !== this.dim) throw new Error(`query has ${query.length} dimensions, the index ${this.dim}`);
    const { distances, neighbors } = this.index.searchKnn(this.arg(query), n);
    const out = new Array<Neighbour>(neighbors.length);
    for (let i = 0; i < neighbors.length; i++) out[i] = { label: neighbors[i]!, similarity: 1 - distances[i]! };
    return out;
  }

  /** Writes the graph (synchronously: an async write would race with inserts). */
  write(file: string): void {
    this.index.writeIndexSync(file);
  }
}
