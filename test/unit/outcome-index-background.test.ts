/**
 * The outcome index does its heavy work (projection fit, graph builds and
 * rebuilds, growth) in the background: the `add()` that needs it returns
 * first, searches meanwhile answer from the current state, outcomes added or
 * evicted meanwhile are right after the swap, the result is the one a
 * synchronous build gives, and a snapshot never holds a half-built state.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FlatIndex } from '../../src/cache/vector/flat.js';
import { HnswIndex } from '../../src/cache/vector/hnsw.js';
import { OutcomeIndex, type Outcome, type OutcomeIndexOptions } from '../../src/routing/outcome-index.js';
import { learnedRouter } from '../helpers/learned-router.js';
import { embeddingLike as embeddingLikeOf, rng, unit } from '../helpers/vectors.js';

const DIM = 64;
const embeddingLike = embeddingLikeOf(DIM);
const TOTAL = 4_000;



/** Clustered outcomes (near duplicates of `bases` prompts) on two tiers; the score names the outcome (i / TOTAL). */
function outcomes(n: number, bases: number, seed: number): Outcome[] {
  const r = rng(seed);
  const centres = Array.from({ length: bases }, () => embeddingLike(r));
  return Array.from({ length: n }, (_, i) => ({
    vector: unit(Float32Array.from(centres[(i * 7) % bases]!, (x) => x + 0.01 * r())),
    tier: i % 2 ? 'medium' : 'low',
    score: i / TOTAL,
    scope: '*',
    at: i,
  }));
}

const index = (opts: Partial<OutcomeIndexOptions> = {}) =>
  new OutcomeIndex({ maxOutcomes: 1_000_000, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 0, projectTo: 16, ...opts });

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Whether the index finds outcome `o` among the 32 nearest to its own vector. */
const finds = (idx: OutcomeIndex, o: Outcome) => idx.search('*', o.tier, o.vector, 32).some((m) => m.score === o.score);

