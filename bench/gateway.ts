/**
 * Gateway overhead: the same fake upstream called directly and through
 * `switchyard serve` (cache off), non-streaming and streaming, at a fixed
 * concurrency, in one run. Prints p50/p99, requests/s and the added latency.
 *
 *   npm run bench            (all benchmarks)
 *   npx tsx bench/gateway.ts (this one; needs `npm run build` first)
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runLoad, type LoadResult } from './lib/load.js';
import { cpuMs, startGatewayProc, startUpstreamProc } from './lib/procs.js';

export interface GatewayBenchRow {
  mode: 'json' | 'stream';
  connections: number;
  direct: LoadResult;
  gateway: LoadResult;
  addedP50Ms: number;
  rpsRatio: number;
  /** CPU time per request of the upstream process (direct run) and of the gateway process. */
  upstreamCpuUs: number;
  gatewayCpuUs: number;
  /** Requests/s one core sustains: gateway vs upstream, from CPU time per request. */
  capacityRatio: number;
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function body(stream: boolean): string {
  return JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content: 'Say something about benchmarks.' }] });
}

export async function runGatewayBench(log: (s: string) => void = console.log): Promise<GatewayBenchRow[]> {
  const up = await startUpstreamProc();
  const gw = await startGatewayProc(up.url);
  const rows: GatewayBenchRow[] = [];
  try {
    const direct = `${up.url}/chat/completions`;
    const via = `${gw.url}/v1/chat/completions`;
    // Warm both paths (JIT, keep-alive pools).
    await runLoad(direct, body(false), 4, 1);
    await runLoad(via, body(false), 4, 1);
    for (const mode of ['json', 'stream'] as const) {
      for (const connections of [1, 16]) {
        const b = body(mode === 'stream');
        const u0 = cpuMs(up.child.pid!);
        const d = await runLoad(direct, b, connections, SECONDS);
        const upstreamCpuUs = ((cpuMs(up.child.pid!) - u0) * 1000) / d.count;
        const g0 = cpuMs(gw.child.pid!);
        const g = await runLoad(via, b, connections, SECONDS);
        const gatewayCpuUs = ((cpuMs(gw.child.pid!) - g0) * 1000) / g.count;
        const row = {
          mode,
          connections,
          direct: d,
          gateway: g,
          addedP50Ms: g.p50 - d.p50,
          rpsRatio: g.rps / d.rps,
          upstreamCpuUs,
          gatewayCpuUs,
          capacityRatio: upstreamCpuUs / gatewayCpuUs,
        };
        rows.push(row);
        log(
          `${mode.padEnd(6)} c=${String(connections).padEnd(3)} direct p50 ${d.p50.toFixed(3)}ms p99 ${d.p99.toFixed(3)}ms ${d.rps.toFixed(0)} req/s | ` +
            `gateway p50 ${g.p50.toFixed(3)}ms p99 ${g.p99.toFixed(3)}ms ${g.rps.toFixed(0)} req/s | added p50 ${row.addedP50Ms.toFixed(3)}ms, rps ratio ${row.rpsRatio.toFixed(2)} | ` +
            `cpu/req upstream ${upstreamCpuUs.toFixed(0)}µs gateway ${gatewayCpuUs.toFixed(0)}µs` +
            (g.errors + g.non2xx > 0 ? ` (gateway errors ${g.errors}, non-2xx ${g.non2xx})` : ''),
        );
      }
    }
  } finally {
    await gw.stop();
    await up.stop();
  }
  return rows;
}

export function gatewayMarkdown(rows: GatewayBenchRow[]): string {
  const lines = [
    '| mode | conns | direct p50 | direct p99 | direct req/s | gateway p50 | gateway p99 | gateway req/s | added p50 | req/s ratio | CPU/req upstream | CPU/req gateway |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.mode} | ${r.connections} | ${r.direct.p50.toFixed(3)} ms | ${r.direct.p99.toFixed(3)} ms | ${r.direct.rps.toFixed(0)} | ${r.gateway.p50.toFixed(3)} ms | ${r.gateway.p99.toFixed(3)} ms | ${r.gateway.rps.toFixed(0)} | ${r.addedP50Ms.toFixed(3)} ms | ${r.rpsRatio.toFixed(2)} | ${r.upstreamCpuUs.toFixed(0)} µs | ${r.gatewayCpuUs.toFixed(0)} µs |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const rows = await runGatewayBench();
  console.log(`\n${gatewayMarkdown(rows)}`);
}
