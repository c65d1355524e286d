/**
 * ext_proc cost and latency. The processor runs as `switchyard extproc` in
 * its own process; the client sends the real message sequence of one HTTP
 * exchange at a time, as Envoy would with envoy/envoy.yaml:
 *
 * - miss: request headers → buffered body (routed: header + body mutations)
 *   → response headers → the JSON answer BUFFERED (observed, cached);
 * - hit: request headers → body → ImmediateResponse;
 * - streamed: a miss answered as SSE, observed STREAMED (one message per
 *   upstream chunk, 20 chunks).
 *
 * Beside them, `switchyard serve` (same config, exact cache on, a real
 * loopback upstream) answers non-streamed misses: its CPU time per request is
 * the baseline. Both processes stay up for the whole run; every case runs
 * one at a time and at 16 in flight, in rounds (miss, hit, streamed, serve,
 * then again), and each CPU figure (user + system, from /proc) is the median
 * of the rounds, so the machine's load falls on every case alike. Embedding is
 * excluded (semantic cache off). Needs `npm run build` (both run from dist/).
 *
 *   npx tsx bench/extproc.ts
 *     BENCH_EXTPROC_N            exchanges per case per round (default 1000)
 *     BENCH_EXTPROC_ROUNDS       rounds (default 3)
 *     BENCH_EXTPROC_CONCURRENCY  in flight at once, comma-separated (default 1,16)
 *     BENCH_EXTPROC_CASES        a subset of miss,hit,streamed,serve
 *     BENCH_EXTPROC_NODE_ARGS    extra node flags for the processor, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { connectExtProc, requestBody, requestHeaders, responseBody, responseHeaders, type ExtProcClient } from '../test/fixtures/envoy-client.js';
import { cpuMs, spawnWithUrl, startUpstreamProc, type Proc } from './lib/procs.js';

type Case = 'miss' | 'hit' | 'streamed' | 'serve miss';

/** Figures of one case at one concurrency, over every round. */
export interface ExtProcBenchRow {
  case: Case;
  /** Exchanges in flight at once. */
  concurrency: number;
  /** Exchanges measured (all rounds). */
  requests: number;
  /** request_body sent → its answer received (the time Envoy holds the request for the decision); pooled over rounds. */
  decisionP50: number;
  decisionP99: number;
  /** The whole exchange: stream opened → last answer (for serve: request → last byte). */
  exchangeP50: number;
  exchangeP99: number;
  /** Server CPU time per exchange (user + system), median of the rounds. */
  serverCpuMs: number;
  /** The same, per round (in run order). */
  serverCpuRoundsMs: number[];
  /** serverCpuMs / serve's serverCpuMs at the same concurrency (1 for serve itself). */
  vsServe: number;
  /** Requests whose answer was not what the case expects (a hit that routed, a miss served). */
  unexpected: number;
}

const N = Number(process.env.BENCH_EXTPROC_N ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_EXTPROC_ROUNDS ?? 3));
const CONCURRENCY = (process.env.BENCH_EXTPROC_CONCURRENCY ?? '1,16').split(',').map((c) => Math.max(1, Number(c)));
const CASES = (process.env.BENCH_EXTPROC_CASES ?? 'miss,hit,streamed,serve').split(',').map((c) => (c.trim() === 'serve' ? 'serve miss' : c.trim())) as Case[];
const NODE_ARGS = (process.env.BENCH_EXTPROC_NODE_ARGS ?? '').split(' ').filter(Boolean);
const WARMUP = Math.min(200, N);

/** Runs `n` tasks with at most `c` in flight. */
async function pool(n: number, c: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(c, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

const ANSWER = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(400) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 100, total_tokens: 112 },
});

