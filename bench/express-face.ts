/**
 * The Express face's overhead, by the gateway bench's method: the same fast
 * fake upstream called directly, through `switchyard serve` and through an
 * Express app with `app.use(switchyard({ config }))` (each in its own
 * process, cache off), non-streaming and streaming, at fixed concurrency
 * (closed loop), with each process's CPU time per request. It shows what
 * Express itself adds on top of the same core and node handler.
 *
 *   npx tsx bench/express-face.ts     (needs `npm run build` first)
 *   BENCH_QUICK=1 npx tsx bench/express-face.ts
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runLoad, type LoadResult } from './lib/load.js';
import { startExpressProc } from './lib/peers.js';
import { cpuMs, peakRssMiB, startGatewayProc, startUpstreamProc, type Proc } from './lib/procs.js';

export interface ExpressFaceRow {
  mode: 'json' | 'stream';
  connections: number;
  direct: LoadResult;
  serve: LoadResult;
  express: LoadResult;
  /** CPU time per request (µs) of the upstream (direct run), of `serve` and of the Express app. */
  upstreamCpuUs: number;
  serveCpuUs: number;
  expressCpuUs: number;
}

export interface ExpressFaceBench {
  seconds: number;
  rows: ExpressFaceRow[];
  /** VmHWM over the whole run, MiB. */
  servePeakRssMiB: number;
  expressPeakRssMiB: number;
}

function body(stream: boolean): string {
  return JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content: 'Say something about benchmarks.' }] });
}

async function measured(p: Proc, url: string, b: string, c: number, seconds: number): Promise<[LoadResult, number]> {
  const c0 = cpuMs(p.child.pid!);
  const r = await runLoad(url, b, c, seconds);
  return [r, ((cpuMs(p.child.pid!) - c0) * 1000) / Math.max(1, r.count)];
}

export async function runExpressFaceBench(log: (s: string) => void = console.log): Promise<ExpressFaceBench> {
  const quick = process.env.BENCH_QUICK === '1';
  const seconds = Number(process.env.BENCH_EXPRESS_SECONDS ?? (quick ? 1 : 5));
  const up = await startUpstreamProc();
  const [gw, ex] = await Promise.all([startGatewayProc(up.url), startExpressProc(up.url)]);
  const rows: ExpressFaceRow[] = [];
  try {
    const direct = `${up.url}/chat/completions`;
    const viaServe = `${gw.url}/v1/chat/completions`;
    const viaExpress = `${ex.url}/v1/chat/completions`;
    for (const u of [direct, viaServe, viaExpress]) await runLoad(u, body(false), 4, quick ? 0.5 : 1);
    for (const mode of ['json', 'stream'] as const) {
      for (const connections of [1, 16]) {
        const b = body(mode === 'stream');
        const [d, upstreamCpuUs] = await measured(up, direct, b, connections, seconds);
        const [s, serveCpuUs] = await measured(gw, viaServe, b, connections, seconds);
        const [e, expressCpuUs] = await measured(ex, viaExpress, b, connections, seconds);
        rows.push({ mode, connections, direct: d, serve: s, express: e, upstreamCpuUs, serveCpuUs, expressCpuUs });
        log(
          `${mode.padEnd(6)} c=${String(connections).padEnd(3)} direct p50 ${d.p50.toFixed(3)}ms ${d.rps.toFixed(0)} req/s | ` +
            `serve p50 ${s.p50.toFixed(3)}ms ${s.rps.toFixed(0)} req/s ${serveCpuUs.toFixed(0)}µs/req | ` +
            `express p50 ${e.p50.toFixed(3)}ms ${e.rps.toFixed(0)} req/s ${expressCpuUs.toFixed(0)}µs/req` +
            (e.errors + e.non2xx > 0 ? ` (express errors ${e.errors}, non-2xx ${e.non2xx})` : ''),
        );
      }
    }
    return { seconds, rows, servePeakRssMiB: peakRssMiB(gw.child.pid!), expressPeakRssMiB: peakRssMiB(ex.child.pid!) };
  } finally {
    await Promise.all([gw.stop(), ex.stop()]);
    await up.stop();
  }
}

export function expressFaceMarkdown(b: ExpressFaceBench): string {
  const lines = [
    '| mode | conns | direct p50 | serve p50 | Express p50 | serve added p50 | Express added p50 | direct req/s | serve req/s | Express req/s | CPU/req serve | CPU/req Express |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of b.rows) {
    lines.push(
      `| ${r.mode} | ${r.connections} | ${r.direct.p50.toFixed(3)} ms | ${r.serve.p50.toFixed(3)} ms | ${r.express.p50.toFixed(3)} ms | ` +
        `${(r.serve.p50 - r.direct.p50).toFixed(3)} ms | ${(r.express.p50 - r.direct.p50).toFixed(3)} ms | ` +
        `${r.direct.rps.toFixed(0)} | ${r.serve.rps.toFixed(0)} | ${r.express.rps.toFixed(0)} | ${r.serveCpuUs.toFixed(0)} µs | ${r.expressCpuUs.toFixed(0)} µs |`,
    );
  }
  lines.push('', `Peak memory (VmHWM) over the run: serve ${b.servePeakRssMiB.toFixed(0)} MiB, Express app ${b.expressPeakRssMiB.toFixed(0)} MiB.`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const b = await runExpressFaceBench();
  console.log(`\n${expressFaceMarkdown(b)}`);
}
