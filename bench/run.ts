/**
 * `npm run bench`: every benchmark in one run, on this machine. Prints each
 * table and writes bench/results/latest.json and latest.md.
 *
 *   npm run bench                      full durations (about 25 minutes on 2 cores, the soak included)
 *   BENCH_QUICK=1 npm run bench        short cells, one repeat: checks the harness, noisy figures
 *   BENCH_SMOKE=1 npm run bench        the smallest cells (what test/e2e/bench-harness.test.ts runs): meaningless figures
 *   BENCH_ONLY=peer,gateway npm run bench   a subset: gateway, express-face, peer, cache, extproc, routing, soak
 *                                      (soak runs 10 minutes; SOAK_SECONDS=120 for less, see bench/soak.ts)
 *   npm run bench -- --readme          also writes each table into the docs (README.md, docs/*.md) between
 *                                      <!-- bench:NAME --> and <!-- /bench:NAME -->
 *
 * A section that fails is recorded (JSON and markdown) and the run goes on;
 * the process then exits non-zero.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const smoke = process.env.BENCH_SMOKE === '1';
const quick = smoke || process.env.BENCH_QUICK === '1';
/** Sets each variable that is still unset (flags and the caller's environment win). */
function envDefaults(values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) process.env[k] ??= v;
}
// Smoke mode (test/e2e/bench-harness.test.ts): the smallest cells that still run every code path; the
// figures mean nothing. Set before the quick defaults, which only fill what is still unset.
if (smoke) {
  envDefaults({
    BENCH_SECONDS: '0.3',
    BENCH_EXPRESS_SECONDS: '0.3',
    BENCH_EXTPROC_N: '40',
    BENCH_CACHE_SIZES: '300',
    BENCH_QUERIES: '30',
    BENCH_EMBED_TEXTS: '48',
    ROUTING_OUTCOMES: '2000',
    BENCH_PEER_RATES: '100',
    BENCH_PEER_SECONDS: '0.5',
    BENCH_PEER_SATURATION_SECONDS: '0.5',
    SOAK_SECONDS: '6',
    SOAK_WINDOW_SECONDS: '3',
    SOAK_WARMUP_SECONDS: '3',
  });
}
// Quick mode shortens the sections that read their own knobs; set before they load.
if (quick) {
  envDefaults({
    BENCH_SECONDS: '1', // gateway.ts
    BENCH_EXTPROC_N: '300', // extproc.ts
    BENCH_EXTPROC_ROUNDS: '1',
    BENCH_CACHE_SIZES: '1000,10000', // cache.ts
    BENCH_QUERIES: '200', // cache.ts
    SOAK_SECONDS: '60', // soak.ts
    SOAK_WINDOW_SECONDS: '15',
    SOAK_WARMUP_SECONDS: '15',
  });
}
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const writeReadme = process.argv.includes('--readme');

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
const started = new Date().toISOString();

interface Section {
  name: string;
  title: string;
  run(log: (s: string) => void): Promise<{ markdown: string; data: unknown }>;
}

