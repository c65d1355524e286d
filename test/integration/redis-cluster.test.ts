/**
 * Shared state on a real Redis Cluster (3 masters + 3 replicas on loopback,
 * started by this test from Debian's redis-server): two gateway instances
 * share budgets, rate limits and the exact cache; learning persists; the
 * accounting scripts run in one slot; a master failover (CLUSTER FAILOVER on
 * its replica) does not interrupt traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster } from 'redis';
import { periodsAt } from '../../src/accounting/budgets.js';
import { ACCOUNTING_TAG } from '../../src/accounting/store.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { createResponseCache } from '../../src/cache/index.js';
import { cacheSchema } from '../../src/config/cache.js';
import { routingLearningSchema } from '../../src/config/routing.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { shadowStoreSchema } from '../../src/config/shadow.js';
import { RedisLedger } from '../../src/shadow/ledger.js';
import { RedisStreamStore } from '../../src/shadow/store.js';
import { openQualityStore } from '../../src/routing/learning-store.js';
import { gatedBurst } from '../fixtures/fake-common.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startOwnCluster, type OwnCluster } from '../fixtures/redis-server.js';
import { midMinuteClock, postJson, startGateway } from '../helpers/gateway.js';

// 396 characters → 99 completion tokens; max_tokens 100 → each estimate is just above the real cost ($0.099).
const ANSWER = 'x'.repeat(396);
const UNIT_NANO = 99_000_000;

let cluster: OwnCluster;
let up: FakeProvider;
let slow: FakeProvider;
let a: RunningServer;
let b: RunningServer;
let probe: ReturnType<typeof createCluster>;

function config(redis: string, upstream: string): string {
  return `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${upstream}
    models: [{ name: pricey, inputPricePer1M: 0, outputPricePer1M: 1000 }, { name: free, inputPricePer1M: 0, outputPricePer1M: 0 }]
    timeouts: { connectMs: 1000, firstTokenMs: 10000, idleMs: 10000, totalMs: 20000 }
    retry: { max: 0 }
cache:
  store: redis
  redis: { ${redis}, keyPrefix: "syc:", commandTimeoutMs: 2000 }
  semantic: { enabled: false }
accounting:
  store: redis
  redis: { ${redis}, keyPrefix: "syc:acct:", commandTimeoutMs: 2000 }
  budgets: { by: header, header: x-team, default: { dailyUsd: 1 } }
  rateLimits: { tenants: {} }
observability:
  records: { sink: redis-stream, redis: { ${redis}, stream: "syc:decisions" } }
`;
}

beforeAll(async () => {
  cluster = await startOwnCluster({ masters: 3, replicasPerMaster: 1 });
  up = await startFakeOpenAI({ behavior: { kind: 'ok', answer: ANSWER } });
  slow = await startFakeOpenAI({ behavior: { kind: 'slow-first-token', ms: 500, answer: ANSWER } });
  const [n1, n2, n3] = cluster.nodes;
  // One instance names the cluster by a redis+cluster:// URL, the other by its root nodes.
  a = await startGateway(config(`url: "redis+cluster://127.0.0.1:${n1!.port},127.0.0.1:${n2!.port}"`, slow.url));
  b = await startGateway(config(`cluster: { rootNodes: ["${n3!.url}"] }`, slow.url));
  probe = createCluster({ rootNodes: [{ url: n1!.url }] });
  await probe.connect();
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await probe?.close();
  await up?.close();
  await slow?.close();
  await cluster?.stop();
}, 60_000);

const ask = (gw: RunningServer, text: string, headers: Record<string, string> = {}, model = 'pricey') =>
  postJson(`${gw.url}/v1/chat/completions`, { model, max_tokens: 100, messages: [{ role: 'user', content: text }] }, { authorization: 'Bearer key-a', ...headers });

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
    v = await get();
  }
  return v;
}

/** Keys on every master matching `pattern`. */
async function keysOnCluster(pattern: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of probe.masters) {
    const c = await probe.nodeClient(m);
    for await (const keys of c.scanIterator({ MATCH: pattern, COUNT: 1000 })) out.push(...keys);
  }
  return out;
}

