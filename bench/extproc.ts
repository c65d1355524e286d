/**
 * ext_proc decision latency: how long Envoy waits for Switchyard's answer to
 * the buffered request body, over loopback gRPC, for a cache hit (answered
 * with an ImmediateResponse) and a miss (routed: header and body mutations).
 * The processor runs as `switchyard extproc` in its own process; the client
 * sends the real message sequence one request at a time. Embedding is
 * excluded (semantic cache off); the exact cache is on.
 *
 *   npx tsx bench/extproc.ts          (BENCH_EXTPROC_N requests per case, default 2000)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectExtProc, requestBody, requestHeaders, responseBody, responseHeaders, type ExtProcClient } from '../test/fixtures/envoy-client.js';
import { cpuMs } from './lib/procs.js';

/** Latency figures of one case, in milliseconds. */
export interface ExtProcBenchRow {
  case: 'hit' | 'miss';
  requests: number;
  /** request_body sent → its answer received (the time Envoy holds the request for the decision). */
  decisionP50: number;
  decisionP99: number;
  /** Whole ext_proc exchange of the request side: stream opened → headers → body → answer. */
  exchangeP50: number;
  exchangeP99: number;
  /** Server CPU time per request (user + system). */
  serverCpuMs: number;
  /** Requests whose answer was not what the case expects (a hit that routed, a miss served). */
  unexpected: number;
}

const N = Number(process.env.BENCH_EXTPROC_N ?? 2000);
const WARMUP = Math.min(200, N);

const ANSWER = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(400) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 100, total_tokens: 112 },
});

function body(content: string): string {
  return JSON.stringify({ model: 'switchyard/auto', messages: [{ role: 'user', content }] });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function startProcessor(): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const file = join(tmpdir(), `switchyard-extproc-bench-${process.pid}.yaml`);
  writeFileSync(
    file,
    `upstreams:
  - name: bench
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models: [{ name: bench-model }]
defaultModel: bench-model
cache: { enabled: true, store: memory, semantic: { enabled: false } }
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'extproc', '--config', file, '--port', '0', '--host', '127.0.0.1'], {
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

/** One request's request side; completes the response side too when routed (so the answer is observed and cached). */
async function exchange(client: ExtProcClient, content: string): Promise<{ decision: number; total: number; hit: boolean }> {
  const t0 = performance.now();
  const s = client.open();
  const b = body(content);
  await s.send(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(b)) } }, false));
  const t1 = performance.now();
  const r = await s.send(requestBody(b, true));
  const t2 = performance.now();
  const hit = r.immediate_response !== undefined;
  if (!hit) {
    await s.send(responseHeaders(200, { 'content-type': 'application/json' }));
    await s.send(responseBody(ANSWER, true));
  }
  await s.end();
  return { decision: t2 - t1, total: t2 - t0, hit };
}

async function measure(client: ExtProcClient, pid: number, kind: 'hit' | 'miss'): Promise<ExtProcBenchRow> {
  const content = (i: number) => (kind === 'hit' ? 'the same question every time' : `a new question ${i} ${Math.random()}`);
  if (kind === 'hit') {
    // Prime the cache, then wait for the write.
    for (let i = 0; i < 20 && !(await exchange(client, content(0))).hit; i++) await new Promise((r) => setTimeout(r, 25));
  }
  for (let i = 0; i < WARMUP; i++) await exchange(client, content(i));
  const decisions: number[] = [];
  const totals: number[] = [];
  let unexpected = 0;
  const cpu0 = cpuMs(pid);
  for (let i = 0; i < N; i++) {
    const r = await exchange(client, content(WARMUP + i));
    decisions.push(r.decision);
    totals.push(r.total);
    if (r.hit !== (kind === 'hit')) unexpected++;
  }
  const cpu = cpuMs(pid) - cpu0;
  decisions.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return {
    case: kind,
    requests: N,
    decisionP50: quantile(decisions, 0.5),
    decisionP99: quantile(decisions, 0.99),
    exchangeP50: quantile(totals, 0.5),
    exchangeP99: quantile(totals, 0.99),
    serverCpuMs: cpu / N,
    unexpected,
  };
}

/** Runs both cases against a fresh `switchyard extproc` process. */
export async function runExtProcBench(log: (s: string) => void = console.log): Promise<ExtProcBenchRow[]> {
  const proc = await startProcessor();
  const client = connectExtProc(proc.port);
  const rows: ExtProcBenchRow[] = [];
  try {
    for (const kind of ['miss', 'hit'] as const) {
      const row = await measure(client, proc.child.pid!, kind);
      rows.push(row);
      log(
        `${kind.padEnd(4)} decision p50 ${row.decisionP50.toFixed(3)}ms p99 ${row.decisionP99.toFixed(3)}ms | ` +
          `exchange p50 ${row.exchangeP50.toFixed(3)}ms p99 ${row.exchangeP99.toFixed(3)}ms | server CPU ${row.serverCpuMs.toFixed(3)}ms/req` +
          (row.unexpected > 0 ? ` (${row.unexpected} unexpected answers)` : ''),
      );
    }
  } finally {
    client.close();
    await proc.stop();
  }
  return rows;
}

/** The rows as a markdown table. */
export function extProcMarkdown(rows: ExtProcBenchRow[]): string {
  const lines = [
    '| case | requests | decision p50 | decision p99 | exchange p50 | exchange p99 | server CPU/req | unexpected |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.case} | ${r.requests} | ${r.decisionP50.toFixed(3)} ms | ${r.decisionP99.toFixed(3)} ms | ${r.exchangeP50.toFixed(3)} ms | ${r.exchangeP99.toFixed(3)} ms | ${r.serverCpuMs.toFixed(3)} ms | ${r.unexpected} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = await runExtProcBench();
  console.log(`\n${extProcMarkdown(rows)}`);
}
