import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorRecord } from '../../src/cache/types.js';
import { FlatIndex } from '../../src/cache/vector/flat.js';
import { MemoryVectorStore } from '../../src/cache/vector/memory.js';

/** Deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unit(rand: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rand() - 0.5;
    n += v[i]! * v[i]!;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i]! /= n;
  return v;
}

function record(partition: string, text: string, expiresAt = Number.MAX_SAFE_INTEGER): VectorRecord {
  return { partition, model: 'g', text, response: { id: text, model: 'm', created: 0, text: `answer to ${text}`, finishReason: 'stop' }, expiresAt };
}

describe('FlatIndex', () => {
  it('returns the top k by dot product, best first, and removes in O(1) without losing others', () => {
    const rand = rng(1);
    const f = new FlatIndex(16);
    const vecs = Array.from({ length: 50 }, () => unit(rand, 16));
    vecs.forEach((v, i) => f.add(i, v));
    const q = unit(rand, 16);
    const truth = vecs.map((v, i) => ({ i, s: v.reduce((a, x, j) => a + x * q[j]!, 0) })).sort((a, b) => b.s - a.s);
    expect(f.search(q, 3).map((n) => n.label)).toEqual(truth.slice(0, 3).map((t) => t.i));
    f.remove(truth[0]!.i);
    expect(f.search(q, 1)[0]!.label).toBe(truth[1]!.i);
    expect(f.size).toBe(49);
  });

  it('past one storage chunk (1,024 vectors): search, removal and shrinking stay exact', () => {
    const rand = rng(2);
    const f = new FlatIndex(8);
    const vecs = new Map<number, Float32Array>();
    for (let i = 0; i < 3_000; i++) {
      const v = unit(rand, 8);
      vecs.set(i, v);
      f.add(i, v);
    }
    const check = () => {
      expect(f.size).toBe(vecs.size);
      for (let t = 0; t < 20; t++) {
        const q = unit(rand, 8);
        const truth = [...vecs].map(([i, v]) => ({ i, s: v.reduce((a, x, j) => a + x * q[j]!, 0) })).sort((a, b) => b.s - a.s);
        expect(f.search(q, 5).map((n) => n.label)).toEqual(truth.slice(0, 5).map((x) => x.i));
      }
      for (const [i, v] of vecs) expect(Array.from(f.vector(i)!)).toEqual(Array.from(v));
    };
    check();
    // Remove from everywhere (the last vector moves into each hole, across chunks), then most of them (the buffers shrink).
    for (let i = 0; i < 3_000; i += 3) {
      f.remove(i);
      vecs.delete(i);
    }
    check();
    const before = f.bytes;
    for (let i = 0; i < 2_900; i++) if (vecs.delete(i)) f.remove(i);
    check();
    expect(f.bytes).toBeLessThan(before / 2);
  });
});

describe('MemoryVectorStore', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-vec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the same nearest neighbour as brute force once a partition uses the HNSW graph', async () => {
    const rand = rng(7);
    const dim = 32;
    const store = new MemoryVectorStore({ maxEntries: 10_000, flatMax: 64 });
    const vecs = Array.from({ length: 3000 }, () => unit(rand, dim));
    vecs.forEach((v, i) => store.addSync(v, record('p', `q${i}`)));
    expect(store.partitions().hnsw).toBe(1);
    let agree = 0;
    const queries = 200;
    for (let j = 0; j < queries; j++) {
      const q = unit(rand, dim);
      let best = -1;
      let bestSim = -Infinity;
      vecs.forEach((v, i) => {
        let s = 0;
        for (let d = 0; d < dim; d++) s += v[d]! * q[d]!;
        if (s > bestSim) [best, bestSim] = [i, s];
      });
      const [hit] = store.searchSync('p', q, 1);
      if (hit!.record.text === `q${best}`) agree++;
      expect(hit!.similarity).toBeLessThanOrEqual(bestSim + 1e-5);
    }
    expect(agree / queries).toBeGreaterThanOrEqual(0.97);
  });

  it('never returns another partition’s entries', async () => {
    const rand = rng(3);
    const store = new MemoryVectorStore({ maxEntries: 100 });
    const v = unit(rand, 8);
    await store.add(v, record('tenantA:g:p', 'same question'));
    expect(await store.search('tenantB:g:p', v, 4)).toEqual([]);
    const [hit] = await store.search('tenantA:g:p', v, 4);
    expect(hit!.similarity).toBeCloseTo(1, 5);
  });

  it('evicts the least recently used entries beyond maxEntries', async () => {
    const rand = rng(4);
    const store = new MemoryVectorStore({ maxEntries: 3 });
    const v = Array.from({ length: 4 }, () => unit(rand, 8));
    await store.add(v[0]!, record('p', 'a'));
    await store.add(v[1]!, record('q', 'b'));
    await store.add(v[2]!, record('p', 'c'));
    await store.search('p', v[0]!, 1); // touches a; b is now the oldest
    await store.add(v[3]!, record('p', 'd'));
    expect(store.size()).toBe(3);
    expect(await store.search('q', v[1]!, 1)).toEqual([]);
    expect((await store.search('p', v[0]!, 1))[0]!.record.text).toBe('a');
  });

  it('evicts from HNSW partitions and reuses their slots', async () => {
    const rand = rng(5);
    const store = new MemoryVectorStore({ maxEntries: 200, flatMax: 16 });
    for (let i = 0; i < 1000; i++) store.addSync(unit(rand, 16), record('p', `q${i}`));
    expect(store.size()).toBe(200);
    const v = unit(rand, 16);
    store.addSync(v, record('p', 'newest'));
    expect(store.searchSync('p', v, 1)[0]!.record.text).toBe('newest');
  });

  it('skips and drops expired entries', async () => {
    let now = 0;
    const rand = rng(6);
    const store = new MemoryVectorStore({ maxEntries: 10, now: () => now });
    const v = unit(rand, 8);
    await store.add(v, record('p', 'short', 1000));
    await store.add(unit(rand, 8), record('p', 'long', 5000));
    now = 1000;
    const hits = await store.search('p', v, 4);
    expect(hits.map((h) => h.record.text)).toEqual(['long']);
    expect(store.size()).toBe(1);
  });

  it('purges partitions by prefix', async () => {
    const rand = rng(8);
    const store = new MemoryVectorStore({ maxEntries: 10 });
    await store.add(unit(rand, 8), record('t1:g1:a', 'x'));
    await store.add(unit(rand, 8), record('t1:g2:b', 'y'));
    await store.add(unit(rand, 8), record('t2:g1:c', 'z'));
    expect(await store.purge('t1:')).toBe(2);
    expect(store.size()).toBe(1);
  });

  it('round-trips a snapshot with flat and HNSW partitions, dropping expired entries', async () => {
    let now = 0;
    const rand = rng(9);
    const dim = 24;
    const path = join(dir, 'vectors.ndjson');
    // 352 adds into 302 slots: the 50 oldest are evicted, leaving deleted nodes in the graph.
    const a = new MemoryVectorStore({ maxEntries: 302, flatMax: 32, embedderId: 'test-embedder', now: () => now });
    for (let i = 0; i < 50; i++) a.addSync(unit(rand, dim), record('big', `evicted${i}`));
    const big = Array.from({ length: 300 }, () => unit(rand, dim));
    big.forEach((v, i) => a.addSync(v, record('big', `b${i}`)));
    const small = unit(rand, dim);
    a.addSync(small, record('small', 'only one'));
    a.addSync(unit(rand, dim), record('small', 'expiring', 500));
    expect(a.partitions()).toEqual({ total: 2, hnsw: 1 });
    expect(a.size()).toBe(302);

    await a.snapshot(path);
    await a.snapshot(path); // a second generation replaces the first one's graph files
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.hnsw'))).toHaveLength(1);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);

    now = 1000;
    const b = new MemoryVectorStore({ maxEntries: 10_000, flatMax: 32, embedderId: 'test-embedder', now: () => now });
    const restored = await b.restore(path);
    expect(restored).toEqual({ entries: 301 });
    for (const i of [0, 17, 299]) {
      const [hit] = b.searchSync('big', big[i]!, 1);
      expect(hit!.record.text).toBe(`b${i}`);
      expect(hit!.record.response.text).toBe(`answer to b${i}`);
      expect(hit!.similarity).toBeCloseTo(1, 4);
    }
    expect(b.searchSync('small', small, 4).map((h) => h.record.text)).toEqual(['only one']);
    // New entries after a restore get fresh labels in the restored graph.
    const fresh = unit(rand, dim);
    b.addSync(fresh, record('big', 'after restore'));
    expect(b.searchSync('big', fresh, 1)[0]!.record.text).toBe('after restore');

    const other = new MemoryVectorStore({ maxEntries: 10, embedderId: 'another-embedder' });
    expect(await other.restore(path)).toEqual({ skipped: expect.stringContaining('another-embedder') });
    expect(await other.restore(join(dir, 'missing.ndjson'))).toEqual({ skipped: expect.stringContaining('no snapshot') });
  });

  it('stays within maxBytes across partitions, least recently used out first', async () => {
    const rand = rng(11);
    const dim = 64;
    const store = new MemoryVectorStore({ maxEntries: 1_000_000, maxBytes: 200_000 });
    const first = unit(rand, dim);
    store.addSync(first, record('p0', 'kept because it is used'));
    for (let i = 1; i < 2000; i++) {
      store.addSync(unit(rand, dim), record(`p${i % 300}`, `q${i}`));
      if (i % 50 === 0) expect(store.searchSync('p0', first, 1)[0]?.record.text).toBe('kept because it is used'); // touched: stays
      expect(store.byteSize).toBeLessThanOrEqual(200_000);
    }
    expect(store.size()).toBeGreaterThan(50);
    expect(store.size()).toBeLessThan(2000);
    // The oldest untouched entries went first.
    expect(store.searchSync('p1', unit(rand, dim), 4).map((h) => h.record.text)).not.toContain('q1');
  });

  it('counts a graph partition by what it allocated, and gives it back when the partition shrinks', async () => {
    const rand = rng(12);
    const dim = 32;
    const store = new MemoryVectorStore({ maxEntries: 100_000, flatMax: 16 });
    for (let i = 0; i < 100; i++) store.addSync(unit(rand, dim), record('big', `b${i}`));
    expect(store.partitions()).toEqual({ total: 1, hnsw: 1 });
    const withGraph = store.byteSize;
    expect(withGraph).toBeGreaterThan(256 * dim * 4); // hnswlib's first allocation: 256 slots
    // Expire most of it: the partition returns to a flat index (a quarter of flatMax or fewer).
    let n = 0;
    for (const v of Array.from({ length: 400 }, () => unit(rand, dim))) {
      for (const h of store.searchSync('big', v, 8)) {
        if (n >= 97) break;
        h.record.expiresAt = 0;
        n++;
      }
      if (n >= 97) break;
    }
    store.sweep();
    expect(store.size()).toBe(3);
    expect(store.partitions()).toEqual({ total: 1, hnsw: 0 });
    expect(store.byteSize).toBeLessThan(withGraph / 10);
    // Still searchable after the move.
    const v = unit(rand, dim);
    store.addSync(v, record('big', 'after'));
    expect(store.searchSync('big', v, 1)[0]!.record.text).toBe('after');
  });

  it('allocates one vector for a partition of one entry (no preallocated slots)', async () => {
    const rand = rng(13);
    const store = new MemoryVectorStore({ maxEntries: 10 });
    store.addSync(unit(rand, 512), record('p', 'q'));
    // 2 KB of vector plus the record and bookkeeping; it was 8 preallocated vectors (16 KB) before.
    expect(store.byteSize).toBeLessThan(4_000);
    expect(store.byteSize).toBeGreaterThan(2_048);
  });
});
