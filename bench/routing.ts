/**
 * Routing evaluation over the MMLU dev set (per prompt: did the weak model,
 * Mixtral-8x7B, and the strong one, GPT-4, answer right). Prints random,
 * prompt length, the complexity score and the outcome-trained (learned)
 * router side by side, 5-fold CV and leave-subject-group-out CV: APGR,
 * CPT(50/80), the strong share needed for 95% of all-strong quality and the
 * quality curve; where the configured thresholds land; what each signal and
 * a whole routing decision cost, and a learned decision at 100k stored
 * outcomes (kept in a file store; a restart is timed from the outcome-graph
 * snapshot and without it).
 *
 * Prompt embeddings (USE-Lite) are cached in bench/results/ (gitignored):
 * the first run embeds 5,613 prompts (minutes on a busy machine).
 *
 *   npx tsx bench/routing.ts                      (ROUTING_DATA=… to use another file)
 *   ROUTING_BENCH=decision npx tsx bench/routing.ts   (decision cost only; ROUTING_OUTCOMES=20000 for a quick run)
 *   ROUTING_BENCH=signals npx tsx bench/routing.ts    (signal costs only, all prompts and those > 1,500 chars)
 *   ROUTING_PRIOR=probe npx tsx bench/routing.ts      (the learned router with the embedding probe as its prior)
 *   ROUTING_PRIOR=gain npx tsx bench/routing.ts       (probe prior, neighbours voting on the quality gain, settings by inner CV)
 *   BENCH_ONLY=routing npm run bench
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../src/config/load.js';
import { UseLiteEmbedder } from '../src/embedding/use-lite.js';
import { embedWithCache } from '../src/eval/embed-cache.js';
import { evaluateLearned, ROUTERS, type Comparison, type LearnedEvalReport, type LearnedFitOptions } from '../src/eval/routing-learned-eval.js';
import { benchSignals, type SignalTiming } from '../src/eval/signal-bench.js';
import { promptRequest, readRoutingSet, runRoutingEval, type RoutingEvalReport } from '../src/eval/routing-eval.js';
import { Router } from '../src/routing/router.js';
import { complexityScore } from '../src/routing/signals/complexity.js';
import { UpstreamRegistry } from '../src/upstream/registry.js';
import { FlatIndex } from '../src/cache/vector/flat.js';
import type { LearnedRouter } from '../src/routing/learned.js';

const DATA = process.env.ROUTING_DATA ?? resolve('../shared/data/routing-dev.jsonl');
/** Prompts longer than this (characters) are timed apart: their signals are the decision's tail. */
const LONG_PROMPT = 1_500;

/** Where one threshold puts the strong/weak split on the set. */
export interface OperatingPoint {
  threshold: number;
  strongShare: number;
  quality: number;
  /** Share of the weak→strong gap recovered. */
  pgr: number;
}

export interface RoutingBench {
  file: string;
  report: RoutingEvalReport;
  /** The configured default thresholds (0.25 / 0.70) read as "strong at or above". */
  operating: OperatingPoint[];
  /** The lowest score threshold reaching 95% of all-strong quality. */
  thresholdFor95: number;
  signals: SignalTiming[];
  /** The same on the prompts longer than {@link LONG_PROMPT} characters (the decision's tail). */
  signalsLong: SignalTiming[];
  /** A whole `Router.route` decision for `switchyard/auto` (signals, tier, constraints). */
  decision: DecisionTiming;
  /** The learned router against the others, 5-fold and leave-subject-group-out. */
  learned: LearnedEvalReport;
  /** A whole learned decision with 100k stored outcomes (plus the dev set as seed outcomes). */
  learnedDecision: LearnedTiming;
}

