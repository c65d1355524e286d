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
 * It prints the processor's CPU time per exchange beside `switchyard serve`'s
 * CPU time per request (same config, exact cache on, a real loopback
 * upstream), measured in the same run, from /proc. Embedding is excluded
 * (semantic cache off). Needs `npm run build` (both run from dist/).
 *
 *   npx tsx bench/extproc.ts   (BENCH_EXTPROC_N exchanges per case, default 2000;
 *                               BENCH_EXTPROC_CONCURRENCY in flight at once, default 16)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectExtProc, requestBody, requestHeaders, responseBody, responseHeaders, type ExtProcClient } from '../test/fixtures/envoy-client.js';
import { cpuMs, spawnWithUrl, startUpstreamProc } from './lib/procs.js';

/** Latency figures of one case, in milliseconds. */
export interface ExtProcBenchRow {
  case: 'hit' | 'miss' | 'streamed' | 'serve miss';
  requests: number;
  /** request_body sent → its answer received (the time Envoy holds the request for the decision). */
  decisionP50: number;
  decisionP99: number;
  /** The whole exchange: stream opened → last answer (for serve: request → last byte). */
  exchangeP50: number;
  exchangeP99: number;
  /** Server CPU time per exchange (user + system). */
  serverCpuMs: number;
  /** Requests whose answer was not what the case expects (a hit that routed, a miss served). */
  unexpected: number;
}

const N = Number(process.env.BENCH_EXTPROC_N ?? 2000);
/** Exchanges in flight at once (Envoy multiplexes many streams over one connection). */
const C = Math.max(1, Number(process.env.BENCH_EXTPROC_CONCURRENCY ?? 16));

/** Runs `n` tasks with at most `C` in flight. */
async function pool(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(C, n) }, async () => {
    while (next < n) await task(next++);
  }));
}
const WARMUP = Math.min(200, N);

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
  const child = spawn(process.execPath, ['dist/cli/main.js', 'extproc', '--config', file, '--port', '0', '--host', '127.0.0.1'], {
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

function row(kind: ExtProcBenchRow['case'], decisions: number[], totals: number[], cpu: number, unexpected: number): ExtProcBenchRow {
  decisions.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    case: kind,
    requests: N,
    decisionP50: decisions.length ? quantile(decisions, 0.5) : NaN,
    decisionP99: decisions.length ? quantile(decisions, 0.99) : NaN,
    exchangeP50: quantile(totals, 0.5),
    exchangeP99: quantile(totals, 0.99),
    serverCpuMs: cpu / N,
    unexpected,
  };
}

async function measure(client: ExtProcClient, pid: number, kind: 'hit' | 'miss' | 'streamed'): Promise<ExtProcBenchRow> {
  const content = (i: number) => (kind === 'hit' ? 'the same question every time' : `a new question ${i} ${Math.random()}`);
  const streamed = kind === 'streamed';
  if (kind === 'hit') {
    // Prime the cache, then wait for the write.
    for (let i = 0; i < 20 && !(await exchange(client, content(0), false)).hit; i++) await new Promise((r) => setTimeout(r, 25));
  }
  await pool(WARMUP, async (i) => void (await exchange(client, content(i), streamed)));
  const decisions: number[] = [];
  const totals: number[] = [];
  let unexpected = 0;
  const cpu0 = cpuMs(pid);
  await pool(N, async (i) => {
    const r = await exchange(client, content(WARMUP + i), streamed);
    decisions.push(r.decision);
    totals.push(r.total);
    if (r.hit !== (kind === 'hit')) unexpected++;
  });
  return row(kind, decisions, totals, cpuMs(pid) - cpu0, unexpected);
}

/** `switchyard serve` (same config, real loopback upstream): CPU per non-streamed miss. */
async function measureServe(log: (s: string) => void): Promise<ExtProcBenchRow> {
  const upstream = await startUpstreamProc();
  const serve = await spawnWithUrl(process.execPath, ['dist/cli/main.js', 'serve', '--config', configFile('serve', upstream.url)]);
  try {
    const base = serve.url.replace(/\/v1$/, '');
    const call = async (i: number) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' }, body: body(`a new question ${i} ${Math.random()}`) });
      await res.arrayBuffer();
      return { ok: res.status === 200 && res.headers.get('x-switchyard-cache') === 'miss', ms: performance.now() - t0 };
    };
    await pool(WARMUP, async (i) => void (await call(i)));
    const totals: number[] = [];
    let unexpected = 0;
    const cpu0 = cpuMs(serve.child.pid!);
    await pool(N, async (i) => {
      const r = await call(WARMUP + i);
      totals.push(r.ms);
      if (!r.ok) unexpected++;
    });
    return row('serve miss', [], totals, cpuMs(serve.child.pid!) - cpu0, unexpected);
  } catch (e) {
    log(`serve: ${(e as Error).message}`);
    throw e;
  } finally {
    await serve.stop();
    await upstream.stop();
  }
}

/** Runs the ext_proc cases against a fresh `switchyard extproc` process, then serve. */
export async function runExtProcBench(log: (s: string) => void = console.log): Promise<ExtProcBenchRow[]> {
  const proc = await startProcessor();
  const client = connectExtProc(proc.port);
  const rows: ExtProcBenchRow[] = [];
  const print = (row: ExtProcBenchRow) =>
    log(
      `${row.case.padEnd(10)} ` +
        (Number.isNaN(row.decisionP50) ? '' : `decision p50 ${row.decisionP50.toFixed(3)}ms p99 ${row.decisionP99.toFixed(3)}ms | `) +
        `exchange p50 ${row.exchangeP50.toFixed(3)}ms p99 ${row.exchangeP99.toFixed(3)}ms | server CPU ${row.serverCpuMs.toFixed(3)}ms/exchange` +
        (row.unexpected > 0 ? ` (${row.unexpected} unexpected answers)` : ''),
    );
  try {
    for (const kind of ['miss', 'hit', 'streamed'] as const) {
      const r = await measure(client, proc.child.pid!, kind);
      rows.push(r);
      print(r);
    }
  } finally {
    client.close();
    await proc.stop();
  }
  const s = await measureServe(log);
  rows.push(s);
  print(s);
  return rows;
}

/** The rows as a markdown table. */
export function extProcMarkdown(rows: ExtProcBenchRow[]): string {
  const lines = [
    '| case | requests | decision p50 | decision p99 | exchange p50 | exchange p99 | server CPU/exchange | unexpected |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.case} | ${r.requests} | ${Number.isNaN(r.decisionP50) ? '–' : `${r.decisionP50.toFixed(3)} ms`} | ${Number.isNaN(r.decisionP99) ? '–' : `${r.decisionP99.toFixed(3)} ms`} | ${r.exchangeP50.toFixed(3)} ms | ${r.exchangeP99.toFixed(3)} ms | ${r.serverCpuMs.toFixed(3)} ms | ${r.unexpected} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = await runExtProcBench();
  console.log(`\n${extProcMarkdown(rows)}`);
}
