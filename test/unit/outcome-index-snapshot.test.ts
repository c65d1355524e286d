/**
 * The outcome index's low-dimensional graph and its snapshot: the projection
 * keeps the inner products of vectors in its subspace, the exact re-rank gives
 * the same neighbours and similarities as a scan, and a snapshot restores the
 * same index without a single graph insertion, while a corrupt, stale or
 * mismatched file is refused and the index rebuilt.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlatIndex } from '../../src/cache/vector/flat.js';
import { Projection } from '../../src/cache/vector/projection.js';
import { OutcomeIndex, type Outcome } from '../../src/routing/outcome-index.js';
import { embeddingLike as embeddingLikeOf, rng, unit } from '../helpers/vectors.js';

const DIM = 128;
const embeddingLike = embeddingLikeOf(DIM);



/** Repeated traffic: `bases` prompts seen many times with a little noise; the score encodes the position (identity). */
function outcomes(n: number, bases: number, seed: number, tiers = ['low', 'medium']): Outcome[] {
  const r = rng(seed);
  const centres = Array.from({ length: bases }, () => embeddingLike(r));
  return Array.from({ length: n }, (_, i) => ({
    vector: unit(Float32Array.from(centres[(i * 7) % bases]!, (x) => x + 0.01 * r())),
    tier: tiers[i % tiers.length]!,
    score: i / n,
    scope: '*',
    at: 1_000 + i,
  }));
}

const index = () => new OutcomeIndex({ maxOutcomes: 1_000_000, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 10_000_000, projectTo: 16 });

function queries(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => embeddingLike(r));
}

describe('Projection', () => {
  it('fits the subspace the vectors live in: inner products kept, rows orthonormal, deterministic', () => {
    const r = rng(3);
    // Vectors spanned by 6 random directions of a 128-d space.
    const dirs = Array.from({ length: 6 }, () => unit(Float32Array.from({ length: DIM }, r)));
    const vecs = Array.from({ length: 300 }, () => {
      const v = new Float32Array(DIM);
      for (const d of dirs) {
        const w = r();
        for (let i = 0; i < DIM; i++) v[i]! += w * d[i]!;
      }
      return unit(v);
    });
    const p = Projection.fit(vecs, 6);
    for (let a = 0; a < 6; a++) {
      for (let b = 0; b < 6; b++) {
        let d = 0;
        for (let i = 0; i < DIM; i++) d += p.basis[a * DIM + i]! * p.basis[b * DIM + i]!;
        expect(d).toBeCloseTo(a === b ? 1 : 0, 4);
      }
    }
    for (let t = 0; t < 50; t++) {
      const x = vecs[t]!;
      const y = vecs[t + 100]!;
      let full = 0;
      for (let i = 0; i < DIM; i++) full += x[i]! * y[i]!;
      const px = p.project(x);
      const py = p.project(y);
      let low = 0;
      for (let i = 0; i < 6; i++) low += px[i]! * py[i]!;
      expect(low).toBeCloseTo(full, 4);
    }
    expect(Array.from(Projection.fit(vecs, 6).basis)).toEqual(Array.from(p.basis));
    expect(() => Projection.of(DIM, 6, new Float32Array(5))).toThrow(/basis/);
  });
});

describe('OutcomeIndex with a projected graph and an exact re-rank', () => {
  it('returns the exact similarities, best first, and finds what a scan finds', async () => {
    const list = outcomes(6_000, 300, 11, ['low']);
    const idx = index();
    const flat = new FlatIndex(DIM);
    list.forEach((o, i) => {
      expect(idx.add(o)).toBe(true);
      flat.add(i, o.vector);
    });
    await idx.settled(); // the graph (built in the background) is searched, not the scan
    let found = 0;
    const qs = [...queries(40, 5), ...list.slice(0, 40).map((o) => o.vector)];
    for (const q of qs) {
      const exact = flat.search(q, 32);
      const got = idx.search('*', 'low', q, 32);
      expect(got).toHaveLength(32);
      for (let i = 1; i < got.length; i++) expect(got[i - 1]!.similarity).toBeGreaterThanOrEqual(got[i]!.similarity);
      for (const m of got) {
        // The score names the outcome: its similarity is the exact full-length one.
        const label = Math.round(m.score * 6_000);
        expect(m.similarity).toBeCloseTo(flat.similarity(label, q), 5);
      }
      const kth = exact[31]!.similarity - 1e-6;
      found += got.filter((m) => m.similarity >= kth).length;
    }
    expect(found / (qs.length * 32)).toBeGreaterThan(0.95);
  });
});

