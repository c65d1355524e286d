/**
 * Switchyard against a peer gateway, at fixed request rates (open loop), in
 * one run on one machine, against the same local fake upstream:
 *
 * - `direct`: straight to the fake upstream (the baseline);
 * - `serve`: `switchyard serve`, cache off;
 * - `express`: an Express app with `app.use(switchyard({ config }))`, cache off;
 * - `portkey`: the open-source Portkey gateway (`@portkey-ai/gateway` from npm),
 *   provider `openai` with its custom host set to the fake upstream.
 *
 * Each target is its own process, started fresh for each mode (non-streaming,
 * then streaming at a realistic token rate), so its peak memory (VmHWM) is that
 * mode's. For each offered rate the targets run in turn (rotated per repeat),
 * and each figure is the median over the repeats. A target stops climbing at
 * the first rate it cannot sustain: achieved ≥ 95% of offered, p99 within
 * `direct`'s p50 at the lowest rate plus a slack, errors ≤ 0.1%. A closed-loop
 * run then gives each target's saturation throughput.
 *
 *   npx tsx bench/peer.ts                 (needs `npm run build` first)
 *   BENCH_QUICK=1 npx tsx bench/peer.ts   (short cells, one repeat)
 *
 * Environment: BENCH_PEER_RATES (e.g. 200,500,1000,2000,4000), BENCH_PEER_SECONDS,
 * BENCH_PEER_REPEATS, BENCH_PEER_MODES (json,stream), BENCH_PEER_CHUNK_DELAY_MS
 * (gap between the 20 stream chunks, default 10), BENCH_PEER_P99_SLACK_MS (100),
 * BENCH_PEER_SATURATION_SECONDS.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runLoad } from './lib/load.js';
import { portkeyHeaders, startExpressProc, startPortkeyProc, type PeerProc } from './lib/peers.js';
import { cpuMs, peakRssMiB, startGatewayProc, startUpstreamProc, type Proc } from './lib/procs.js';
import { runRateLoad, type RateResult } from './lib/rate.js';

export type PeerMode = 'json' | 'stream';
export type PeerTarget = 'direct' | 'serve' | 'express' | 'portkey';

export const TARGET_LABELS: Record<PeerTarget, string> = {
  direct: 'upstream direct',
  serve: 'switchyard serve',
  express: 'Express face',
  portkey: 'Portkey',
};
const TARGETS: PeerTarget[] = ['direct', 'serve', 'express', 'portkey'];

export interface PeerSettings {
  quick: boolean;
  rates: number[];
  seconds: number;
  repeats: number;
  modes: PeerMode[];
  chunks: number;
  chunkDelayMs: number;
  answerChars: number;
  p99SlackMs: number;
  saturationSeconds: number;
  saturationConnections: Record<PeerMode, number>;
  portkeyVersion?: string;
}

export interface PeerCell {
  mode: PeerMode;
  target: PeerTarget;
  offeredRps: number;
  /** Medians over the repeats. */
  result: RateResult;
  /** CPU time (user + system) of the target's own process per successful request, µs. */
  cpuUsPerReq: number;
  /** p50 and p99 minus `direct`'s at the same rate (medians). */
  addedP50Ms: number;
  addedP99Ms: number;
  addedFirstByteP50Ms: number;
  sustainable: boolean;
}

export interface PeerSummary {
  mode: PeerMode;
  target: PeerTarget;
  /** Highest offered rate the target sustained; 0 when it sustained none. */
  maxSustainableRps: number;
  /** Whether it sustained every rate tried (the limit is then above the highest rate, or the machine's). */
  sustainedAll: boolean;
  /** Closed-loop throughput at `saturationConnections`. */
  saturationRps: number;
  saturationP50: number;
  saturationErrors: number;
  /** VmHWM after the lowest rate (every target has carried the same load by then), MiB. */
  peakRssLowMiB: number;
  /** VmHWM over the whole mode, up to the highest rate it sustained or failed at and the closed-loop run, MiB. */
  peakRssMiB: number;
  /** At the lowest rate. */
  p50: number;
  p99: number;
  addedP50Ms: number;
  addedP99Ms: number;
  firstByteP50: number;
  addedFirstByteP50Ms: number;
  /** CPU time of the target's own process per request in the closed-loop run, µs. */
  cpuUsPerReq: number;
}