describe('Switchyard on a Redis Cluster (3 masters + 3 replicas)', () => {
  it('reports the cluster connection healthy', async () => {
    const h = (await (await fetch(`${a.url}/healthz`)).json()) as { status: string; stores: { cluster: boolean; status: string }[] };
    await until('cluster store ok', async () => (await (await fetch(`${a.url}/healthz`)).json()) as typeof h, (x) => x.status === 'ok');
    expect(h.stores.length).toBeGreaterThan(0);
    expect(h.stores.every((s) => s.cluster)).toBe(true);
  });

  it('holds one daily budget across two gateways under concurrent bursts', async () => {
    const team = { 'x-team': 'burst' };
    // The fake holds every answer until each request is admitted (arrived) or refused: all admitted ones are in flight.
    const all = await gatedBurst(slow, 30, (i) => (i % 2 ? ask(a, `burst a${i}`, team) : ask(b, `burst b${i}`, team)), { answer: ANSWER }).finally(() =>
      slow.setBehavior({ kind: 'slow-first-token', ms: 500, answer: ANSWER }),
    );
    const ok = all.filter((r) => r.status === 200);
    const refused = all.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(30);
    // $1 at ~$0.1 estimated per request, none settled before the burst is decided: exactly 10 fit.
    expect(ok).toHaveLength(10);
    expect(refused[0]!.json.error.code).toBe('budget_exceeded');
    // One budget for the whole burst, whichever gateway admitted it (the team header only subdivides the caller's tenant).
    const keys = await keysOnCluster(`syc:acct:${ACCOUNTING_TAG}:budget:*burst:d:${periodsAt(Date.now()).day}`);
    expect(keys).toHaveLength(1);
    const day = await until('settled', () => probe.hGetAll(keys[0]!), (h) => Number(h.reserved) === 0, 10_000);
    expect(Number(day.spent)).toBe(ok.length * UNIT_NANO);
  });

  it('admits exactly the requests-per-minute limit across two gateways', async () => {
    // A config reload is not needed: a team header does not change the tenant; use a fresh credential per test.
    const yaml = (redis: string) => config(redis, up.url).replace('rateLimits: { tenants: {} }', 'rateLimits: { default: { requestsPerMinute: 12 } }');
    const [n1, n2] = cluster.nodes;
    // Both read one clock frozen mid-minute: the burst is counted in one window however slow the machine.
    const clock = midMinuteClock();
    const ra = await startGateway(yaml(`cluster: { rootNodes: ["${n1!.url}"] }`), process.env, { clock });
    const rb = await startGateway(yaml(`cluster: { rootNodes: ["${n2!.url}"] }`), process.env, { clock });
    try {
      const cred = { authorization: 'Bearer key-rate' };
      const all = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(i % 2 ? ra : rb, `rate ${i}`, cred, 'free')));
      expect(all.filter((r) => r.status === 200)).toHaveLength(12);
      const refused = all.filter((r) => r.status === 429);
      expect(refused).toHaveLength(12);
      expect(refused[0]!.json.error.code).toBe('rate_limited');
    } finally {
      await ra.close();
      await rb.close();
    }
  });

  it('keeps every accounting key of a call in one slot (the {acct} hash tag)', async () => {
    const keys = await keysOnCluster('syc:acct:*');
    expect(keys.length).toBeGreaterThan(3);
    const slots = new Set(await Promise.all(keys.map((k) => probe.clusterKeySlot(k))));
    expect(slots.size).toBe(1);
  });

  it('shares the exact cache between two gateways, and writes decision records to a stream in the cluster', async () => {
    const first = await ask(a, 'shared question 1', {}, 'free');
    expect(first.headers.get('x-switchyard-cache')).toBe('miss');
    await until('the entry written', () => keysOnCluster('syc:x:*'), (k) => k.length >= 1);
    const second = await ask(b, 'shared question 1', {}, 'free');
    expect(second.headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect(second.json.choices[0].message.content).toBe(ANSWER);
    await until('decision records in the stream', () => probe.xLen('syc:decisions'), (n) => n >= 2);
  });

  it('purges a tenant’s exact entries on every master', async () => {
    const cfg = cacheSchema.parse({ store: 'redis', redis: { cluster: { rootNodes: [cluster.urls[0]] }, keyPrefix: 'sycp:', commandTimeoutMs: 2000 }, semantic: { enabled: false } });
    const cache = createResponseCache(cfg);
    try {
      const input = (tenant: string, q: string) => ({ req: chatReq(q), tenant, modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
      for (const [tenant, q] of [['t1', 'a'], ['t1', 'b'], ['t1', 'c'], ['t2', 'a']] as const) {
        const miss = await cache.lookup(input(tenant, q));
        await cache.store(miss.ticket!, { id: 'r', model: 'm', created: 1, text: `answer ${q}`, finishReason: 'stop' });
      }
      expect(await keysOnCluster('sycp:x:*')).toHaveLength(4);
      expect(await cache.purge({ tenant: 't1' })).toBe(3);
      expect((await cache.lookup(input('t2', 'a'))).result).toBe('hit-exact');
      expect((await cache.lookup(input('t1', 'a'))).result).toBe('miss');
      expect(cache.stats().errors).toBe(0);
    } finally {
      await cache.close();
    }
  });

  it('keeps the shadow spend cap and results in the cluster', async () => {
    const store = new RedisStreamStore(shadowStoreSchema.parse({ redis: { url: `redis+cluster://127.0.0.1:${cluster.nodes[1]!.port}`, stream: 'syc:shadow', commandTimeoutMs: 2000 } }).redis);
    try {
      const ledger = new RedisLedger(store.redis, 'syc:shadow:spend', () => undefined);
      const grants = await Promise.all(Array.from({ length: 6 }, () => ledger.reserve(0.4, 1)));
      expect(grants.filter(Boolean)).toHaveLength(2);
      await ledger.settle(grants.find(Boolean)!, 0.1);
      expect(await ledger.today()).toBeCloseTo(0.5, 9);
      expect(await store.write({ time: new Date().toISOString() } as never)).toBe(true);
      expect(await probe.xLen('syc:shadow')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('persists routing learning in the cluster', async () => {
    const cfg = routingLearningSchema.parse({ store: 'redis', redis: { cluster: { rootNodes: cluster.urls.slice(0, 2) }, key: 'syc:routing:quality', commandTimeoutMs: 2000 } });
    const one = openQualityStore(cfg);
    await one.load();
    one.changed('code|fast', { a: 7, b: 2, t: Date.now() });
    await one.close();
    const two = openQualityStore(cfg);
    expect(await two.load()).toContainEqual(['code|fast', expect.objectContaining({ a: 7, b: 2 })]);
    await two.close();
  });

  it('keeps serving through a master failover (CLUSTER FAILOVER on its replica)', async () => {
    // The master holding the accounting slot is the one that matters most.
    const slot = await probe.clusterKeySlot(`syc:acct:${ACCOUNTING_TAG}:x`);
    const master = probe.getSlotMaster(slot);
    const replicas = await cluster.replicasOf(master.port);
    expect(replicas.length).toBe(1);
    const team = { 'x-team': 'failover' };
    expect((await ask(a, 'before failover', team, 'free')).status).toBe(200);
    await cluster.failover(replicas[0]!);
    // Both gateways follow the MOVED redirections to the new master.
    const after = await Promise.all([ask(a, 'after failover a', team, 'free'), ask(b, 'after failover b', team, 'free'), ask(b, 'before failover', team, 'free')]);
    expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(after[2]!.headers.get('x-switchyard-cache')).toBe('hit-exact');
    const h = (await (await fetch(`${b.url}/healthz`)).json()) as { status: string };
    expect(['ok', 'degraded']).toContain(h.status);
  });
});

function chatReq(question: string): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: question }], stream: false, extra: {} };
}
