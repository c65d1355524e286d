/**
 * A frozen Redis (SIGSTOP on a redis-server of this test's own) must not
 * stall the gateway: every Redis call has a deadline that fires, a breaker
 * stops calling after repeated timeouts, /healthz says the store is
 * degraded, and once Redis resumes (SIGCONT) the shared budget holds exactly
 * what was spent: no reservation left behind by an admission that ran late,
 * no spend lost from the requests counted in memory meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import type { RunningServer } from '../../src/cli/serve.js';
import { openQualityStore } from '../../src/routing/learning-store.js';
import { routingLearningSchema } from '../../src/config/routing.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startOwnRedis, type OwnRedis } from '../fixtures/redis-server.js';
import { postJson, startGateway } from '../helpers/gateway.js';

// 396 characters → the fake reports 99 completion tokens; at $1000 per 1M output tokens each answer costs $0.099.
const ANSWER = 'x'.repeat(396);
const UNIT_NANO = 99 * 1000 * 1000;
const DEADLINE_MS = 250;

let redis: OwnRedis;
let up: FakeProvider;
let gw: RunningServer;
let probe: ReturnType<typeof createClient>;

beforeAll(async () => {
  redis = await startOwnRedis();
  up = await startFakeOpenAI({ behavior: { kind: 'ok', answer: ANSWER } });
  const conn = `url: ${redis.url}, commandTimeoutMs: ${DEADLINE_MS}, breaker: { failures: 3, cooldownMs: 300 }`;
  gw = await startGateway(`
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [{ name: pricey, inputPricePer1M: 0, outputPricePer1M: 1000 }]
    timeouts: { connectMs: 1000, firstTokenMs: 5000, idleMs: 5000, totalMs: 10000 }
    retry: { max: 0 }
cache:
  store: redis
  redis: { ${conn}, keyPrefix: "sy:" }
  semantic: { enabled: false }
accounting:
  store: redis
  onStoreError: open
  redis: { ${conn}, keyPrefix: "sy:acct:" }
  budgets: { default: { dailyUsd: 1000 } }
  rateLimits: { default: { requestsPerMinute: 100000 } }
observability:
  records: { sink: redis-stream, redis: { ${conn}, stream: "sy:decisions" } }
`);
  probe = createClient({ url: redis.url });
  await probe.connect();
});

afterAll(async () => {
  await gw?.close();
  await probe?.close();
  await up?.close();
  await redis?.stop();
});

const ask = (text: string) =>
  postJson(`${gw.url}/v1/chat/completions`, { model: 'pricey', max_tokens: 100, messages: [{ role: 'user', content: text }] }, { authorization: 'Bearer key-a' });

async function health(): Promise<{ status: string; stores: { name: string; status: string; breaker: string; timeouts: number }[] }> {
  return (await fetch(`${gw.url}/healthz`)).json() as never;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
    v = await get();
  }
  return v;
}

/** Spent and reserved nano-USD over every daily budget hash, plus hold-key states. */
async function ledger(): Promise<{ spent: number; reserved: number; holds: Record<string, number>; requests: number }> {
  let spent = 0;
  let reserved = 0;
  let requests = 0;
  const holds: Record<string, number> = {};
  for await (const keys of probe.scanIterator({ MATCH: 'sy:acct:*', COUNT: 1000 })) {
    for (const k of keys) {
      if (/:budget:.*:d:/.test(k)) {
        const h = await probe.hGetAll(k);
        spent += Number(h.spent ?? 0);
        reserved += Number(h.reserved ?? 0);
      } else if (k.includes(':hold:')) {
        const v = String(await probe.get(k));
        holds[v] = (holds[v] ?? 0) + 1;
      } else if (/:rate:.*:r:/.test(k)) {
        requests += Number(await probe.get(k));
      }
    }
  }
  return { spent, reserved, holds, requests };
}

