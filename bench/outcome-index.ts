/**
 * The learned router's outcome index, variants side by side in one process:
 * the two searches of a decision (LOW and MEDIUM partitions, k 32) timed in
 * CPU per query, variants interleaved query by query so the machine's load
 * falls on all alike, with recall@32 against an exact scan and the build
 * time. Outcomes are perturbed copies of the routing dev set's embeddings
 * (as in bench/routing.ts); run bench/routing.ts once first to cache them.
 *
 *   npx tsx bench/outcome-index.ts                                  (100k outcomes)
 *   N=20000 V=0:2:24,160:2:24,128:3:16 npx tsx bench/outcome-index.ts
 *
 * V lists variants as projectTo:candidates:M (projectTo 0: the graph holds the full vectors).
 *
 * OUTCOME_BENCH=stall: how long recording an outcome blocks the event loop.
 * N random 512-d outcomes (two tiers) are added one per event-loop turn, as a
 * gateway records them; reported: the longest single `add()`, the event-loop
 * delay (perf_hooks.monitorEventLoopDelay: max, p99) over the run, the
 * longest search meanwhile, the wait for the background work to finish, and
 * one graph-snapshot write. No embeddings needed.
 *
 *   OUTCOME_BENCH=stall N=20000 npx tsx bench/outcome-index.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FlatIndex } from '../src/cache/vector/flat.js';
import { OutcomeIndex } from '../src/routing/outcome-index.js';


/** Outcomes added one per event-loop turn: the longest add, the event-loop delay, searches meanwhile. */
async function stall(): Promise<void> {
  const N = Number(process.env.N ?? 20_000);
  const dim = 512;
  const vec = (seed: number): Float32Array => {
    const v = new Float32Array(dim);
    let s = seed | 0 || 1;
    let n = 0;
    for (let i = 0; i < dim; i++) {
      s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) ^ (s + 0x6d2b79f5);
      v[i] = ((s >>> 0) / 2 ** 32) * 2 - 1 + (i < 40 ? (seed % 7) / 3 : 0);
      n += v[i]! * v[i]!;
    }
    for (let i = 0; i < dim; i++) v[i]! /= Math.sqrt(n);
    return v;
  };
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const idx = new OutcomeIndex({ maxOutcomes: N, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 0 });
  const turn = () => new Promise<void>((r) => setImmediate(r));
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const slow: Array<[number, number]> = [];
  let maxAdd = 0;
  let maxAddAt = 0;
  let maxSearch = 0;
  /** The longest wait for the next turn (what ran between two adds: background work, timers, GC). */
  let maxTurn = 0;
  let maxTurnAt = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const v = vec(i + 1);
    const a = performance.now();
    idx.add({ vector: v, tier: i % 2 ? 'medium' : 'low', score: i % 3 ? 1 : 0, scope: '*', at: 0 });
    const dt = performance.now() - a;
    if (dt > maxAdd) [maxAdd, maxAddAt] = [dt, i + 1];
    if (dt > 20) slow.push([i + 1, Math.round(dt)]);
    if (i % 16 === 0) {
      const b = performance.now();
      idx.search('*', 'low', v, 32);
      maxSearch = Math.max(maxSearch, performance.now() - b);
    }
    const t = performance.now();
    await turn();
    const gap = performance.now() - t;
    if (gap > maxTurn) [maxTurn, maxTurnAt] = [gap, i + 1];
  }
  const addsS = (performance.now() - t0) / 1000;
  const s0 = performance.now();
  await (idx as unknown as { settled?: () => Promise<void> }).settled?.();
  const settleS = (performance.now() - s0) / 1000;
  h.disable();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-stall-'));
  // The longest event-loop turn while the snapshot is written (a turn probe: the write may be partly asynchronous).
  const w0 = performance.now();
  let written = false;
  const w = Promise.resolve((idx as unknown as { writeSnapshot: (p: string) => unknown }).writeSnapshot(join(dir, 'o.graph'))).finally(() => (written = true));
  let writeBlockMs = performance.now() - w0;
  while (!written) {
    const t = performance.now();
    await turn();
    writeBlockMs = Math.max(writeBlockMs, performance.now() - t);
  }
  await w;
  const writeMs = performance.now() - w0;
  rmSync(dir, { recursive: true, force: true });
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(`${N.toLocaleString('en')} outcomes (random 512-d, two tiers), one add per event-loop turn; load ${load0} -> ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const worst = slow.sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(`longest add ${maxAdd.toFixed(1)} ms (outcome ${maxAddAt}); ${slow.length} adds over 20 ms${worst.length ? `, the longest (outcome, ms): ${JSON.stringify(worst)}` : ''}`);
  console.log(`event-loop delay: max ${ms(h.max)} ms, p99 ${ms(h.percentile(99))} ms, mean ${ms(h.mean)} ms; longest search meanwhile ${maxSearch.toFixed(1)} ms; longest wait between two adds ${maxTurn.toFixed(1)} ms (after outcome ${maxTurnAt})`);
  console.log(`adds took ${addsS.toFixed(1)} s, then ${settleS.toFixed(1)} s until settled; snapshot write blocks ${writeBlockMs.toFixed(0)} ms at most (${writeMs.toFixed(0)} ms until written)`);
}

if (process.env.OUTCOME_BENCH === 'stall') await stall();
else compare();

/** The variants side by side (see the head of the file). */
function compare(): void {
  const buf = readFileSync('bench/results/routing-embeddings.use-lite.bin');
  const nl = buf.indexOf(10);
  const dim = (JSON.parse(buf.subarray(0, nl).toString('utf8')) as { dim: number }).dim;
  const rec = 16 + dim * 4;
  const bases: Float32Array[] = [];
  for (let o = nl + 1; o + rec <= buf.length; o += rec) {
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = buf.readFloatLE(o + 16 + i * 4);
    bases.push(v);
  }
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const N = Number(process.env.N ?? 100_000);
  const outs = Array.from({ length: N }, (_, i) => {
    const b = bases[i % bases.length]!;
    const v = new Float32Array(dim);
    let n = 0;
    for (let j = 0; j < dim; j++) n += (v[j] = b[j]! + 0.03 * rnd()) ** 2;
    for (let j = 0; j < dim; j++) v[j]! /= Math.sqrt(n);
    return v;
  });
  const exact = new FlatIndex(dim, N / 2);
  outs.forEach((v, i) => {
    if (i % 2 === 0) exact.add(i, v);
  });
  const Q = 500;
  const queries = Array.from({ length: Q }, (_, q) => bases[(q * 11) % bases.length]!);
  const truth = queries.map((q) => exact.search(q, 32));
  const variants = (process.env.V ?? '0:2:24,160:2:24').split(',').map((s) => s.split(':').map(Number)) as [number, number, number][];
  const indexes = variants.map(([projectTo, candidates, m]) => {
    const idx = new OutcomeIndex({ maxOutcomes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 0, projectTo, candidates, m });
    const t = performance.now();
    outs.forEach((v, i) => idx.add({ vector: v, tier: i % 2 ? 'medium' : 'low', score: 1, scope: '*', at: 0 }));
    return { idx, buildS: (performance.now() - t) / 1000 };
  });
  const cpu = variants.map(() => [] as number[]);
  const found = variants.map(() => 0);
  for (let rep = 0; rep < 3; rep++) {
    queries.forEach((q, qi) =>
      indexes.forEach(({ idx }, vi) => {
        const c0 = process.cpuUsage();
        const low = idx.search('*', 'low', q, 32);
        idx.search('*', 'medium', q, 32);
        const c = process.cpuUsage(c0);
        if (rep > 0) cpu[vi]!.push(c.user + c.system); // the first pass warms up
        else found[vi]! += low.filter((m) => m.similarity >= truth[qi]![31]!.similarity - 1e-6).length / 32;
      }),
    );
  }
  console.log(`${N.toLocaleString('en')} outcomes, ${Q} queries, two searches each (CPU per query)`);
  console.log('| projectTo | candidates | M | CPU mean | CPU median | CPU p99 | recall@32 | build |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  variants.forEach(([p, c, m], vi) => {
    const t = cpu[vi]!.sort((x, y) => x - y);
    const mean = t.reduce((s, x) => s + x, 0) / t.length;
    console.log(`| ${p || 'full'} | ${c} | ${m} | ${mean.toFixed(0)} µs | ${t[t.length >> 1]} µs | ${t[Math.floor(t.length * 0.99)]} µs | ${(found[vi]! / Q).toFixed(4)} | ${indexes[vi]!.buildS.toFixed(1)} s |`);
  });
}