describe('OutcomeIndex: heavy work in the background', () => {
  it('the add that needs the first graph returns before it is built; searches meanwhile scan exactly', async () => {
    const list = outcomes(600, 60, 1);
    const idx = index();
    for (const o of list.slice(0, 520)) idx.add(o); // 260 a tier: past the scan (256)
    expect(idx.rebuilding).toBe(true); // the fit and the graphs are still to be made
    expect(idx.graphInserts).toBe(0);
    const exact = new FlatIndex(DIM);
    list.slice(0, 520).forEach((o, i) => i % 2 === 0 && exact.add(i, o.vector));
    for (const o of list.slice(0, 40)) {
      const want = exact.search(o.vector, 8).map((n) => n.label / TOTAL);
      expect(idx.search('*', 'low', o.vector, 8).map((m) => m.score)).toEqual(want);
    }
    await idx.settled();
    expect(idx.rebuilding).toBe(false);
    expect(idx.graphInserts).toBe(520);
    for (const o of list.slice(0, 520)) expect(finds(idx, o)).toBe(true);
  });

  it('a refit: searches keep answering from the old graphs; adds and evictions meanwhile are right after the swap', async () => {
    const maxOutcomes = 2_600;
    const list = outcomes(TOTAL, 150, 2);
    const idx = index({ maxOutcomes });
    for (const o of list.slice(0, 600)) idx.add(o);
    await idx.settled(); // projection fitted on 600: refitted at 2,400 held
    let i = 600;
    while (i < 2_399) {
      idx.add(list[i++]!);
      if (idx.rebuilding) await idx.settled(); // the graphs grow (at half their capacity)
    }
    idx.add(list[i++]!);
    expect(idx.rebuilding).toBe(true); // the add returned before the refit and the rebuild of both graphs
    const inserts0 = idx.graphInserts;
    let during = 0;
    while (idx.rebuilding) {
      // Outcomes keep arriving (from 1,600 on each evicts the oldest), and are found at once.
      for (let j = 0; j < 25 && i < TOTAL; j++, during++) {
        const o = list[i++]!;
        idx.add(o);
        expect(finds(idx, o)).toBe(true);
      }
      expect(finds(idx, list[i - 100]!)).toBe(true);
      await turn();
    }
    expect(idx.graphInserts - inserts0).toBeGreaterThan(2_400); // both graphs, new
    expect(during).toBeGreaterThan(25);
    expect(i).toBeGreaterThan(maxOutcomes); // evictions happened during the rebuild
    await idx.settled();
    expect(idx.size).toBe(Math.min(i, maxOutcomes));
    const first = i - idx.size;
    let found = 0;
    for (let k = 0; k < i; k++) {
      if (k < first) expect(finds(idx, list[k]!)).toBe(false); // evicted: gone from the new graphs too
      else if (finds(idx, list[k]!)) found++;
    }
    expect(found / idx.size).toBeGreaterThan(0.99); // added meanwhile: in the new graphs
  });

  it('a graph filling up is rebuilt larger in the background; what arrives meanwhile is found after', async () => {
    const list = outcomes(TOTAL, 150, 3);
    const idx = index();
    for (const o of list.slice(0, 600)) idx.add(o);
    await idx.settled(); // graphs of 1,200 slots, 300 outcomes each
    let i = 600;
    let sawGrowth = false;
    while (i < 2_400) {
      idx.add(list[i++]!);
      if (idx.rebuilding) {
        sawGrowth = true;
        await turn();
      }
    }
    expect(sawGrowth).toBe(true); // at 600 of 1,200 (before the refit at 2,400)
    await idx.settled();
    for (const o of list.slice(0, 2_400)) expect(finds(idx, o)).toBe(true);
  });

  it('outcomes announced before a restore: graphs sized for them, none rebuilt to grow on the way', async () => {
    const list = outcomes(3_000, 150, 7);
    const restore = async (announce: boolean) => {
      const idx = index();
      if (announce) idx.expect(list);
      for (const o of list) {
        idx.add(o);
        if (idx.rebuilding) await idx.settled(); // as the router's restore does
      }
      idx.expect(undefined);
      await idx.settled();
      return idx;
    };
    const plain = await restore(false);
    const sized = await restore(true);
    // Without the announcement the graphs grow (rebuilt at half their capacity) on top of the refits.
    expect(sized.graphInserts).toBeLessThan(plain.graphInserts);
    for (const o of list.slice(0, 300)) expect(finds(sized, o)).toBe(true);
  });

  it('settled after each add that started work: the same answers as a synchronous build', async () => {
    const list = outcomes(2_600, 120, 4);
    const a = index();
    const b = index({ background: false });
    let waits = 0;
    for (const o of list) {
      a.add(o);
      b.add(o);
      expect(b.rebuilding).toBe(false);
      if (a.rebuilding) {
        waits++;
        await a.settled();
      }
    }
    expect(waits).toBeGreaterThanOrEqual(3); // first graphs, refit, growth
    expect(a.graphInserts).toBe(b.graphInserts);
    const r = rng(9);
    for (let q = 0; q < 60; q++) {
      const query = q % 2 ? list[q * 37]!.vector : unit(Float32Array.from({ length: DIM }, r));
      for (const t of ['low', 'medium']) expect(a.search('*', t, query, 16)).toEqual(b.search('*', t, query, 16));
    }
  });

  it('a snapshot written during a rebuild waits for it: the restored index is the settled one', async () => {
    const list = outcomes(1_400, 100, 5);
    const a = index();
    for (const o of list.slice(0, 300)) a.add(o);
    await a.settled();
    for (const o of list.slice(300)) a.add(o);
    expect(a.rebuilding).toBe(true);
    const path = join(mkdtempSync(join(tmpdir(), 'switchyard-outcome-bg-')), 'outcomes.graph');
    const written = a.writeSnapshot(path);
    expect(a.rebuilding).toBe(true);
    await written;
    expect(a.rebuilding).toBe(false);
    const b = index();
    expect(await b.restore(list, path)).toMatchObject({ source: 'snapshot', outcomes: 1_400, graphInserts: 0 });
    expect(b.rebuilding).toBe(false);
    for (const o of list.slice(0, 80)) for (const t of ['low', 'medium']) expect(b.search('*', t, o.vector, 16)).toEqual(a.search('*', t, o.vector, 16));
  });

  it('a snapshot written while outcomes keep arriving (one partition per turn): restored, nothing lost or resurrected', async () => {
    const scopes = ['t1', 't2', 't3', 't4'];
    const list = outcomes(3_200, 100, 6).map((o, i) => ({ ...o, scope: scopes[i % 4]! }));
    const a = index({ maxOutcomes: 2_800 });
    for (const o of list.slice(0, 2_400)) a.add(o);
    await a.settled();
    const path = join(mkdtempSync(join(tmpdir(), 'switchyard-outcome-bg-')), 'outcomes.graph');
    let done = false;
    const written = a.writeSnapshot(path).then(() => (done = true));
    let i = 2_400;
    let during = 0;
    while (!done) {
      // Every partition gets outcomes (and from 2,800 on the oldest are evicted) while the partitions are written.
      for (let j = 0; j < 8 && i < list.length; j++, during++) a.add(list[i++]!);
      await turn();
    }
    await written;
    expect(during).toBeGreaterThan(0);
    await a.settled();
    // The store now holds the newest 2,800 of what was added.
    const held = list.slice(Math.max(0, i - 2_800), i);
    const b = index({ maxOutcomes: 2_800 });
    const r = await b.restore(held, path);
    expect(r).toMatchObject({ source: 'snapshot', outcomes: held.length });
    // Every stored outcome is held (counted per partition), and the graphs find them (approximate search: nearly all).
    for (const sc of scopes) for (const t of ['low', 'medium']) expect(b.count(sc, t)).toBe(held.filter((o) => o.scope === sc && o.tier === t).length);
    const found = held.filter((o) => b.search(o.scope, o.tier, o.vector, 32).some((m) => m.score === o.score)).length;
    expect(found / held.length).toBeGreaterThan(0.99);
    for (const o of list.slice(0, i - held.length)) expect(b.search(o.scope, o.tier, o.vector, 32).some((m) => m.score === o.score)).toBe(false);
  });
});