export interface PeerBench {
  settings: PeerSettings;
  cells: PeerCell[];
  summary: PeerSummary[];
  /** p99 bound used for "sustainable", per mode. */
  p99BoundMs: Partial<Record<PeerMode, number>>;
  /** Outbound connections off this machine the peer attempted (refused); expected empty. */
  peerBlockedOutbound: string[];
}

export function peerSettings(env: NodeJS.ProcessEnv = process.env): PeerSettings {
  const quick = env.BENCH_QUICK === '1';
  const list = (v: string | undefined, d: string) => (v ?? d).split(',').map((s) => s.trim()).filter(Boolean);
  return {
    quick,
    rates: list(env.BENCH_PEER_RATES, quick ? '200,500,1000,2000' : '200,500,1000,2000,4000').map(Number),
    seconds: Number(env.BENCH_PEER_SECONDS ?? (quick ? 1.5 : 5)),
    repeats: Number(env.BENCH_PEER_REPEATS ?? (quick ? 1 : 3)),
    modes: list(env.BENCH_PEER_MODES, 'json,stream') as PeerMode[],
    chunks: 20,
    chunkDelayMs: Number(env.BENCH_PEER_CHUNK_DELAY_MS ?? 10),
    answerChars: 400,
    p99SlackMs: Number(env.BENCH_PEER_P99_SLACK_MS ?? 100),
    saturationSeconds: Number(env.BENCH_PEER_SATURATION_SECONDS ?? (quick ? 1.5 : 5)),
    saturationConnections: { json: 32, stream: 256 },
  };
}

function requestBody(stream: boolean): string {
  return JSON.stringify({ model: 'bench-model', stream, messages: [{ role: 'user', content: 'Say something about benchmarks.' }] });
}

interface LiveTarget {
  name: PeerTarget;
  url: string;
  headers: Record<string, string>;
  proc: Proc;
}