describe('a frozen Redis (SIGSTOP) behind the gateway', () => {
  it('keeps answering within the deadline, reports the store degraded, and after SIGCONT holds exactly what was spent', async () => {
    // Warm: three misses counted in Redis, then an exact hit from Redis.
    for (const q of ['warm 1', 'warm 2', 'warm 3']) expect((await ask(q)).status).toBe(200);
    await until('warm-up settled in Redis', ledger, (l) => l.spent === 3 * UNIT_NANO && l.reserved === 0);
    await until('cache write of warm 1', () => probe.keys('sy:x:*'), (k) => k.length >= 3);
    const hit = await ask('warm 1');
    expect(hit.headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect((await health()).status).toBe('ok');

    redis.freeze();
    let frozenAnswers = 0;
    try {
      // While Redis is stopped every request still completes, in about one deadline per Redis call,
      // never waiting for Redis to come back (it does not until this loop is over).
      const timings: number[] = [];
      const one = async (q: string) => {
        const t0 = Date.now();
        const r = await ask(q);
        timings.push(Date.now() - t0);
        expect(r.status).toBe(200);
        expect(r.json.choices[0].message.content).toBe(ANSWER);
        expect(r.headers.get('x-switchyard-cache')).toBe('miss');
        frozenAnswers++;
      };
      await Promise.all(['f1', 'f2', 'f3', 'f4'].map(one));
      for (const q of ['f5', 'f6', 'f7', 'warm 2']) await one(q); // 'warm 2' is cached, but the cache cannot answer: a miss
      // Generous bound (a stall would last until SIGCONT): admission + cache lookup deadlines, plus the fake upstream.
      expect(Math.max(...timings)).toBeLessThan(10 * DEADLINE_MS + 5_000);
      const h = await until('breaker open on the frozen store', health, (x) => x.stores.some((s) => s.status === 'down'));
      expect(h.status).toBe('degraded');
      expect(h.stores.every((s) => s.timeouts > 0 || s.status === 'ok')).toBe(true);
    } finally {
      redis.thaw();
    }
    expect(frozenAnswers).toBe(8);

    await until('stores healthy again after SIGCONT', health, (x) => x.status === 'ok');
    // Works again: a hit from before the freeze, and a new request counted in Redis.
    expect((await ask('warm 3')).headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect((await ask('after 1')).status).toBe(200);

    // 3 warm + 8 frozen + 1 after are paid; the two hits cost nothing. Late admissions of the frozen
    // requests were cancelled: nothing stays reserved and no hold is left "reserved".
    const l = await until('the ledger to settle', ledger, (x) => x.reserved === 0 && x.spent === 12 * UNIT_NANO && !x.holds.r);
    expect(l.spent).toBe(12 * UNIT_NANO);
    expect(l.reserved).toBe(0);
    // Requests counted in Redis: 3 warm + 2 hits + 1 after (the frozen ones counted in memory, their late counts undone).
    expect(l.requests).toBe(6);
  });

  it('skips learning writes and loads while frozen instead of waiting, and writes them once Redis is back', async () => {
    const cfg = routingLearningSchema.parse({ store: 'redis', redis: { url: redis.url, key: 'sy:learning', commandTimeoutMs: DEADLINE_MS, breaker: { failures: 2, cooldownMs: 200 } } });
    const errors: string[] = [];
    const store = openQualityStore(cfg, (e, op) => errors.push(op));
    await store.load();
    redis.freeze();
    try {
      const t0 = Date.now();
      const loaded = await store.load();
      expect(loaded).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(10_000); // bounded by its deadline, not by the freeze
      store.changed('code|fast', { a: 3, b: 1, t: Date.now() });
      await until('the skipped write reported', async () => errors, (e) => e.includes('save'));
    } finally {
      redis.thaw();
    }
    await until('the pending entry written after SIGCONT', () => probe.hGetAll('sy:learning'), (h) => 'code|fast' in h);
    await store.close();
  });

  it('with accounting.onStoreError: closed, refuses with 503 store_unavailable in the caller’s protocol while frozen', async () => {
    const closed = await startGateway(`
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [{ name: pricey, inputPricePer1M: 0, outputPricePer1M: 1000 }]
accounting:
  store: redis
  onStoreError: closed
  redis: { url: ${redis.url}, commandTimeoutMs: ${DEADLINE_MS}, breaker: { failures: 2, cooldownMs: 300 }, keyPrefix: "sy:closed:" }
  rateLimits: { default: { requestsPerMinute: 1000 } }
`);
    try {
      const body = { model: 'pricey', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
      expect((await postJson(`${closed.url}/v1/chat/completions`, body, { authorization: 'Bearer key-a' })).status).toBe(200);
      redis.freeze();
      try {
        const oa = await postJson(`${closed.url}/v1/chat/completions`, body, { authorization: 'Bearer key-a' });
        expect(oa.status).toBe(503);
        expect(oa.json.error).toMatchObject({ code: 'store_unavailable', type: 'service_unavailable' });
        expect(oa.headers.get('retry-after')).toBe('1');
        const an = await postJson(`${closed.url}/v1/messages`, body, { 'x-api-key': 'key-a', 'anthropic-version': '2023-06-01' });
        expect(an.status).toBe(503);
        expect(an.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
        // Failing closed, a down accounting store makes the instance unready (failing open, it stays ready).
        await until('readyz 503', () => fetch(`${closed.url}/readyz`).then((r) => r.status), (s) => s === 503);
        expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
      } finally {
        redis.thaw();
      }
      await until('admitting again', () => postJson(`${closed.url}/v1/chat/completions`, body, { authorization: 'Bearer key-a' }), (r) => r.status === 200);
    } finally {
      await closed.close();
    }
  });
});