describe('a failure of background work', () => {
  it('reaches the router as a "learned index" error; decisions go on (exact scan) and the next outcome retries the work', async () => {
    const errors: string[] = [];
    const { router, close } = learnedRouter('{ enabled: true, store: memory }', ['LOW', 'HIGH'], (e, op) => errors.push(`${op}: ${e.message}`));
    try {
      // The first graph the background tries to create fails (as a native allocation can).
      const create = vi.spyOn(HnswIndex, 'create').mockImplementationOnce(() => {
        throw new Error('cannot allocate the graph');
      });
      const list = outcomes(400, 40, 5);
      for (const o of list.slice(0, 300)) router.recordOutcome(o.vector, 'LOW', o.score, undefined, 'feedback');
      const learned = router.learnedRouter!;
      await learned.settled();
      expect(errors).toEqual(['learned index: cannot allocate the graph']);
      expect(learned.outcomes.backgroundError?.message).toBe('cannot allocate the graph');
      // Searches still answer, from the exact scan.
      expect(learned.nearest('LOW', list[3]!.vector, 1)[0]!.similarity).toBeCloseTo(1, 5);
      // The next outcome asks for the work again; this time the graph is built.
      const inserts = learned.outcomes.graphInserts;
      router.recordOutcome(list[300]!.vector, 'LOW', 1, undefined, 'feedback');
      await learned.settled();
      expect(learned.outcomes.graphInserts).toBeGreaterThan(inserts);
      expect(create).toHaveBeenCalledTimes(2);
      expect(errors).toHaveLength(1);
    } finally {
      vi.restoreAllMocks();
      await close();
    }
  });
});
