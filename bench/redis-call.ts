/**
 * What the deadline and breaker cost per Redis call: GET of a small key
 * through a bare node-redis client versus through `RedisStore.call`, one
 * call at a time (latency) and 200 at a time (throughput), alternating
 * rounds so machine noise hits both alike.
 *
 *   npx tsx bench/redis-call.ts            # REDIS_URL defaults to redis://127.0.0.1:6379
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { RedisStore } from '../src/store/redis.js';
import { percentile } from './lib/load.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_REDIS_CALLS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_REDIS_ROUNDS ?? 4);

async function main(): Promise<void> {
  const raw = createClient({ url: URL });
  await raw.connect();
  const store = new RedisStore('bench', { url: URL, commandTimeoutMs: 250, breaker: { failures: 5, cooldownMs: 2000 } });
  await store.ready();
  const key = `switchyard-bench:${randomBytes(4).toString('hex')}`;
  await raw.set(key, 'x'.repeat(200), { expiration: { type: 'EX', value: 60 } });
  const via = {
    raw: () => raw.get(key),
    guarded: () => store.call('get', (c) => c.get(key)),
  };
  const lat: Record<keyof typeof via, number[]> = { raw: [], guarded: [] };
  const tput: Record<keyof typeof via, number[]> = { raw: [], guarded: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of (r % 2 ? ['guarded', 'raw'] : ['raw', 'guarded']) as (keyof typeof via)[]) {
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        await via[name]();
        lat[name].push((performance.now() - t) * 1000);
      }
      const t = performance.now();
      for (let i = 0; i < N / 200; i++) await Promise.all(Array.from({ length: 200 }, via[name]));
      tput[name].push(N / ((performance.now() - t) / 1000));
    }
  }
  for (const name of ['raw', 'guarded'] as const) {
    const s = lat[name].sort((a, b) => a - b);
    const ops = tput[name].sort((a, b) => a - b)[Math.floor(tput[name].length / 2)]!;
    console.log(`${name.padEnd(8)} sequential GET p50 ${percentile(s, 50).toFixed(1)} µs p99 ${percentile(s, 99).toFixed(1)} µs | 200 concurrent: ${ops.toFixed(0)} GET/s (median of ${ROUNDS})`);
  }
  await raw.del(key);
  await raw.close();
  await store.close();
}

await main();