const sections: Section[] = [
  {
    name: 'gateway',
    title: 'Gateway overhead',
    run: async (log) => {
      const { gatewayMarkdown, runGatewayBench } = await import('./gateway.js');
      const rows = await runGatewayBench(log);
      return { markdown: gatewayMarkdown(rows), data: rows };
    },
  },
  {
    name: 'express-face',
    title: 'Express face overhead',
    run: async (log) => {
      const { expressFaceMarkdown, runExpressFaceBench } = await import('./express-face.js');
      const b = await runExpressFaceBench(log);
      return { markdown: expressFaceMarkdown(b), data: b };
    },
  },
  {
    name: 'peer',
    title: 'Against a peer gateway (Portkey), at fixed request rates',
    run: async (log) => {
      const { peerMarkdown, runPeerBench } = await import('./peer.js');
      const b = await runPeerBench(log);
      return { markdown: peerMarkdown(b), data: b };
    },
  },
  {
    name: 'cache',
    title: 'Response cache',
    run: async (log) => {
      const { cacheMarkdown, runCacheBench } = await import('./cache.js');
      const b = await runCacheBench(log);
      return { markdown: cacheMarkdown(b), data: b };
    },
  },
  {
    name: 'extproc',
    title: 'Envoy ext_proc decision latency',
    run: async (log) => {
      const { extProcMarkdown, runExtProcBench } = await import('./extproc.js');
      const rows = await runExtProcBench(log);
      return { markdown: extProcMarkdown(rows), data: rows };
    },
  },
  {
    name: 'routing',
    title: 'Routing evaluation',
    run: async (log) => {
      const { routingMarkdown, runRoutingBench } = await import('./routing.js');
      const b = await runRoutingBench(log);
      return { markdown: routingMarkdown(b), data: b };
    },
  },
  {
    name: 'soak',
    title: 'Soak: memory and latency over time under mixed traffic with upstream faults',
    run: async (log) => {
      const { runSoakBench, soakMarkdown } = await import('./soak.js');
      const r = await runSoakBench(log);
      return { markdown: soakMarkdown(r), data: r };
    },
  },
  // A new benchmark plugs in here: a module exporting `runXBench(log)` and `xMarkdown(result)`,
  // and a `<!-- bench:NAME -->` / `<!-- /bench:NAME -->` pair in docs/benchmarks.md for `--readme`.
];

const mode = smoke ? 'BENCH_SMOKE=1 (smallest cells: the figures mean nothing)' : quick ? 'BENCH_QUICK=1 (short cells, one repeat)' : '';
console.log(`# Switchyard benchmarks\n${machine}\n${started}${mode ? `\n${mode}` : ''}\n`);
const results: { name: string; title: string; markdown: string; data?: unknown; error?: string; seconds: number }[] = [];
for (const s of sections) {
  if (only && !only.includes(s.name)) continue;
  console.log(`## ${s.title}`);
  const t0 = performance.now();
  try {
    const r = await s.run((line) => console.log(line));
    results.push({ name: s.name, title: s.title, ...r, seconds: (performance.now() - t0) / 1000 });
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`section ${s.name} failed: ${error}`);
    results.push({ name: s.name, title: s.title, markdown: `**Failed:** ${error.split('\n')[0]}`, error, seconds: (performance.now() - t0) / 1000 });
  }
}

const header = `${machine}; ${started}${mode ? `; ${mode}` : ''}`;
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json', JSON.stringify({ machine, started, quick, sections: results }, null, 2));
const md = ['# Switchyard benchmarks', '', header, ''];
for (const s of results) md.push(`## ${s.title}`, '', s.markdown, '');
writeFileSync('bench/results/latest.md', md.join('\n'));
console.log(`\n${md.join('\n')}`);

if (writeReadme) {
  // Each table replaces the text between its markers; a lone opening marker gets a closing one.
  // The tables live in docs/benchmarks.md and docs/routing.md (any README.md or docs/*.md with the markers).
  const docs = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const blocks: [string, string][] = [['machine', `Measured on ${header}.`], ...results.map((s): [string, string] => [s.name, s.markdown])];
  for (const file of docs) {
    let readme = readFileSync(file, 'utf8');
    const before = readme;
    for (const [name, text] of blocks) {
      const open = `<!-- bench:${name} -->`;
      const close = `<!-- /bench:${name} -->`;
      const i = readme.indexOf(open);
      if (i < 0) continue;
      const j = readme.indexOf(close, i);
      const end = j < 0 ? i + open.length : j + close.length;
      readme = `${readme.slice(0, i)}${open}\n${text}\n${close}${readme.slice(end)}`;
    }
    if (readme !== before) {
      writeFileSync(file, readme);
      console.log(`${file} tables updated`);
    }
  }
}

if (results.some((s) => s.error)) process.exitCode = 1;
