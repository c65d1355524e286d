/**
 * Budgets under concurrency, in Redis (shared by two gateway replicas) and
 * in memory: admission reserves each request's estimate atomically, so a
 * burst cannot overshoot a cap by more than one in-flight estimate; spend is
 * settled to the real cost, reservations are released, soft and hard
 * standings show up in records, metrics and 429 errors in both protocols.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { periodsAt } from '../../src/accounting/budgets.js';
import { budgetKey } from '../../src/accounting/store.js';
import type { RunningServer } from '../../src/cli/serve.js';
import type { DecisionRecord } from '../../src/observability/events.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { scrape, sumOf } from '../helpers/observability.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

const redis = createClient({ url: 'redis://127.0.0.1:6379' });
const prefix = `sy-test-budgets-${process.pid}-${Date.now()}:`;
let oa: FakeProvider;
let ant: FakeProvider;
const gateways: RunningServer[] = [];

// 396 characters → the fake reports 99 completion tokens; max_tokens 100 → the estimate is just above the real cost.
const ANSWER = 'x'.repeat(396);
const PRICE = '{ name: pricey, inputPricePer1M: 1, outputPricePer1M: 1000 }';
const PER_REQUEST = 99 * 1000 / 1e6;

beforeAll(async () => {
  await redis.connect();
  // Slow enough that no answer settles (releasing its reservation) before the last request of a burst is admitted on a busy machine.
  oa = await startFakeOpenAI({ behavior: { kind: 'slow-first-token', ms: 1500, answer: ANSWER } });
  ant = await startFakeAnthropic({ behavior: { kind: 'ok', answer: ANSWER } });
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await oa.close();
  await ant.close();
});

function config(store: 'redis' | 'memory', budgets: string, sub = ''): string {
  return `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    models: [${PRICE}, { name: cheap, inputPricePer1M: 0.1, outputPricePer1M: 0.1 }]
    timeouts: { connectMs: 1000, firstTokenMs: 20000, idleMs: 20000, totalMs: 30000 }
    retry: { max: 0 }
  - name: ant
    kind: anthropic
    baseUrl: ${ant.url}
    apiKeyEnv: BUDGET_TEST_ANTHROPIC_KEY
    models: [{ name: claude-pricey, inputPricePer1M: 1, outputPricePer1M: 1000 }]
cache: { enabled: false }
# The team header is trusted as a budget identity only from a trusted proxy (loopback here).
auth: { mode: header, header: { tenantHeader: x-tenant, trustedProxies: [127.0.0.1/32, "::1/128"] } }
accounting:
  store: ${store}
  redis: { keyPrefix: "${prefix}${sub}", commandTimeoutMs: 2000 }
  budgets: ${budgets}
`;
}

async function gateway(yaml: string): Promise<RunningServer> {
  const gw = await startGateway(yaml, { ...process.env, BUDGET_TEST_ANTHROPIC_KEY: 'sk-ant-budget-test' });
  gateways.push(gw);
  return gw;
}

const ask = (gw: RunningServer, team: string, model = 'pricey') =>
  postJson(`${gw.url}/v1/chat/completions`, { model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, { 'x-tenant': team, 'x-team': team });

describe.skipIf(SKIP !== undefined).each(['redis', 'memory'] as const)('budgets in %s', (store) => {
  it('lets a concurrent burst overshoot the daily cap by at most one in-flight estimate, then refuses with 429', async () => {
    const sub = `${store}-burst:`;
    const gw = await gateway(config(store, '{ by: header, header: x-team, limits: { alpha: { dailyUsd: 1 } } }', sub));
    const records: DecisionRecord[] = [];
    gw.switchyard.events.on('decision', (r) => records.push(r));

    // Answers held long enough that the whole burst is admitted before the first one settles, even on a busy machine.
    oa.setBehavior({ kind: 'slow-first-token', ms: 5_000, answer: ANSWER });
    const results = await Promise.all(Array.from({ length: 30 }, () => ask(gw, 'alpha'))).finally(() =>
      oa.setBehavior({ kind: 'slow-first-token', ms: 300, answer: ANSWER }),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length + refused.length).toBe(30);
    // Every request was in flight at once (slow upstream): admission k sees (k-1) estimates of ≈ $0.1 reserved.
    expect(ok).toHaveLength(10);
    expect(refused[0]!.json.error).toMatchObject({ code: 'budget_exceeded', type: 'insufficient_quota' });
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);

    await gw.switchyard.accounting.flush();
    const spent = records.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    const served = records.filter((r) => r.status === 200);
    expect(spent).toBeCloseTo(10 * (PER_REQUEST + (served[0]!.inputTokens! * 1) / 1e6), 9);
    expect(spent).toBeLessThanOrEqual(1);
    if (store === 'redis') {
      const day = await redis.hGetAll(budgetKey(`${prefix}${sub}`, 'alpha', 'd', periodsAt(Date.now()).day));
      expect(Number(day.reserved)).toBe(0);
      expect(Number(day.spent) / 1e9).toBeCloseTo(spent, 8);
    }
    // Spent ≈ $0.99 < $1: one more request is admitted (its estimate takes the total past the cap), then none.
    expect((await ask(gw, 'alpha')).status).toBe(200);
    await gw.switchyard.accounting.flush();
    const after = await ask(gw, 'alpha');
    expect(after.status).toBe(429);
    const total = records.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    expect(total).toBeGreaterThan(1);
    expect(total).toBeLessThanOrEqual(1 + 0.1001);
    // Another identity is not affected.
    expect((await ask(gw, 'beta')).status).toBe(200);
  });
});

describe.skipIf(SKIP !== undefined)('budgets shared by replicas', () => {
  it('holds one cap across two gateways counting in the same Redis', async () => {
    const yaml = config('redis', '{ by: header, header: x-team, default: { monthlyUsd: 0.5 } }', 'replicas:');
    const [a, b] = [await gateway(yaml), await gateway(yaml)];
    // Answers held until the whole burst is admitted, even on a busy machine (as in the burst test above).
    oa.setBehavior({ kind: 'slow-first-token', ms: 5_000, answer: ANSWER });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => ask(i % 2 ? a : b, 'shared'))).finally(() =>
      oa.setBehavior({ kind: 'slow-first-token', ms: 300, answer: ANSWER }),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(19);
    await Promise.all([a.switchyard.accounting.flush(), b.switchyard.accounting.flush()]);
    const month = await redis.hGetAll(budgetKey(`${prefix}replicas:`, 'shared', 'm', periodsAt(Date.now()).month));
    expect(Number(month.reserved)).toBe(0);
    expect(Number(month.spent) / 1e9).toBeLessThanOrEqual(0.5);
    expect(Number(month.spent) / 1e9).toBeGreaterThan(0.45);
  });
});

describe.skipIf(SKIP !== undefined)('standing', () => {
  it('marks requests past the soft ratio, counts downgrades and reports the remaining budget', async () => {
    const gw = await gateway(config('redis', '{ by: header, header: x-team, softRatio: 0.25, limits: { gamma: { dailyUsd: 1 } } }', 'soft:'));
    const records: DecisionRecord[] = [];
    gw.switchyard.events.on('decision', (r) => records.push(r));
    for (let i = 0; i < 4; i++) {
      expect((await ask(gw, 'gamma')).status).toBe(200);
      await gw.switchyard.accounting.flush();
    }
    // Standing is taken at admission, its own reservation included: ≈ 0.10, 0.20, 0.30 (≥ 0.25: soft), 0.40.
    expect(records.map((r) => r.budget)).toEqual(['ok', 'ok', 'soft', 'soft']);
    const prom = await scrape(gw.url);
    expect(sumOf(prom, 'switchyard_budget_downgrades_total')).toBe(2);
    const remaining = sumOf(prom, 'switchyard_budget_remaining_usd', { budget: 'gamma', period: 'daily' });
    expect(remaining).toBeCloseTo(1 - records.reduce((s, r) => s + r.costUsd!, 0), 6);
  });

  it('refuses in the caller protocol: OpenAI insufficient_quota, Anthropic rate_limit_error', async () => {
    const gw = await gateway(config('memory', '{ by: header, header: x-team, default: { dailyUsd: 0 } }'));
    const o = await ask(gw, 'zero');
    expect(o.status).toBe(429);
    expect(o.headers.get('x-switchyard-error')).toBe('budget_exceeded');
    expect(o.json.error.message).toMatch(/daily budget of \$0 is spent/);
    const a = await postJson(`${gw.url}/v1/messages`, { model: 'claude-pricey', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-tenant': 'zero', 'x-team': 'zero' });
    expect(a.status).toBe(429);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('does not budget requests without the identity header, and counts streamed spend', async () => {
    const gw = await gateway(config('memory', '{ by: header, header: x-team, default: { dailyUsd: 0.15 } }'));
    const anon = await postJson(`${gw.url}/v1/chat/completions`, { model: 'pricey', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }, { 'x-tenant': 'anon' });
    expect(anon.status).toBe(200);
    const s = await postJson(`${gw.url}/v1/chat/completions`, { model: 'pricey', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-tenant': 'streamer', 'x-team': 'streamer' });
    expect(s.status).toBe(200);
    await gw.switchyard.accounting.flush();
    // The stream's ≈ $0.099 leaves ≈ $0.05: one more is admitted, then the cap is reached.
    expect((await ask(gw, 'streamer')).status).toBe(200);
    await gw.switchyard.accounting.flush();
    expect((await ask(gw, 'streamer')).status).toBe(429);
  });
});
