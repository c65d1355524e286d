/**
 * Soak: `switchyard serve` (its own process, exact and semantic cache on with
 * small byte bounds, USE Lite embedder) under mixed traffic at a fixed rate
 * for a long time, against a fake upstream that fails on purpose (500s,
 * resets, streams cut mid-way) with a fallback upstream behind it. Every
 * window (30 s) it prints the gateway's RSS, p50/p99 (due → last byte, open
 * loop), statuses, cache results and the semantic index's size; at the end,
 * whether RSS levelled off after the warm-up and the worst window p99.
 *
 *   npx tsx bench/soak.ts                      10 minutes (needs `npm run build` first)
 *   npx tsx bench/soak.ts --seconds 120        shorter
 *   SOAK_SECONDS=120 BENCH_ONLY=soak npm run bench   (as the `soak` section; BENCH_ONLY=soak)
 *
 * Environment (flags win): SOAK_SECONDS (600; --seconds), SOAK_RATE requests/s (20; --rate),
 * SOAK_WINDOW_SECONDS (30), SOAK_WARMUP_SECONDS (120), SOAK_CACHE_MIB byte bound of each cache (8).
 *
 * Traffic, per request: 5 tenants (distinct API keys); 35% unique questions, 45% from a pool of
 * 100 repeated questions, 10% near-paraphrases of the pool, 10% a 3 KB context then a question;
 * 30% streamed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { percentile } from './lib/load.js';
import { cpuMs, spawnWithUrl } from './lib/procs.js';
import { startSoakUpstream } from './lib/soak-upstream.js';

export interface SoakSettings {
  seconds: number;
  rate: number;
  windowSeconds: number;
  warmupSeconds: number;
  cacheMiB: number;
}

export interface SoakWindow {
  /** End of the window, seconds since the start. */
  t: number;
  rssMiB: number;
  /** V8 heap in use and memory outside it (ArrayBuffers, WASM, native), from the gateway's /metrics, MiB. */
  heapMiB: number;
  /** V8 heap committed (used plus free pages V8 keeps between collections), MiB. */
  heapTotalMiB: number;
  externalMiB: number;
  /** Gateway CPU use over the window (100 = one core). */
  cpuPct: number;
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  cache: Record<string, number>;
  semanticEntries: number;
  semanticMiB: number;
  exactEntries: number;
}

export interface SoakResult {
  settings: SoakSettings;
  windows: SoakWindow[];
  /** RSS at the end of the warm-up and at the end, MiB. */
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  rssMaxAfterWarmupMiB: number;
  trend: RssTrend;
  /** Worst and median window p99 after the warm-up, ms. */
  p99MaxMs: number;
  p99MedianMs: number;
  totals: { sent: number; ok: number; non2xx: number; errors: number; upstreamFaults: number };
}

/**
 * Whether RSS levels off after the warm-up. RSS follows the V8 heap's
 * committed size, which rises between major collections and falls at them (a
 * saw-tooth of tens of MiB), so the end-minus-start difference says little.
 * This compares the highest RSS of the first and second halves of the steady
 * windows, and fits a least-squares line to RSS and to RSS minus the main
 * thread's committed V8 heap (native memory, the embedder worker, code: what
 * a native leak would grow).
 */
export interface RssTrend {
  windows: number;
  minMiB: number;
  maxMiB: number;
  /** Highest RSS in the first and the second half of the steady windows. */
  firstHalfMaxMiB: number;
  secondHalfMaxMiB: number;
  /** Least-squares slopes, MiB per minute. */
  rssSlopeMiBPerMin: number;
  outsideHeapSlopeMiBPerMin: number;
  /** RSS minus committed V8 heap: first and last steady window. */
  outsideHeapStartMiB: number;
  outsideHeapEndMiB: number;
  /** True when the second half's highest RSS is within 2% of the first half's. */
  flat: boolean;
}

function slopePerMin(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? (num / den) * 60 : 0;
}