/** A whole learned decision: wall and CPU time, what storing the outcomes took, and the index's recall. */
export interface LearnedTiming extends DecisionTiming {
  outcomes: number;
  /** Seconds to record every outcome (the graph build). */
  buildS: number;
  /** recall@k of the approximate neighbour search against an exact scan of the same outcomes (sampled queries). */
  recall: { k: number; queries: number; mean: number; min: number };
  /** A restart with the outcomes in a file store: seconds until ready, from the graph snapshot and rebuilt without one. */
  restart?: { snapshotS: number; snapshotInserts: number; rebuildS: number; rebuildInserts: number };
  /** Longest event-loop block (ms) while one graph-snapshot write runs (the native graph write is synchronous; checksums and header are not). */
  snapshotWriteMs: number;
}

/** Wall time (hrtime) and CPU time (process.cpuUsage, user + system) per decision. */
export interface DecisionTiming extends SignalTiming {
  cpuMedianUs: number;
  cpuP99Us: number;
}

function operatingPoint(scores: Float64Array, rows: { weak: boolean; strong: boolean }[], threshold: number, weak: number, strong: number): OperatingPoint {
  let k = 0;
  let right = 0;
  rows.forEach((r, i) => {
    const s = scores[i]! >= threshold;
    if (s) k++;
    right += Number(s ? r.strong : r.weak);
  });
  const quality = right / rows.length;
  return { threshold, strongShare: k / rows.length, quality, pgr: (quality - weak) / (strong - weak) };
}

function benchRouter(learned: string | undefined): { router: Router; reg: UpstreamRegistry } {
  const cfg = parseConfig(
    `upstreams:
  - { name: local, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", local: true, models: [{ name: small }] }
  - { name: cloud, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: mid }, { name: big-a }, { name: big-b }] }
tiers:
  - { name: LOW, models: [small] }
  - { name: MEDIUM, models: [mid] }
  - { name: HIGH, models: [big-a, big-b] }
  - { name: AGENTIC, models: [big-b] }
routing:${learned ? `\n  learned: ${learned}` : ' {}'}
`,
    {},
  );
  const reg = new UpstreamRegistry(cfg, {});
  return { router: new Router(cfg, reg, { pollers: false }), reg };
}

/** The last timed router's close. */
let lastClose: Promise<void> = Promise.resolve();

/** Seconds until a router restarted on the bench's outcome file is ready, and the graph insertions its restore made. */
async function timeRestart(learned: string): Promise<{ s: number; inserts: number; source: string }> {
  const t0 = process.hrtime.bigint();
  const { router, reg } = benchRouter(learned);
  await router.ready;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = router.learnedRestore!;
  await router.close();
  await reg.close();
  return { s, inserts: r.graphInserts, source: r.source };
}

