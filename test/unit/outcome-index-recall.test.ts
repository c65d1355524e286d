import { describe, expect, it } from 'vitest';
import { FlatIndex } from '../../src/cache/vector/flat.js';
import { HnswIndex } from '../../src/cache/vector/hnsw.js';
import { OutcomeIndex } from '../../src/routing/outcome-index.js';
import { rng, unit } from '../helpers/vectors.js';

const DIM = 64;

/** Repeated traffic: `bases` prompts, each seen many times with a little noise (tight clusters of near duplicates). */
function clustered(n: number, bases: number, seed: number): { vecs: Float32Array[]; centres: Float32Array[] } {
  const r = rng(seed);
  const centres = Array.from({ length: bases }, () => unit(Float32Array.from({ length: DIM }, r)));
  const vecs = Array.from({ length: n }, (_, i) => unit(Float32Array.from(centres[i % bases]!, (x) => x + 0.03 * r())));
  return { vecs, centres };
}

describe('outcome index: the graph finds the neighbours an exact scan finds', () => {
  it('recall@32 against FlatIndex on clustered outcomes, past the flat-to-graph switch', async () => {
    const { vecs, centres } = clustered(4000, 150, 11);
    const idx = new OutcomeIndex({ maxOutcomes: 10_000, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 0 });
    const flat = new FlatIndex(DIM);
    vecs.forEach((v, i) => {
      // The score encodes the label, so the graph's answer can be compared by identity, not only by similarity.
      expect(idx.add({ vector: v, tier: 'LOW', score: i / 4000, scope: '*', at: 0 })).toBe(true);
      flat.add(i, v);
    });
    await idx.settled(); // the graph is built in the background
    let found = 0;
    let total = 0;
    for (const [q, c] of centres.entries()) {
      const query = q % 2 === 0 ? c : vecs[q]!;
      const exact = new Set(flat.search(query, 32).map((n) => n.label / 4000));
      const got = idx.search('*', 'low', query, 32);
      expect(got).toHaveLength(32);
      for (let i = 1; i < got.length; i++) expect(got[i - 1]!.similarity).toBeGreaterThanOrEqual(got[i]!.similarity - 1e-6);
      found += got.filter((m) => exact.has(m.score)).length;
      total += 32;
    }
    expect(found / total).toBeGreaterThan(0.95);
  });

  it('HnswIndex reuses one argument array without mixing up calls; a wrong-length query is refused', () => {
    const { vecs } = clustered(600, 40, 5);
    const g = HnswIndex.create(DIM, 16);
    vecs.forEach((v, i) => g.add(i, v));
    expect(g.size).toBe(600);
    const a = g.search(vecs[3]!, 5);
    const b = g.search(vecs[17]!, 5);
    expect(g.search(vecs[3]!, 5)).toEqual(a);
    expect(a[0]!.label).toBe(3);
    expect(b[0]!.label).toBe(17);
    // The stored vector is the one added, not whatever the reused array held later.
    expect(Array.from(g.vector(3))).toEqual(Array.from(vecs[3]!));
    expect(() => g.search(new Float32Array(DIM - 1), 5)).toThrow(/dimensions/);
  });
});
