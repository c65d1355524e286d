/**
 * Open-loop load at a fixed request rate: request i is due at
 * start + i / rps whether or not earlier answers came back, so a slow target
 * builds a queue instead of slowing the client down (no coordinated
 * omission). Latency runs from the moment a request was due, not from when
 * it left, so the client's own lag and any queueing count against the target.
 *
 *   const r = await runRateLoad('http://127.0.0.1:8080/v1/chat/completions', body, 500, 5);
 */
import { Pool } from 'undici';
import { percentile } from './load.js';

export interface RateOptions {
  headers?: Record<string, string>;
  /** Keep-alive connections the client may open (requests beyond them queue in the client). */
  connections?: number;
  /** Requests in flight beyond which a due request is dropped (counted, not sent). */
  maxInFlight?: number;
  /** Longest wait for one whole answer; later ones count as errors. */
  timeoutMs?: number;
  /** Completions before this many seconds are left out of the achieved rate (ramp-up). */
  rampSeconds?: number;
}

export interface RateResult {
  offeredRps: number;
  /** Successful answers completed per second over the offered window, after the ramp. */
  achievedRps: number;
  sent: number;
  ok: number;
  /** Transport errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Due requests not sent because `maxInFlight` were outstanding. */
  dropped: number;
  /** Due → last byte, ms, successful answers only. */
  p50: number;
  p99: number;
  max: number;
  /** Due → first body byte (the first chunk of a stream), ms. */
  firstByteP50: number;
  firstByteP99: number;
  /** How late the client sent requests (event-loop lag), ms: a large value means the client, not the target, limited the run. */
  sendLagP99: number;
}

export async function runRateLoad(url: string, body: string, rps: number, seconds: number, o: RateOptions = {}): Promise<RateResult> {
  const u = new URL(url);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxInFlight = o.maxInFlight ?? 4096;
  const ramp = o.rampSeconds ?? Math.min(0.5, seconds / 4);
  const pool = new Pool(u.origin, { connections: o.connections ?? 512, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const headers = { 'content-type': 'application/json', ...o.headers };
  const total = Math.max(1, Math.round(rps * seconds));
  const interval = 1000 / rps;

  const lat: number[] = [];
  const first: number[] = [];
  const lag: number[] = [];
  let ok = 0;
  let errors = 0;
  let non2xx = 0;
  let dropped = 0;
  let inFlight = 0;
  let inWindow = 0;
  const pending = new Set<Promise<void>>();

  const start = performance.now();
  const windowStart = start + ramp * 1000;
  const windowEnd = start + seconds * 1000;

  const fire = (due: number) => {
    if (inFlight >= maxInFlight) {
      dropped++;
      return;
    }
    inFlight++;
    lag.push(performance.now() - due);
    const p = (async () => {
      try {
        const res = await pool.request({ path: u.pathname + u.search, method: 'POST', headers, body });
        let firstAt = NaN;
        for await (const _ of res.body) {
          if (Number.isNaN(firstAt)) firstAt = performance.now();
          void _;
        }
        const done = performance.now();
        if (res.statusCode >= 300) {
          non2xx++;
          return;
        }
        ok++;
        lat.push(done - due);
        first.push((Number.isNaN(firstAt) ? done : firstAt) - due);
        if (done >= windowStart && done <= windowEnd) inWindow++;
      } catch {
        errors++;
      } finally {
        inFlight--;
      }
    })();
    pending.add(p);
    void p.then(() => pending.delete(p));
  };

  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && start + i * interval <= now) fire(start + i++ * interval);
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, start + i * interval - performance.now())));
  }
  // Drain: answers still outstanding get until the timeout (the pool enforces it per request).
  await Promise.all(pending);
  await pool.close();

  lat.sort((a, b) => a - b);
  first.sort((a, b) => a - b);
  lag.sort((a, b) => a - b);
  return {
    offeredRps: rps,
    achievedRps: inWindow / ((windowEnd - windowStart) / 1000),
    sent: total - dropped,
    ok,
    errors,
    non2xx,
    dropped,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? NaN,
    firstByteP50: percentile(first, 50),
    firstByteP99: percentile(first, 99),
    sendLagP99: percentile(lag, 99),
  };
}