/** The RSS trend of the windows after `warmupSeconds` (all windows when none are after it). */
export function rssTrend(windows: Pick<SoakWindow, 't' | 'rssMiB' | 'heapTotalMiB'>[], warmupSeconds: number): RssTrend {
  const after = windows.filter((w) => w.t > warmupSeconds);
  const steady = after.length > 0 ? after : windows;
  const half = Math.floor(steady.length / 2);
  const first = steady.slice(0, Math.max(1, half));
  const second = steady.slice(half);
  const rss = steady.map((w) => w.rssMiB);
  const outside = steady.map((w) => w.rssMiB - w.heapTotalMiB);
  const firstHalfMaxMiB = Math.max(...first.map((w) => w.rssMiB));
  const secondHalfMaxMiB = Math.max(...second.map((w) => w.rssMiB));
  return {
    windows: steady.length,
    minMiB: Math.min(...rss),
    maxMiB: Math.max(...rss),
    firstHalfMaxMiB,
    secondHalfMaxMiB,
    rssSlopeMiBPerMin: slopePerMin(steady.map((w) => w.t), rss),
    outsideHeapSlopeMiBPerMin: slopePerMin(steady.map((w) => w.t), outside),
    outsideHeapStartMiB: outside[0]!,
    outsideHeapEndMiB: outside.at(-1)!,
    flat: secondHalfMaxMiB <= firstHalfMaxMiB * 1.02,
  };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function soakSettings(): SoakSettings {
  const num = (f: string, env: string, dflt: number) => Number(flag(f) ?? process.env[env] ?? dflt);
  return {
    seconds: num('seconds', 'SOAK_SECONDS', 600),
    rate: num('rate', 'SOAK_RATE', 20),
    windowSeconds: num('window', 'SOAK_WINDOW_SECONDS', 30),
    warmupSeconds: num('warmup', 'SOAK_WARMUP_SECONDS', 120),
    cacheMiB: num('cache-mib', 'SOAK_CACHE_MIB', 8),
  };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Deterministic PRNG (mulberry32): the same traffic on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOPICS = ['the ocean', 'volcanoes', 'tax returns', 'sourdough bread', 'TCP congestion control', 'the Roman empire', 'jazz harmony', 'solar panels', 'sleep', 'chess openings', 'compound interest', 'bird migration'];
const ASKS = ['Explain', 'Summarise what you know about', 'Give three facts about', 'What is the history of', 'How would a beginner learn about', 'Write a short poem about'];
const CONTEXT = 'Context document. '.repeat(10) + 'The quarterly report describes revenue, costs and hiring plans across four regions. '.repeat(32);

function makeRequest(i: number, rand: () => number): { body: string; key: string } {
  const key = `soak-key-${Math.floor(rand() * 5)}`;
  const r = rand();
  let q: string;
  if (r < 0.35) q = `${ASKS[i % ASKS.length]} ${TOPICS[Math.floor(rand() * TOPICS.length)]}, case ${i}-${Math.floor(rand() * 1e9)}.`;
  else {
    const p = Math.floor(rand() * 100);
    const base = `${ASKS[p % ASKS.length]} ${TOPICS[p % TOPICS.length]} (variant ${p})`;
    if (r < 0.8) q = `${base}?`;
    else if (r < 0.9) q = `Please, ${base.toLowerCase()}?`;
    else q = `${CONTEXT}\n\nQuestion ${i}: ${base}?`;
  }
  const stream = rand() < 0.3;
  return { key, body: JSON.stringify({ model: 'soak-model', stream, max_tokens: 200, messages: [{ role: 'user', content: q }] }) };
}

function configYaml(primary: string, backup: string, cacheMiB: number): string {
  const bytes = cacheMiB * 1024 * 1024;
  return `server: { port: 0 }
upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${primary}
    models: [{ name: soak-model }]
    retry: { max: 1, baseDelayMs: 10, maxDelayMs: 50 }
    timeouts: { firstTokenMs: 5000, idleMs: 5000 }
    breaker: { volumeThreshold: 1000 }
  - name: backup
    kind: openai-compatible
    baseUrl: ${backup}
    models: [{ name: soak-backup }]
fallbacks: { soak-model: [soak-backup] }
cache:
  memory: { maxBytes: ${bytes} }
  semantic: { maxBytes: ${bytes} }
`;
}

export async function runSoakBench(log: (s: string) => void = console.log, settings: SoakSettings = soakSettings()): Promise<SoakResult> {
  const { seconds, rate, windowSeconds, warmupSeconds, cacheMiB } = settings;
  const up = await startSoakUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-soak-'));
  const file = join(dir, 'soak.yaml');
  writeFileSync(file, configYaml(up.primary, up.backup, cacheMiB));
  const gw = await spawnWithUrl(process.execPath, ['dist/cli/main.js', 'serve', '--config', file]);
  const pid = gw.child.pid!;
  const pool = new Pool(gw.url, { connections: 256, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const rand = rng(42);
  const windows: SoakWindow[] = [];
  const totals = { sent: 0, ok: 0, non2xx: 0, errors: 0, upstreamFaults: 0 };
  try {
    // Wait for the embedder (the first request loads USE Lite): one request, then go.
    await (await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer soak-warm' }, body: JSON.stringify({ model: 'soak-model', messages: [{ role: 'user', content: 'warm up' }] }) })).text();
    log(`soak: ${seconds} s at ${rate} req/s, windows of ${windowSeconds} s, warm-up ${warmupSeconds} s, cache bounds ${cacheMiB} MiB each; gateway pid ${pid}`);

    let w = { lat: [] as number[], sent: 0, ok: 0, non2xx: 0, errors: 0, cache: {} as Record<string, number> };
    const pending = new Set<Promise<void>>();
    const start = performance.now();
    const interval = 1000 / rate;
    const total = Math.round(rate * seconds);
    let cpu0 = cpuMs(pid);
    let windowEnd = start + windowSeconds * 1000;

    const closeWindow = async (now: number) => {
      const stats = (await (await fetch(`${gw.url}/switchyard/cache/stats`)).json()) as { entries?: number; semanticEntries?: number; semanticBytes?: number };
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      const gauge = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20;
      const cpu1 = cpuMs(pid);
      const lat = w.lat.sort((a, b) => a - b);
      // A row counts the answers to its window's requests that completed before it closed; the totals count every answer.
      const row: SoakWindow = {
        t: Math.round((now - start) / 1000),
        rssMiB: rssMiB(pid),
        heapMiB: gauge('nodejs_heap_size_used_bytes'),
        heapTotalMiB: gauge('nodejs_heap_size_total_bytes'),
        externalMiB: gauge('nodejs_external_memory_bytes'),
        cpuPct: ((cpu1 - cpu0) / (windowSeconds * 1000)) * 100,
        sent: w.sent,
        ok: w.ok,
        non2xx: w.non2xx,
        errors: w.errors,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        cache: w.cache,
        semanticEntries: stats.semanticEntries ?? 0,
        semanticMiB: (stats.semanticBytes ?? 0) / 2 ** 20,
        exactEntries: stats.entries ?? 0,
      };
      cpu0 = cpu1;
      windows.push(row);
      const c = row.cache;
      log(
        `t=${String(row.t).padStart(4)}s rss ${row.rssMiB.toFixed(1)} MiB heap ${row.heapMiB.toFixed(1)}/${row.heapTotalMiB.toFixed(1)} MiB external ${row.externalMiB.toFixed(1)} MiB cpu ${row.cpuPct.toFixed(0)}% | sent ${row.sent} ok ${row.ok} non2xx ${row.non2xx} err ${row.errors} | ` +
          `p50 ${row.p50.toFixed(1)} ms p99 ${row.p99.toFixed(1)} ms | cache exact ${c['hit-exact'] ?? 0} semantic ${c['hit-semantic'] ?? 0} miss ${c.miss ?? 0} busy ${c['miss-embedder-busy'] ?? 0} | ` +
          `semantic ${row.semanticEntries} entries ${row.semanticMiB.toFixed(1)} MiB, exact ${row.exactEntries}`,
      );
      w = { lat: [], sent: 0, ok: 0, non2xx: 0, errors: 0, cache: {} };
    };

    const fire = (i: number, due: number) => {
      const { body, key } = makeRequest(i, rand);
      const win = w;
      win.sent++;
      totals.sent++;
      const p = (async () => {
        try {
          const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
          for await (const _ of res.body) void _;
          const cache = String(res.headers['x-switchyard-cache'] ?? 'none');
          win.cache[cache] = (win.cache[cache] ?? 0) + 1;
          if (res.statusCode >= 300) {
            win.non2xx++;
            totals.non2xx++;
          } else {
            totals.ok++;
            win.ok++;
            win.lat.push(performance.now() - due);
          }
        } catch {
          win.errors++;
          totals.errors++;
        }
      })();
      pending.add(p);
      void p.then(() => pending.delete(p));
    };

    let i = 0;
    while (i < total) {
      const now = performance.now();
      while (i < total && start + i * interval <= now) fire(i, start + i++ * interval);
      if (now >= windowEnd) {
        // Answers due in this window are counted in it when they complete; stats are read now.
        await closeWindow(now);
        windowEnd += windowSeconds * 1000;
      }
      if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, Math.min(windowEnd, start + i * interval) - performance.now())));
    }
    await Promise.all(pending);
    if (w.sent > 0) await closeWindow(performance.now());
  } finally {
    await pool.close();
    await gw.stop();
    totals.upstreamFaults = up.counts.faults;
    await up.close();
  }
  const after = windows.filter((r) => r.t > warmupSeconds);
  const steady = after.length > 0 ? after : windows;
  const warm = windows.filter((r) => r.t <= warmupSeconds).at(-1) ?? windows[0]!;
  const p99s = steady.map((r) => r.p99).sort((a, b) => a - b);
  return {
    settings,
    windows,
    rssAfterWarmupMiB: warm.rssMiB,
    rssEndMiB: windows.at(-1)!.rssMiB,
    rssMaxAfterWarmupMiB: Math.max(...steady.map((r) => r.rssMiB)),
    trend: rssTrend(windows, warmupSeconds),
    p99MaxMs: p99s.at(-1)!,
    p99MedianMs: percentile(p99s, 50),
    totals,
  };
}

/** One sentence saying whether RSS levelled off, with the figures it rests on. */
export function trendSentence(t: RssTrend): string {
  const f = (x: number) => x.toFixed(1);
  const slope = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} MiB/min`;
  return (
    `RSS after warm-up (${t.windows} windows): ${f(t.minMiB)}–${f(t.maxMiB)} MiB; highest ${f(t.firstHalfMaxMiB)} MiB in the first half, ${f(t.secondHalfMaxMiB)} MiB in the second ` +
    `(${t.flat ? 'flat: within 2%' : 'GROWING: more than 2% higher'}); trend ${slope(t.rssSlopeMiBPerMin)}; outside the V8 heap ${f(t.outsideHeapStartMiB)} → ${f(t.outsideHeapEndMiB)} MiB (${slope(t.outsideHeapSlopeMiBPerMin)}).`
  );
}

export function soakMarkdown(r: SoakResult): string {
  const s = r.settings;
  const lines = [
    `${s.seconds} s at ${s.rate} req/s (open loop), cache byte bounds ${s.cacheMiB} MiB each, warm-up ${s.warmupSeconds} s. ` +
      `Sent ${r.totals.sent}: ${r.totals.ok} ok, ${r.totals.non2xx} non-2xx, ${r.totals.errors} transport errors; the upstream injected ${r.totals.upstreamFaults} faults.`,
    '',
    `RSS after warm-up ${r.rssAfterWarmupMiB.toFixed(1)} MiB, at the end ${r.rssEndMiB.toFixed(1)} MiB (max after warm-up ${r.rssMaxAfterWarmupMiB.toFixed(1)} MiB); ` +
      `window p99 after warm-up: median ${r.p99MedianMs.toFixed(1)} ms, worst ${r.p99MaxMs.toFixed(1)} ms.`,
    '',
    trendSentence(r.trend),
    '',
    '| t (s) | RSS MiB | heap used MiB | heap committed MiB | external MiB | CPU % | sent | ok | non-2xx | errors | p50 ms | p99 ms | exact hits | semantic hits | misses | embedder busy | semantic entries | semantic MiB | exact entries |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of r.windows) {
    const c = w.cache;
    lines.push(
      `| ${w.t} | ${w.rssMiB.toFixed(1)} | ${w.heapMiB.toFixed(1)} | ${w.heapTotalMiB.toFixed(1)} | ${w.externalMiB.toFixed(1)} | ${w.cpuPct.toFixed(0)} | ${w.sent} | ${w.ok} | ${w.non2xx} | ${w.errors} | ${w.p50.toFixed(1)} | ${w.p99.toFixed(1)} | ${c['hit-exact'] ?? 0} | ${c['hit-semantic'] ?? 0} | ${c.miss ?? 0} | ${c['miss-embedder-busy'] ?? 0} | ${w.semanticEntries} | ${w.semanticMiB.toFixed(1)} | ${w.exactEntries} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const r = await runSoakBench();
  console.log(`\n${soakMarkdown(r)}`);
  const out = flag('json');
  if (out) writeFileSync(out, JSON.stringify(r, null, 2));
}
