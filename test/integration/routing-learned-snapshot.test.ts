/**
 * The outcome-graph snapshot beside a file outcome store, with real routers:
 * a restart with 20k+ outcomes loads the graphs instead of inserting every
 * outcome again (graph insertions counted), decides exactly as before, and a
 * corrupt or stale snapshot is refused and rebuilt.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/routing/router.js';
import { rng, unit } from '../helpers/vectors.js';
import { learnedRouter } from '../helpers/learned-router.js';

const DIM = 256; // larger than the projection (128): the graphs hold projections
const N = 20_000;

/** Embedding-like vectors: most energy in a 16-d latent space. */
function vectors(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const latent = Array.from({ length: 16 }, () => unit(Float32Array.from({ length: DIM }, r)));
  const centres = Array.from({ length: 400 }, () => {
    const v = new Float32Array(DIM);
    for (const [j, d] of latent.entries()) {
      const w = r() / (1 + 0.1 * j);
      for (let i = 0; i < DIM; i++) v[i]! += w * d[i]!;
    }
    return unit(v);
  });
  return Array.from({ length: n }, (_, i) => unit(Float32Array.from(centres[(i * 13) % centres.length]!, (x) => x + 0.02 * r())));
}

const router = (learned: string) => learnedRouter(learned, ['LOW', 'MEDIUM', 'HIGH']);

const req = (i: number) => ({ operation: 'chat' as const, protocol: 'openai' as const, model: 'switchyard/auto', messages: [{ role: 'user' as const, content: `question ${i}: why is the sky blue?` }], stream: false, extra: {} });

/** Decisions (tier and the learned explanation) and the raw neighbours, for a fixed set of requests. */
function decisions(r: Router, queries: Float32Array[]): unknown[] {
  return queries.map((q, i) => {
    const d = r.route({ req: req(i), id: `q${i}`, embedding: q });
    return { reason: d.reason, low: r.learnedRouter!.nearest('LOW', q, 32), medium: r.learnedRouter!.nearest('MEDIUM', q, 32) };
  });
}

const graphFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('outcomes.jsonl.graph'));