describe('OutcomeIndex snapshot', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'switchyard-outcome-graph-'));

  function sameAnswers(a: OutcomeIndex, b: OutcomeIndex, tiers = ['low', 'medium']): void {
    for (const q of queries(60, 9)) for (const t of tiers) expect(b.search('*', t, q, 32)).toEqual(a.search('*', t, q, 32));
  }

  it('round trip: the restored index answers exactly as the saved one, with no graph insertion', async () => {
    const list = outcomes(4_000, 200, 21);
    const a = index();
    for (const o of list) a.add(o);
    await a.settled();
    expect(a.graphInserts).toBeGreaterThanOrEqual(4_000); // graphs were built (in the background)
    const path = join(dir(), 'outcomes.graph');
    await a.writeSnapshot(path);
    const b = index();
    const r = await b.restore(list, path);
    expect(r).toMatchObject({ source: 'snapshot', outcomes: 4_000, graphInserts: 0 });
    expect(b.size).toBe(4_000);
    sameAnswers(a, b);
    // The store's copies (int8 codes, vectors read back) are the same outcomes.
    const c = index();
    expect((await c.restore(list.map((o) => ({ ...o, vector: Float32Array.from(o.vector) })), path)).source).toBe('snapshot');
  });

  it('a snapshot a little behind the store: new outcomes are inserted, outcomes gone are dropped', async () => {
    const list = outcomes(4_000, 200, 23);
    const a = index();
    for (const o of list.slice(0, 3_500)) a.add(o);
    const path = join(dir(), 'outcomes.graph');
    await a.writeSnapshot(path); // waits for the graphs
    const now = list.slice(500); // the store trimmed the oldest 500, and 500 more arrived
    const b = index();
    const r = await b.restore(now, path);
    expect(r).toMatchObject({ source: 'snapshot', outcomes: 3_500, graphInserts: 500 });
    const rebuilt = index();
    expect((await rebuilt.restore(now, undefined)).source).toBe('rebuild');
    const flat = new FlatIndex(DIM);
    now.forEach((o, i) => flat.add(i, o.vector));
    for (const q of queries(30, 4)) {
      const exact = flat.search(q, 16);
      const got = b.search('*', 'low', q, 16).concat(b.search('*', 'medium', q, 16));
      // Nothing trimmed comes back.
      for (const m of got) expect(m.score).toBeGreaterThanOrEqual(500 / 4_000);
      const kth = exact[15]!.similarity - 1e-6;
      expect(got.filter((m) => m.similarity >= kth).length).toBeGreaterThanOrEqual(14);
    }
  });

  it('refuses a corrupt, stale or mismatched file and rebuilds', async () => {
    const list = outcomes(3_000, 150, 31);
    const a = index();
    for (const o of list) a.add(o);
    const d = dir();
    const path = join(d, 'outcomes.graph');
    await a.writeSnapshot(path);
    const restoreWith = (l: Outcome[], opts: Partial<ConstructorParameters<typeof OutcomeIndex>[0]> = {}) =>
      new OutcomeIndex({ maxOutcomes: 1_000_000, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 10_000_000, projectTo: 16, ...opts }).restore(l, path);

    // Stale: another store's outcomes.
    const other = await restoreWith(outcomes(3_000, 150, 99));
    expect(other).toMatchObject({ source: 'rebuild', outcomes: 3_000 });
    expect(other.reason).toMatch(/stale/);
    expect(other.graphInserts).toBeGreaterThanOrEqual(3_000);
    // Other graph settings.
    expect((await restoreWith(list, { projectTo: 32 })).reason).toMatch(/settings/);
    // A damaged graph file.
    const graph = readdirSync(d).find((f) => f.endsWith('.hnsw'))!;
    const bytes = readFileSync(join(d, graph));
    const good = Buffer.from(bytes);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(d, graph), bytes);
    const damaged = await restoreWith(list);
    expect(damaged.source).toBe('rebuild');
    expect(damaged.reason).toMatch(/checksum/);
    writeFileSync(join(d, graph), good);
    // A damaged header.
    const header = readFileSync(path, 'utf8');
    const parsed = JSON.parse(header) as { body: string };
    writeFileSync(path, JSON.stringify({ ...parsed, body: parsed.body.replace('"nextLabel":', '"nextLabel":9') }));
    expect((await restoreWith(list)).reason).toMatch(/checksum/);
    writeFileSync(path, header.slice(0, header.length >> 1));
    expect((await restoreWith(list)).reason).toMatch(/unreadable/);
    writeFileSync(path, header);
    // Intact again: restored.
    expect(await restoreWith(list)).toMatchObject({ source: 'snapshot', graphInserts: 0 });
    // And a rebuilt index answers as the original (same outcomes, exact re-rank).
    const b = index();
    await b.restore(list, join(d, 'missing.graph'));
    const flat = new FlatIndex(DIM);
    list.forEach((o, i) => flat.add(i, o.vector));
    let found = 0;
    const qs = queries(30, 6);
    for (const q of qs) {
      const kth = flat.search(q, 32)[31]!.similarity - 1e-6;
      found += [...b.search('*', 'low', q, 32), ...b.search('*', 'medium', q, 32)].filter((m) => m.similarity >= kth).length;
    }
    expect(found / (qs.length * 32)).toBeGreaterThan(0.95);
  });
});
