/**
 * Closed-loop load: `connections` workers each send a request, read the whole
 * answer, and send the next, for `seconds`. Latency is measured per request
 * with hrtime (sub-millisecond), from sending to the last byte.
 */
import { Pool } from 'undici';

export interface LoadResult {
  p50: number;
  p99: number;
  max: number;
  rps: number;
  count: number;
  errors: number;
  non2xx: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function runLoad(
  url: string,
  body: string,
  connections: number,
  seconds: number,
  extraHeaders: Record<string, string> = {},
): Promise<LoadResult> {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const lat: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const end = performance.now() + seconds * 1000;
  const headers = { 'content-type': 'application/json', ...extraHeaders };
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: u.pathname, method: 'POST', headers, body });
        for await (const _ of res.body) void _;
        if (res.statusCode >= 300) non2xx++;
        else lat.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  await pool.close();
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? NaN, rps: lat.length / elapsed, count: lat.length, errors, non2xx };
}