async function timeDecisions(prompts: string[]): Promise<DecisionTiming>;
async function timeDecisions(prompts: string[], learned: { vectors: Float32Array[]; outcomes: number; dir: string }): Promise<LearnedTiming>;
async function timeDecisions(prompts: string[], learned?: { vectors: Float32Array[]; outcomes: number; dir: string }): Promise<DecisionTiming | LearnedTiming> {
  const { router, reg } = benchRouter(learned ? learnedConf(learned) : undefined);
  const reqs = prompts.map(promptRequest);
  const vec = (i: number) => learned?.vectors[i % learned.vectors.length];
  let buildS = 0;
  /** The LOW outcomes again, in an exact index, for the recall check. */
  const exact = learned ? new FlatIndex(learned.vectors[0]!.length, Math.ceil(learned.outcomes / 2)) : undefined;
  if (learned) {
    // Outcomes near the dev prompts (each a perturbed copy), half on LOW and half on MEDIUM.
    const t0 = process.hrtime.bigint();
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    for (let i = 0; i < learned.outcomes; i++) {
      const base = learned.vectors[i % learned.vectors.length]!;
      const v = new Float32Array(base.length);
      let norm = 0;
      for (let j = 0; j < v.length; j++) norm += (v[j] = base[j]! + 0.03 * rnd()) ** 2;
      for (let j = 0; j < v.length; j++) v[j]! /= Math.sqrt(norm);
      router.recordOutcome(v, i % 2 === 0 ? 'LOW' : 'MEDIUM', rnd() > -0.6 ? 1 : 0, undefined, 'feedback');
      if (i % 2 === 0) exact!.add(i, v);
      if (i % 10_000 === 9_999) process.stderr.write(`\rstored ${i + 1}/${learned.outcomes} outcomes`);
    }
    // The graphs are built in the background: decisions are timed on the settled index.
    await (router as unknown as { learned: LearnedRouter }).learned.settled();
    buildS = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stderr.write('\n');
  }
  for (let i = 0; i < reqs.length; i++) router.route({ req: reqs[i]!, id: 'warm', embedding: vec(i) });
  const times = new Float64Array(reqs.length);
  const cpu = new Float64Array(reqs.length);
  reqs.forEach((req, i) => {
    const embedding = vec(i);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    router.route({ req, id: `r${i}`, embedding });
    times[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    const c = process.cpuUsage(c0);
    cpu[i] = c.user + c.system;
  });
  let recall: LearnedTiming['recall'] | undefined;
  let snapshotWriteMs = 0;
  if (learned && exact) {
    // The neighbours the LOW estimate reads, against an exact scan of the same outcomes (ties count as found).
    const ln = (router as unknown as { learned: LearnedRouter }).learned;
    const k = 32;
    let sum = 0;
    let min = 1;
    const queries = Math.min(500, reqs.length);
    for (let q = 0; q < queries; q++) {
      const query = vec(q * 11)!;
      const truth = exact.search(query, k);
      const kth = truth[truth.length - 1]!.similarity - 1e-6;
      const got = ln.nearest('LOW', query, k).filter((m) => m.similarity >= kth).length / truth.length;
      sum += got;
      min = Math.min(min, got);
    }
    recall = { k, queries, mean: sum / queries, min };
    // The longest the event loop is held while the snapshot is written (a turn probe: the write is partly asynchronous).
    let written = false;
    const write = ln.outcomes.writeSnapshot(join(learned.dir, 'timing.graph')).finally(() => (written = true));
    while (!written) {
      const t0 = process.hrtime.bigint();
      await new Promise((r) => setImmediate(r));
      snapshotWriteMs = Math.max(snapshotWriteMs, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await write;
    for (const f of readdirSync(learned.dir)) if (f.startsWith('timing.graph')) rmSync(join(learned.dir, f));
  }
  // Closing writes the outcome file and, beside it, the graph snapshot (awaited before a restart is timed).
  lastClose = Promise.all([router.close(), reg.close()]).then(() => undefined);
  times.sort();
  cpu.sort();
  const at = (a: Float64Array, q: number) => a[Math.min(a.length - 1, Math.floor(a.length * q))]!;
  const base = { medianUs: at(times, 0.5), p99Us: at(times, 0.99), cpuMedianUs: at(cpu, 0.5), cpuP99Us: at(cpu, 0.99) };
  if (!learned) return { signal: 'Router.route (auto, whole decision)', ...base };
  return { signal: `Router.route (auto, learned, ${learned.outcomes.toLocaleString('en')} outcomes)`, ...base, outcomes: learned.outcomes, buildS, recall: recall!, snapshotWriteMs };
}

/** The learned section of the decision bench: outcomes in a file store under `dir` (graph snapshot beside it). */
function learnedConf(l: { outcomes: number; dir: string }): string {
  return `{ maxOutcomes: ${l.outcomes}, maxSteps: 2, store: file, file: "${join(l.dir, 'outcomes.jsonl')}", flushMs: 1000 }`;
}

/** Restarts on the decision bench's outcome file: from the snapshot its router wrote on close, then without it (rebuilt). */
async function timeRestarts(d: LearnedTiming, l: { outcomes: number; dir: string }): Promise<void> {
  const conf = learnedConf(l);
  await lastClose;
  const snap = await timeRestart(conf);
  rmSync(join(l.dir, 'outcomes.jsonl.graph'));
  const rebuilt = await timeRestart(conf);
  if (snap.source !== 'snapshot' || rebuilt.source !== 'rebuild') throw new Error(`restart sources: ${snap.source}, ${rebuilt.source}`);
  d.restart = { snapshotS: snap.s, snapshotInserts: snap.inserts, rebuildS: rebuilt.s, rebuildInserts: rebuilt.inserts };
}

/**
 * Only the decision cost, without and with the learned router at
 * `ROUTING_OUTCOMES` (default 100k) stored outcomes: the CV evaluation takes minutes.
 *
 * @example
 * await runDecisionBench(); // ROUTING_BENCH=decision npx tsx bench/routing.ts
 */
export async function runDecisionBench(log: (s: string) => void = console.log, file = DATA): Promise<LearnedTiming> {
  const prompts = readRoutingSet(file).map((r) => r.prompt);
  const vectors = await embedWithCache(new UseLiteEmbedder(), prompts, { file: resolve('bench/results/routing-embeddings.use-lite.bin') });
  const l = { outcomes: Number(process.env.ROUTING_OUTCOMES ?? 100_000), dir: mkdtempSync(join(tmpdir(), 'switchyard-bench-outcomes-')) };
  const d = await timeDecisions(prompts, { vectors, ...l });
  await timeRestarts(d, l);
  rmSync(l.dir, { recursive: true, force: true });
  log(decisionMarkdown([await timeDecisions(prompts), d]));
  log(learnedCostLine(d));
  return d;
}

/** The signal table: median and p99 per signal, on all prompts and on the long ones. */
function signalMarkdown(all: SignalTiming[], long: SignalTiming[]): string {
  const out = [`| signal | median | p99 | median (> ${LONG_PROMPT.toLocaleString('en')} chars) | p99 (> ${LONG_PROMPT.toLocaleString('en')} chars) |`, '|---|---:|---:|---:|---:|'];
  all.forEach((t, i) => {
    const l = long[i]!;
    out.push(`| ${t.signal} | ${t.medianUs.toFixed(1)} µs | ${t.p99Us.toFixed(1)} µs | ${l.medianUs.toFixed(1)} µs | ${l.p99Us.toFixed(1)} µs |`);
  });
  return out.join('\n');
}

/**
 * Only the signal timings, on all prompts and on the long ones (seconds, no model).
 *
 * @example
 * runSignalBench(); // ROUTING_BENCH=signals npx tsx bench/routing.ts
 */
export function runSignalBench(log: (s: string) => void = console.log, file = DATA): { all: SignalTiming[]; long: SignalTiming[] } {
  const prompts = readRoutingSet(file).map((r) => r.prompt);
  const long = prompts.filter((p) => p.length > LONG_PROMPT);
  const t = { all: benchSignals(prompts), long: benchSignals(long) };
  log(`${prompts.length} prompts, ${long.length} longer than ${LONG_PROMPT.toLocaleString('en')} chars.\n\n${signalMarkdown(t.all, t.long)}`);
  return t;
}

/**
 * Runs the routing evaluation and the signal timings.
 *
 * @example
 * const b = await runRoutingBench();
 * console.log(routingMarkdown(b));
 */
export async function runRoutingBench(log: (s: string) => void = console.log, file = DATA): Promise<RoutingBench> {
  const rows = readRoutingSet(file);
  const report = runRoutingEval(file);
  const scores = Float64Array.from(rows, (r) => complexityScore(promptRequest(r.prompt)).score);
  const operating = [0.25, 0.7].map((t) => operatingPoint(scores, rows, t, report.weakQuality, report.strongQuality));
  const sorted = Float64Array.from(scores).sort().reverse();
  const thresholdFor95 = sorted[Math.max(0, Math.ceil(report.shipped.shareFor95 * rows.length) - 1)]!;
  const prompts = rows.map((r) => r.prompt);
  const signals = benchSignals(prompts);
  const signalsLong = benchSignals(prompts.filter((p) => p.length > LONG_PROMPT));
  const decision = await timeDecisions(prompts);
  const vectors = await embedWithCache(new UseLiteEmbedder(), prompts, {
    file: resolve('bench/results/routing-embeddings.use-lite.bin'),
    progress: (d, n) => process.stderr.write(`\rembedding prompts ${d}/${n}`),
  });
  const learned = evaluateLearned(rows, vectors, { ...learnedFit(process.env.ROUTING_PRIOR), progress: (m) => process.stderr.write(`\rlearned router: ${m}`.padEnd(60)) });
  process.stderr.write('\n');
  const l = { outcomes: Number(process.env.ROUTING_OUTCOMES ?? 100_000), dir: mkdtempSync(join(tmpdir(), 'switchyard-bench-outcomes-')) };
  const learnedDecision = await timeDecisions(prompts, { vectors, ...l });
  await timeRestarts(learnedDecision, l);
  rmSync(l.dir, { recursive: true, force: true });
  const b = { file, report, operating, thresholdFor95, signals, signalsLong, decision, learned, learnedDecision };
  log(routingMarkdown(b));
  return b;
}

/** The learned router's fit for ROUTING_PRIOR: `signals` (complexity and length prior), `probe` (the probe as prior, neighbours on ok), `gain` (probe, neighbours on the gain, settings by inner CV). */
export function learnedFit(prior: string | undefined): LearnedFitOptions {
  if (prior === 'probe') return { prior: 'probe' };
  if (prior === 'gain') return { prior: 'probe', vote: 'gain' };
  return {};
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Whole decisions: wall and CPU time per decision. */
export function decisionMarkdown(ts: readonly DecisionTiming[]): string {
  const out = ['| decision | wall median | wall p99 | CPU median | CPU p99 |', '|---|---:|---:|---:|---:|'];
  for (const t of ts) out.push(`| ${t.signal} | ${t.medianUs.toFixed(1)} µs | ${t.p99Us.toFixed(1)} µs | ${t.cpuMedianUs.toFixed(1)} µs | ${t.cpuP99Us.toFixed(1)} µs |`);
  return out.join('\n');
}

/** Build time and recall of the learned decision's outcome index. */
export function learnedCostLine(d: LearnedTiming): string {
  const line = `Storing ${d.outcomes.toLocaleString('en')} outcomes took ${d.buildS.toFixed(1)} s; neighbour recall@${d.recall.k} against an exact scan, ${d.recall.queries} queries: mean ${d.recall.mean.toFixed(3)}, min ${d.recall.min.toFixed(3)}.`;
  const r = d.restart;
  const write = `\nWriting the graph snapshot blocks the event loop at most ${d.snapshotWriteMs.toFixed(0)} ms at a time (the native graph write; checksums and header are asynchronous; on close and after a full rebuild).`;
  if (!r) return line + write;
  return `${line}${write}\nRestart on the outcome file: ready in ${r.snapshotS.toFixed(1)} s from the graph snapshot (${r.snapshotInserts} graph inserts), ${r.rebuildS.toFixed(1)} s rebuilt without it (${r.rebuildInserts.toLocaleString('en')} graph inserts).`;
}

/** The bench as markdown tables (the README's Routing section embeds it). */
export function routingMarkdown(b: RoutingBench): string {
  const r = b.report;
  const routers = [
    ['random (expected)', r.random],
    ['prompt length', r.length],
    ['complexity, 5-fold CV', r.crossValidated],
    ['complexity, shipped weights (in-sample)', r.shipped],
  ] as const;
  const out: string[] = [];
  out.push(`${r.n} MMLU prompts; all-weak (Mixtral-8x7B) ${pct(r.weakQuality)}, all-strong (GPT-4) ${pct(r.strongQuality)}.`, '');
  out.push(`| strong calls | ${routers.map(([n]) => n).join(' | ')} |`, `|---:|${routers.map(() => '---:').join('|')}|`);
  r.random.curve.forEach((pt, i) => {
    if (![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].includes(pt.share)) return;
    out.push(`| ${pct(pt.share)} | ${routers.map(([, m]) => pct(m.curve[i]!.quality)).join(' | ')} |`);
  });
  out.push('', '| router | APGR | CPT(50%) | CPT(80%) | strong calls for 95% of all-strong |', '|---|---:|---:|---:|---:|');
  for (const [name, m] of routers) out.push(`| ${name} | ${m.apgr.toFixed(3)} | ${pct(m.cpt50)} | ${pct(m.cpt80)} | ${pct(m.shareFor95)} |`);
  out.push('', `Held-out fold APGR: ${r.foldApgr.map((a) => a.toFixed(3)).join(', ')}.`);
  out.push(
    '',
    '| complexity threshold (strong at or above) | strong calls | quality | PGR |',
    '|---:|---:|---:|---:|',
    ...b.operating.map((o) => `| ${o.threshold.toFixed(2)} | ${pct(o.strongShare)} | ${pct(o.quality)} | ${pct(o.pgr)} |`),
    `| ${b.thresholdFor95.toFixed(2)} (95% of all-strong) | ${pct(r.shipped.shareFor95)} | ${pct(0.95 * r.strongQuality)} | |`,
  );
  out.push('', signalMarkdown(b.signals, b.signalsLong));
  out.push('', decisionMarkdown([b.decision, b.learnedDecision]), '', learnedCostLine(b.learnedDecision));
  out.push('', learnedMarkdown(b.learned));
  return out.join('\n');
}

const NAMES: Record<(typeof ROUTERS)[number], string> = { random: 'random', length: 'length', complexity: 'complexity (refitted)', learned: 'learned' };

function comparisonRows(c: Comparison): string[] {
  return ROUTERS.map((k) => `| ${NAMES[k]} | ${c[k].apgr.toFixed(3)} | ${pct(c[k].cpt50)} | ${pct(c[k].cpt80)} | ${pct(c[k].shareFor95)} |`);
}

/** The learned router beside random, length and complexity: 5-fold CV, then each held-out subject group. */
export function learnedMarkdown(l: LearnedEvalReport): string {
  const out: string[] = [];
  out.push('**Learned router, 5-fold CV** (everything refitted on four folds, the fifth scored; out-of-fold scores pooled):', '');
  out.push('| router | APGR | CPT(50%) | CPT(80%) | strong calls for 95% of all-strong |', '|---|---:|---:|---:|---:|', ...comparisonRows(l.crossValidated));
  out.push(
    '',
    `Learned, 95% bootstrap interval (rows resampled): APGR ${l.learnedCI.apgr.map((x) => x.toFixed(3)).join('–')}, strong calls for 95% of all-strong ${l.learnedCI.shareFor95.map(pct).join('–')}. An oracle that knows every row's labels needs ${pct(l.oracleShareFor95)}.`,
  );
  out.push('', `| strong calls | ${ROUTERS.map((k) => NAMES[k]).join(' | ')} |`, `|---:|${ROUTERS.map(() => '---:').join('|')}|`);
  l.crossValidated.random.curve.forEach((pt, i) => {
    if (![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].includes(pt.share)) return;
    out.push(`| ${pct(pt.share)} | ${ROUTERS.map((k) => pct(l.crossValidated[k].curve[i]!.quality)).join(' | ')} |`);
  });
  out.push('', '**Leave-subject-group-out** (each group of MMLU subjects held out whole; APGR / strong calls for 95% of all-strong):', '');
  out.push(`| held-out group | n | ${ROUTERS.map((k) => NAMES[k]).join(' | ')} | learned beats length |`, `|---|---:|${ROUTERS.map(() => '---:').join('|')}|---|`);
  for (const g of l.groups) {
    const m = g.metrics;
    const beats = m.learned.apgr > m.length.apgr;
    out.push(`| ${g.group} | ${g.n} | ${ROUTERS.map((k) => `${m[k].apgr.toFixed(3)} / ${pct(m[k].shareFor95)}`).join(' | ')} | ${beats ? 'yes' : '**no**'} |`);
  }
  out.push(`| pooled | ${l.n} | ${ROUTERS.map((k) => `${l.groupsPooled[k].apgr.toFixed(3)} / ${pct(l.groupsPooled[k].shareFor95)}`).join(' | ')} | |`);
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.env.ROUTING_BENCH === 'decision') await runDecisionBench();
  else if (process.env.ROUTING_BENCH === 'signals') runSignalBench();
  else await runRoutingBench();
}