describe('learned outcome graph snapshot (file store)', () => {
  it('a restart loads the graphs instead of re-inserting, decides identically; corrupt or stale snapshots are rebuilt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-learned-snap-'));
    const file = join(dir, 'outcomes.jsonl');
    const conf = `{ store: file, file: "${file}", flushMs: 20, maxSteps: 2, maxOutcomes: 50000 }`;
    const vecs = vectors(N, 5);
    const r = rng(9);
    const queries = vectors(40, 5).map((v) => unit(Float32Array.from(v, (x) => x + 0.01 * r())));

    // A gateway learns 20k outcomes, then stops: the store and the snapshot are written on close.
    const w = router(conf);
    await w.router.ready;
    expect(w.router.learnedRestore).toMatchObject({ source: 'rebuild', outcomes: 0 });
    vecs.forEach((v, i) => expect(w.router.recordOutcome(v, i % 2 === 0 ? 'LOW' : 'MEDIUM', (i * 7) % 10 < 6 ? 1 : 0, undefined, 'feedback')).toBe(true));
    // Recording returned at once: the projection and the graphs are still to be made, in the background.
    const index = w.router.learnedRouter!.outcomes;
    expect(index.rebuilding).toBe(true);
    await w.close(); // waits for that work, then writes the snapshot
    expect(index.rebuilding).toBe(false);
    expect(graphFiles(dir).length).toBeGreaterThan(1); // header + graph files

    // Restart: the graphs come from the snapshot (the store's int8 copies are recognised as the outcomes it holds).
    const v = router(conf);
    await v.router.ready;
    expect(v.router.learnedRestore).toMatchObject({ source: 'snapshot', outcomes: N, graphInserts: 0 });
    await v.close();

    // Without a snapshot: every outcome is inserted again, and a snapshot of the rebuilt graphs is written at once.
    for (const f of graphFiles(dir)) rmSync(join(dir, f));
    const a = router(conf);
    await a.router.ready;
    const rebuilt = a.router.learnedRestore!;
    expect(rebuilt).toMatchObject({ source: 'rebuild', outcomes: N });
    expect(rebuilt.reason).toMatch(/no snapshot/);
    expect(rebuilt.graphInserts).toBeGreaterThanOrEqual(N - 2 * 257);
    const before = decisions(a.router, queries);
    expect(JSON.stringify(before)).toMatch(/learned: p\(LOW ok\)=\d\.\d\d from \d+ neighbours/);
    await a.close();

    // Restart from that snapshot: no insertion, the same decisions and neighbours.
    const b = router(conf);
    await b.router.ready;
    expect(b.router.learnedRestore).toMatchObject({ source: 'snapshot', outcomes: N, graphInserts: 0 });
    expect(decisions(b.router, queries)).toEqual(before);
    await b.close();

    // A damaged graph file: refused (checksum), rebuilt, same decisions.
    const graph = graphFiles(dir).find((f) => f.endsWith('.hnsw'))!;
    const bytes = readFileSync(join(dir, graph));
    bytes[bytes.length >> 1] ^= 0x5a;
    writeFileSync(join(dir, graph), bytes);
    const c = router(conf);
    await c.router.ready;
    expect(c.router.learnedRestore).toMatchObject({ source: 'rebuild', outcomes: N });
    expect(c.router.learnedRestore!.reason).toMatch(/checksum/);
    expect(decisions(c.router, queries)).toEqual(before);
    await c.close();

    // A snapshot of other outcomes (another store): stale, rebuilt.
    const otherFile = join(dir, 'other.jsonl');
    const o = router(`{ store: file, file: "${otherFile}", flushMs: 20, snapshot: "${file}.graph" }`);
    await o.router.ready;
    expect(o.router.learnedRestore).toMatchObject({ source: 'rebuild', outcomes: 0 });
    await o.close();
    writeFileSync(otherFile, readFileSync(file, 'utf8').split('\n').slice(0, 100).join('\n'));
    const s = router(`{ store: file, file: "${otherFile}", flushMs: 20, snapshot: "${join(dir, 'stale.graph')}" }`);
    await s.router.ready;
    await s.close();
    // stale.graph now describes 100 outcomes; the main store holds 20k of which only those 100.
    const t = router(`{ store: file, file: "${file}", flushMs: 20, maxSteps: 2, maxOutcomes: 50000, snapshot: "${join(dir, 'stale.graph')}" }`);
    await t.router.ready;
    expect(t.router.learnedRestore).toMatchObject({ source: 'rebuild', outcomes: N });
    expect(t.router.learnedRestore!.reason).toMatch(/stale/);
    await t.close();
  }, 180_000);

  it('Redis: a local snapshot keyed by the stream outcomes; another instance\'s later outcomes are inserted on top', async () => {
    const key = `switchyard:test:outcomes:${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-learned-snap-redis-'));
    const snap = join(dir, 'outcomes.graph');
    // A generous deadline: reading 1,500 stream entries must not be cut short on a busy machine.
    const redis = `{ key: "${key}", syncMs: 50, commandTimeoutMs: 5000 }`;
    const conf = (snapshot: string) => `{ store: redis, redis: ${redis}, snapshot: "${snapshot}", maxSteps: 2 }`;
    try {
      const vecs = vectors(1_500, 8);
      const a = router(conf(snap));
      await a.router.ready;
      vecs.slice(0, 1_200).forEach((v, i) => a.router.recordOutcome(v, i % 2 === 0 ? 'LOW' : 'MEDIUM', i % 3 === 0 ? 0 : 1, undefined, 'feedback'));
      await a.close(); // flushes the stream, writes the local snapshot
      // Another instance adds 300 more to the shared stream while this one is down (it keeps no snapshot).
      const other = router(`{ store: redis, redis: ${redis} }`);
      await other.router.ready;
      vecs.slice(1_200).forEach((v, i) => other.router.recordOutcome(v, i % 2 === 0 ? 'LOW' : 'MEDIUM', 1, undefined, 'feedback'));
      await other.close();
      const b = router(conf(snap));
      await b.router.ready;
      expect(b.router.learnedRestore, JSON.stringify(b.router.learnedRestore)).toMatchObject({ source: 'snapshot', outcomes: 1_500, graphInserts: 300 });
      // The same outcomes rebuilt from the stream alone give the same tier choices.
      const c = router(conf(join(dir, 'none.graph')));
      await c.router.ready;
      expect(c.router.learnedRestore).toMatchObject({ source: 'rebuild', outcomes: 1_500 });
      const tiers = (r: Router) => vectors(30, 8).map((q, i) => r.route({ req: req(i), id: `t${i}`, embedding: q }).reason.match(/-> (\w+)/)?.[1]);
      expect(tiers(b.router)).toEqual(tiers(c.router));
      await Promise.all([b.close(), c.close()]);
    } finally {
      const cl = createClient({ url: 'redis://127.0.0.1:6379' });
      await cl.connect();
      await cl.del(key);
      await cl.close();
    }
  }, 60_000);
});