function body(content: string, stream = false): string {
  return JSON.stringify({ model: 'switchyard/auto', messages: [{ role: 'user', content }], ...(stream ? { stream: true } : {}) });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const CONFIG = `upstreams:
  - name: bench
    kind: openai-compatible
    baseUrl: UPSTREAM
    models: [{ name: bench-model }]
    retry: { max: 0 }
defaultModel: bench-model
cache: { enabled: true, store: memory, semantic: { enabled: false } }
`;

function configFile(kind: string, upstream: string): string {
  const file = join(tmpdir(), `switchyard-${kind}-bench-${process.pid}.yaml`);
  writeFileSync(file, (kind === 'serve' ? 'server: { port: 0 }\n' : '') + CONFIG.replace('UPSTREAM', upstream));
  return file;
}

async function startProcessor(): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  // The upstream is never called: Envoy makes the call; the bench plays its answers.
  const file = configFile('extproc', 'http://127.0.0.1:9/v1');
  const child = spawn(process.execPath, [...NODE_ARGS, 'dist/cli/main.js', 'extproc', '--config', file, '--port', '0', '--host', '127.0.0.1'], {
    env: { PATH: process.env.PATH, SWITCHYARD_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (c) => rej(new Error(`switchyard extproc exited with ${c}`)));
  });
  return {
    child,
    port,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

const SSE_CHUNKS = Array.from({ length: 19 }, (_, i) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model', choices: [{ index: 0, delta: { content: 'x'.repeat(i === 0 ? 22 : 21) }, finish_reason: null }] })}\n\n`,
).concat(`data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);

/** One exchange as Envoy drives it (see the module comment). */
async function exchange(client: ExtProcClient, content: string, streamed: boolean): Promise<{ decision: number; total: number; hit: boolean }> {
  const t0 = performance.now();
  const s = client.open();
  const b = body(content, streamed);
  await s.send(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(b)), authorization: 'Bearer bench-key' } }, false));
  const t1 = performance.now();
  const r = await s.send(requestBody(b, true));
  const t2 = performance.now();
  const hit = r.immediate_response !== undefined;
  if (!hit) {
    if (streamed) {
      const rh = await s.send(responseHeaders(200, { 'content-type': 'text/event-stream' }));
      if (rh.mode_override?.response_body_mode === 'STREAMED') {
        for (const c of SSE_CHUNKS) await s.send(responseBody(c, false));
        await s.send(responseBody('', true));
      }
    } else {
      const rh = await s.send(responseHeaders(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(ANSWER)) }));
      if (rh.mode_override?.response_body_mode === 'BUFFERED') await s.send(responseBody(ANSWER, true));
    }
  }
  await s.end();
  return { decision: t2 - t1, total: performance.now() - t0, hit };
}

/** One round of one case: the exchanges' latencies and the server's CPU time. */
interface Round {
  decisions: number[];
  totals: number[];
  cpuMs: number;
  unexpected: number;
}

let seq = 0;
const question = () => `a new question ${seq++} ${Math.random()}`;
const HIT_QUESTION = 'the same question every time';

/** `n` exchanges of one ext_proc case, `c` in flight; CPU time of the processor process. */
async function extProcRound(client: ExtProcClient, pid: number, kind: 'hit' | 'miss' | 'streamed', n: number, c: number): Promise<Round> {
  const r: Round = { decisions: [], totals: [], cpuMs: 0, unexpected: 0 };
  const cpu0 = cpuMs(pid);
  await pool(n, c, async () => {
    const x = await exchange(client, kind === 'hit' ? HIT_QUESTION : question(), kind === 'streamed');
    r.decisions.push(x.decision);
    r.totals.push(x.total);
    if (x.hit !== (kind === 'hit')) r.unexpected++;
  });
  r.cpuMs = cpuMs(pid) - cpu0;
  return r;
}

/** `n` non-streamed misses through `switchyard serve`, `c` in flight (`c` keep-alive connections). */
async function serveRound(serve: Proc, n: number, c: number): Promise<Round> {
  const origin = new URL(serve.url).origin;
  const http = new Pool(origin, { connections: c, pipelining: 1 });
  const r: Round = { decisions: [], totals: [], cpuMs: 0, unexpected: 0 };
  const headers = { 'content-type': 'application/json', authorization: 'Bearer bench-key' };
  const cpu0 = cpuMs(serve.child.pid!);
  try {
    await pool(n, c, async () => {
      const t0 = performance.now();
      const res = await http.request({ path: '/v1/chat/completions', method: 'POST', headers, body: body(question()) });
      await res.body.arrayBuffer();
      r.totals.push(performance.now() - t0);
      if (res.statusCode !== 200 || res.headers['x-switchyard-cache'] !== 'miss') r.unexpected++;
    });
  } finally {
    r.cpuMs = cpuMs(serve.child.pid!) - cpu0;
    await http.close();
  }
  return r;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function row(kind: Case, c: number, rounds: Round[]): ExtProcBenchRow {
  const decisions = rounds.flatMap((r) => r.decisions).sort((a, b) => a - b);
  const totals = rounds.flatMap((r) => r.totals).sort((a, b) => a - b);
  const perExchange = rounds.map((r) => r.cpuMs / N);
  return {
    case: kind,
    concurrency: c,
    requests: N * rounds.length,
    decisionP50: decisions.length ? quantile(decisions, 0.5) : NaN,
    decisionP99: decisions.length ? quantile(decisions, 0.99) : NaN,
    exchangeP50: quantile(totals, 0.5),
    exchangeP99: quantile(totals, 0.99),
    serverCpuMs: median(perExchange),
    serverCpuRoundsMs: perExchange,
    vsServe: NaN,
    unexpected: rounds.reduce((a, r) => a + r.unexpected, 0),
  };
}

/** The load average (1 min) when each run started and ended, for the figures' context. */
export const benchLoad: { start?: number; end?: number } = {};

/**
 * Both processes up, then for each concurrency: warm-up, then ROUNDS rounds of
 * every case in turn. Returns one row per case and concurrency.
 */
export async function runExtProcBench(log: (s: string) => void = console.log): Promise<ExtProcBenchRow[]> {
  benchLoad.start = loadavg()[0];
  const proc = await startProcessor();
  const client = connectExtProc(proc.port);
  const pid = proc.child.pid!;
  const upstream = CASES.includes('serve miss') ? await startUpstreamProc() : undefined;
  const serve = upstream ? await spawnWithUrl(process.execPath, ['dist/cli/main.js', 'serve', '--config', configFile('serve', upstream.url)]) : undefined;
  const rows: ExtProcBenchRow[] = [];
  try {
    // Prime the cache for the hit case, then wait for the write.
    if (CASES.includes('hit')) for (let i = 0; i < 50 && !(await exchange(client, HIT_QUESTION, false)).hit; i++) await new Promise((r) => setTimeout(r, 25));
    for (const c of CONCURRENCY) {
      const run = (kind: Case, n: number): Promise<Round> => (kind === 'serve miss' ? serveRound(serve!, n, c) : extProcRound(client, pid, kind, n, c));
      for (const kind of CASES) await run(kind, WARMUP);
      const rounds = new Map<Case, Round[]>(CASES.map((k) => [k, []]));
      for (let i = 0; i < ROUNDS; i++) {
        for (const kind of CASES) {
          const r = await run(kind, N);
          rounds.get(kind)!.push(r);
          log(`${kind.padEnd(10)} c=${String(c).padEnd(2)} round ${i + 1}: server CPU ${(r.cpuMs / N).toFixed(3)} ms/exchange (load ${loadavg()[0]!.toFixed(2)})`);
        }
      }
      const here = CASES.map((k) => row(k, c, rounds.get(k)!));
      const base = here.find((r) => r.case === 'serve miss')?.serverCpuMs;
      for (const r of here) {
        if (base !== undefined) r.vsServe = r.serverCpuMs / base;
        rows.push(r);
        log(
          `${r.case.padEnd(10)} c=${String(c).padEnd(2)} ` +
            (Number.isNaN(r.decisionP50) ? '' : `decision p50 ${r.decisionP50.toFixed(3)}ms p99 ${r.decisionP99.toFixed(3)}ms | `) +
            `exchange p50 ${r.exchangeP50.toFixed(3)}ms p99 ${r.exchangeP99.toFixed(3)}ms | server CPU ${r.serverCpuMs.toFixed(3)}ms/exchange (median of ${ROUNDS})` +
            (Number.isNaN(r.vsServe) ? '' : `, ${r.vsServe.toFixed(2)}× serve`) +
            (r.unexpected > 0 ? ` (${r.unexpected} unexpected answers)` : ''),
        );
      }
    }
  } finally {
    client.close();
    await proc.stop();
    await serve?.stop();
    await upstream?.stop();
  }
  benchLoad.end = loadavg()[0];
  return rows;
}

/** The rows as a markdown table. */
export function extProcMarkdown(rows: ExtProcBenchRow[]): string {
  const ms = (x: number) => (Number.isNaN(x) ? '–' : `${x.toFixed(3)} ms`);
  const lines = [
    '| case | in flight | requests | decision p50 | decision p99 | exchange p50 | exchange p99 | server CPU/exchange | vs serve | unexpected |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.case} | ${r.concurrency} | ${r.requests} | ${ms(r.decisionP50)} | ${ms(r.decisionP99)} | ${ms(r.exchangeP50)} | ${ms(r.exchangeP99)} | ${ms(r.serverCpuMs)} | ${Number.isNaN(r.vsServe) ? '–' : `${r.vsServe.toFixed(2)}×`} | ${r.unexpected} |`,
    );
  }
  lines.push('', `Server CPU: median of ${ROUNDS} interleaved rounds of ${N} exchanges; load average (1 min) ${benchLoad.start?.toFixed(2)} at the start, ${benchLoad.end?.toFixed(2)} at the end.`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = await runExtProcBench();
  console.log(`\n${extProcMarkdown(rows)}`);
}