/** One request through the target: the whole answer must come back (a peer that fails every request must not pass as fast). */
async function checkAnswer(t: LiveTarget, stream: boolean, answerChars: number): Promise<void> {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: requestBody(stream) });
  const text = await res.text();
  let content = '';
  if (res.ok && !stream) {
    content = (JSON.parse(text) as { choices?: { message?: { content?: string } }[] }).choices?.[0]?.message?.content ?? '';
  } else if (res.ok) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const ev = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
      content += ev.choices?.[0]?.delta?.content ?? '';
    }
  }
  if (content.length !== answerChars) {
    const hint = t.name === 'portkey' ? ' (Portkey 1.15.2 needs @hono/node-server 1.13.5: see "overrides" in package.json)' : '';
    throw new Error(`${t.name} ${stream ? 'stream' : 'json'}: HTTP ${res.status}, ${content.length}/${answerChars} answer characters${hint}: ${text.slice(0, 300)}`);
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function medianResult(rs: RateResult[]): RateResult {
  const out = {} as Record<keyof RateResult, number>;
  for (const k of Object.keys(rs[0]!) as (keyof RateResult)[]) out[k] = median(rs.map((r) => r[k]));
  return out as RateResult;
}

async function startTargets(s: PeerSettings): Promise<LiveTarget[]> {
  const up = await startUpstreamProc(s.chunkDelayMs);
  const started: Proc[] = [up];
  try {
    // allSettled: when one fails to start (Portkey not installed), the others that did are stopped too,
    // or their child processes would keep this one alive.
    const [gwR, exR, pkR] = await Promise.allSettled([startGatewayProc(up.url), startExpressProc(up.url), startPortkeyProc()]);
    for (const r of [gwR, exR, pkR]) if (r.status === 'fulfilled') started.push(r.value);
    for (const r of [pkR, gwR, exR]) if (r.status === 'rejected') throw r.reason;
    const gw = (gwR as PromiseFulfilledResult<Proc>).value;
    const ex = (exR as PromiseFulfilledResult<Proc>).value;
    const pk = (pkR as PromiseFulfilledResult<PeerProc>).value;
    s.portkeyVersion = pk.version;
    return [
      { name: 'direct', url: `${up.url}/chat/completions`, headers: {}, proc: up },
      { name: 'serve', url: `${gw.url}/v1/chat/completions`, headers: {}, proc: gw },
      { name: 'express', url: `${ex.url}/v1/chat/completions`, headers: {}, proc: ex },
      { name: 'portkey', url: `${pk.url}/v1/chat/completions`, headers: portkeyHeaders(up.url), proc: pk },
    ];
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    throw err;
  }
}

export async function runPeerBench(log: (s: string) => void = console.log, s: PeerSettings = peerSettings()): Promise<PeerBench> {
  const cells: PeerCell[] = [];
  const summary: PeerSummary[] = [];
  const p99BoundMs: PeerBench['p99BoundMs'] = {};
  const blocked: string[] = [];
  log(
    `rates ${s.rates.join(', ')} req/s, ${s.seconds} s × ${s.repeats} per cell, upstream answer ${s.answerChars} chars, ` +
      `stream ${s.chunks} chunks ${s.chunkDelayMs} ms apart`,
  );

  for (const mode of s.modes) {
    const stream = mode === 'stream';
    const body = requestBody(stream);
    const targets = await startTargets(s);
    try {
      for (const t of targets) await checkAnswer(t, stream, s.answerChars);
      // Warm-up: JIT, keep-alive pools.
      for (const t of targets) await runLoad(t.url, body, 8, s.quick ? 0.5 : 1, t.headers);

      let active = new Set<PeerTarget>(TARGETS);
      const rssLow = new Map<PeerTarget, number>();
      for (const rate of s.rates) {
        if (active.size === 0) break;
        const runs = new Map<PeerTarget, { r: RateResult[]; cpu: number[] }>();
        for (let rep = 0; rep < s.repeats; rep++) {
          const order = targets.filter((t) => active.has(t.name));
          for (let k = 0; k < order.length; k++) {
            const t = order[(k + rep) % order.length]!;
            const c0 = cpuMs(t.proc.child.pid!);
            const r = await runRateLoad(t.url, body, rate, s.seconds, { headers: t.headers });
            const cpu = ((cpuMs(t.proc.child.pid!) - c0) * 1000) / Math.max(1, r.ok);
            const e = runs.get(t.name) ?? { r: [], cpu: [] };
            e.r.push(r);
            e.cpu.push(cpu);
            runs.set(t.name, e);
          }
        }
        const direct = runs.get('direct') ? medianResult(runs.get('direct')!.r) : undefined;
        if (direct && p99BoundMs[mode] === undefined) p99BoundMs[mode] = direct.p50 + s.p99SlackMs;
        const bound = p99BoundMs[mode] ?? Infinity;
        for (const name of TARGETS) {
          const e = runs.get(name);
          if (!e) continue;
          const r = medianResult(e.r);
          const bad = r.errors + r.non2xx + r.dropped;
          const sustainable = r.achievedRps >= 0.95 * rate && r.p99 <= bound && bad <= 0.001 * Math.max(1, r.sent + r.dropped);
          const cell: PeerCell = {
            mode,
            target: name,
            offeredRps: rate,
            result: r,
            cpuUsPerReq: median(e.cpu),
            addedP50Ms: direct ? r.p50 - direct.p50 : NaN,
            addedP99Ms: direct ? r.p99 - direct.p99 : NaN,
            addedFirstByteP50Ms: direct ? r.firstByteP50 - direct.firstByteP50 : NaN,
            sustainable,
          };
          cells.push(cell);
          log(
            `${mode.padEnd(6)} ${String(rate).padStart(5)}/s ${name.padEnd(8)} p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms ` +
              `first byte p50 ${r.firstByteP50.toFixed(2)} ms achieved ${r.achievedRps.toFixed(0)}/s cpu/req ${cell.cpuUsPerReq.toFixed(0)} µs` +
              (bad ? ` errors ${r.errors} non-2xx ${r.non2xx} dropped ${r.dropped}` : '') +
              (r.sendLagP99 > 5 ? ` (client lag p99 ${r.sendLagP99.toFixed(1)} ms)` : '') +
              (sustainable ? '' : '  ✗ not sustained'),
          );
          if (!sustainable) active.delete(name);
        }
        if (rate === s.rates[0]) for (const t of targets) rssLow.set(t.name, peakRssMiB(t.proc.child.pid!));
        // Nothing beats its own upstream: once the baseline fails, higher rates measure the machine.
        if (!active.has('direct')) active = new Set();
      }

      for (const t of targets) {
        const c0 = cpuMs(t.proc.child.pid!);
        const sat = await runLoad(t.url, body, s.saturationConnections[mode], s.saturationSeconds, t.headers);
        const satCpuUs = ((cpuMs(t.proc.child.pid!) - c0) * 1000) / Math.max(1, sat.count);
        const mine = cells.filter((c) => c.mode === mode && c.target === t.name);
        const low = mine[0]!;
        const passed = mine.filter((c) => c.sustainable);
        summary.push({
          mode,
          target: t.name,
          maxSustainableRps: passed.at(-1)?.offeredRps ?? 0,
          sustainedAll: passed.length === s.rates.length,
          saturationRps: sat.rps,
          saturationP50: sat.p50,
          saturationErrors: sat.errors + sat.non2xx,
          peakRssLowMiB: rssLow.get(t.name) ?? NaN,
          peakRssMiB: peakRssMiB(t.proc.child.pid!),
          p50: low.result.p50,
          p99: low.result.p99,
          addedP50Ms: low.addedP50Ms,
          addedP99Ms: low.addedP99Ms,
          firstByteP50: low.result.firstByteP50,
          addedFirstByteP50Ms: low.addedFirstByteP50Ms,
          cpuUsPerReq: satCpuUs,
        });
        log(
          `${mode.padEnd(6)} closed loop c=${s.saturationConnections[mode]} ${t.name.padEnd(8)} ${sat.rps.toFixed(0)} req/s p50 ${sat.p50.toFixed(2)} ms, cpu/req ${satCpuUs.toFixed(0)} µs, ` +
            `peak RSS ${peakRssMiB(t.proc.child.pid!).toFixed(0)} MiB` +
            (sat.errors + sat.non2xx ? ` errors ${sat.errors + sat.non2xx}` : ''),
        );
      }
    } finally {
      await Promise.all(targets.map((t) => t.proc.stop()));
      for (const t of targets) if ('blocked' in t.proc) blocked.push(...(t.proc as PeerProc).blocked);
    }
  }
  if (blocked.length) throw new Error(`the peer tried to reach off this machine: ${blocked.join('; ')}`);
  return { settings: s, cells, summary, p99BoundMs, peerBlockedOutbound: blocked };
}

const ms = (x: number) => (Number.isNaN(x) ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const signed = (x: number) => (Number.isNaN(x) ? '—' : `${x >= 0 ? '+' : '−'}${ms(Math.abs(x))}`);

/**
 * Where Switchyard's faces do and do not beat the peer in this run, measure by
 * measure (lower is better for latency, CPU and memory; higher for rates).
 */
export function peerVerdict(b: PeerBench): string[] {
  const lines: string[] = [];
  for (const face of ['serve', 'express'] as const) {
    const worse: string[] = [];
    const ties: string[] = [];
    let better = 0;
    for (const mode of b.settings.modes) {
      const me = b.summary.find((r) => r.mode === mode && r.target === face);
      const peer = b.summary.find((r) => r.mode === mode && r.target === 'portkey');
      if (!me || !peer) continue;
      const measures: [string, number, number, 'low' | 'high', string][] = [
        ['added p50', me.addedP50Ms, peer.addedP50Ms, 'low', 'ms'],
        ['added p99', me.addedP99Ms, peer.addedP99Ms, 'low', 'ms'],
        ...(mode === 'stream' ? [['added first-chunk p50', me.addedFirstByteP50Ms, peer.addedFirstByteP50Ms, 'low', 'ms'] as [string, number, number, 'low', string]] : []),
        ['max sustained', me.maxSustainableRps, peer.maxSustainableRps, 'high', 'req/s'],
        ['closed-loop throughput', me.saturationRps, peer.saturationRps, 'high', 'req/s'],
        ['CPU/req', me.cpuUsPerReq, peer.cpuUsPerReq, 'low', 'µs'],
        [`peak RSS at ${b.settings.rates[0]} req/s`, me.peakRssLowMiB, peer.peakRssLowMiB, 'low', 'MiB'],
      ];
      for (const [what, mine, theirs, dir, unit] of measures) {
        const fmt = (x: number) => (unit === 'ms' ? ms(x) : x.toFixed(0));
        const text = `${what} (${mode}): ${fmt(mine)} vs ${fmt(theirs)} ${unit}`;
        if (fmt(mine) === fmt(theirs)) ties.push(text);
        else if (dir === 'low' ? mine < theirs : mine > theirs) better++;
        else worse.push(text);
      }
    }
    lines.push(
      `- ${TARGET_LABELS[face]} vs Portkey: better on ${better} of ${better + worse.length + ties.length} measures` +
        (worse.length ? `; **not better** on ${worse.join('; ')}` : '') +
        (ties.length ? `; tied on ${ties.join('; ')}` : '') +
        '.',
    );
  }
  return lines;
}

export function peerMarkdown(b: PeerBench): string {
  const s = b.settings;
  const out: string[] = [];
  for (const mode of s.modes) {
    const sum = b.summary.filter((r) => r.mode === mode);
    if (sum.length === 0) continue;
    const stream = mode === 'stream';
    const low = s.rates[0];
    out.push(
      `**${stream ? `Streaming (${s.chunks} chunks, ${s.chunkDelayMs} ms apart)` : 'Non-streaming'}**: latency at ${low} req/s; ` +
        `max sustained = highest offered rate with achieved ≥ 95%, p99 ≤ ${ms(b.p99BoundMs[mode] ?? NaN)} ms, errors ≤ 0.1%; ` +
        `closed loop at ${s.saturationConnections[mode]} connections, which also gives CPU/req (the target process's own CPU time per request).`,
      '',
    );
    const fb = stream ? ' first chunk p50 | added first chunk |' : '';
    out.push(
      `| target | p50 | p99 | added p50 | added p99 |${fb} CPU/req | max sustained req/s | closed-loop req/s | peak RSS at ${low} req/s | peak RSS, whole run |`,
      `|---|---:|---:|---:|---:|${stream ? '---:|---:|' : ''}---:|---:|---:|---:|---:|`,
    );
    for (const r of sum) {
      const base = r.target === 'direct';
      out.push(
        `| ${TARGET_LABELS[r.target]} | ${ms(r.p50)} ms | ${ms(r.p99)} ms | ${base ? '' : `${signed(r.addedP50Ms)} ms`} | ${base ? '' : `${signed(r.addedP99Ms)} ms`} |` +
          (stream ? ` ${ms(r.firstByteP50)} ms | ${base ? '' : `${signed(r.addedFirstByteP50Ms)} ms`} |` : '') +
          ` ${r.cpuUsPerReq.toFixed(0)} µs | ${r.maxSustainableRps ? `${r.sustainedAll ? '≥ ' : ''}${r.maxSustainableRps}` : `< ${low}`} |` +
          ` ${r.saturationRps.toFixed(0)}${r.saturationErrors ? ` (${r.saturationErrors} errors)` : ''} | ${r.peakRssLowMiB.toFixed(0)} MiB | ${r.peakRssMiB.toFixed(0)} MiB |`,
      );
    }
    out.push('');
    out.push(`| offered req/s | ${sum.map((r) => TARGET_LABELS[r.target]).join(' | ')} |`, `|---:|${sum.map(() => '---|').join('')}`);
    for (const rate of s.rates) {
      const row = sum.map((r) => {
        const c = b.cells.find((x) => x.mode === mode && x.target === r.target && x.offeredRps === rate);
        if (!c) return '—';
        const bad = c.result.errors + c.result.non2xx + c.result.dropped;
        return (
          `${ms(c.result.p50)} / ${ms(c.result.p99)} ms, ${c.result.achievedRps.toFixed(0)}/s` +
          (bad ? `, ${bad} err` : '') +
          (c.sustainable ? '' : ' ✗')
        );
      });
      if (row.every((x) => x === '—')) continue;
      out.push(`| ${rate} | ${row.join(' | ')} |`);
    }
    out.push('', 'Cells: p50 / p99 latency, achieved rate; ✗ = not sustained (higher rates not tried for that target).', '');
  }
  out.push(...peerVerdict(b));
  return out.join('\n').trimEnd();
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const b = await runPeerBench();
  console.log(`\n${peerMarkdown(b)}`);
}
