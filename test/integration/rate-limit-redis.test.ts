/**
 * Rate limits against the real Redis (and in memory): a concurrent burst
 * admits exactly the requests-per-minute limit, per tenant; tokens per
 * minute count prompt + max_tokens at admission and are corrected to the
 * real usage afterwards; refusals are 429 `rate_limited` with Retry-After in
 * the caller's protocol; replicas share the window.
 */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { windowAt } from '../../src/accounting/rate-limits.js';
import { rateKey } from '../../src/accounting/store.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { gatedBurst } from '../fixtures/fake-common.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { midMinuteClock, postJson, startGateway } from '../helpers/gateway.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

const redis = createClient({ url: 'redis://127.0.0.1:6379' });
const prefix = `sy-test-rate-${process.pid}-${Date.now()}:`;
let oa: FakeProvider;
// Every gateway here reads this clock, frozen mid-minute: a burst is never split across two windows.
const clock = midMinuteClock();
const gateways: RunningServer[] = [];

beforeAll(async () => {
  await redis.connect();
  oa = await startFakeOpenAI({ behavior: { kind: 'ok', answer: 'short' } });
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await oa.close();
});

// Header mode: the tenant header is trusted because these requests come from a trusted peer (loopback here, a proxy in production).
const HEADER_AUTH = 'auth: { mode: header, header: { tenantHeader: x-tenant, trustedProxies: [127.0.0.1/32, "::1/128"] } }';

async function gateway(store: 'redis' | 'memory', limits: string, sub: string, auth = HEADER_AUTH, at: () => number = clock): Promise<RunningServer> {
  const gw = await startGateway(`
${auth}
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    models: [{ name: m }]
cache: { enabled: false }
accounting:
  store: ${store}
  redis: { keyPrefix: "${prefix}${sub}", commandTimeoutMs: 2000 }
  rateLimits: ${limits}
`, process.env, { clock: at });
  gateways.push(gw);
  return gw;
}

const ask = (gw: RunningServer, tenant: string | undefined, extra: Record<string, unknown> = {}) =>
  postJson(`${gw.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }, tenant ? { 'x-tenant': tenant } : {});

describe.skipIf(SKIP !== undefined).each(['redis', 'memory'] as const)('rate limits in %s', (store) => {
  it('admits exactly the requests-per-minute limit of a concurrent burst, per tenant, with Retry-After', async () => {
    const gw = await gateway(store, '{ default: { requestsPerMinute: 10 }, tenants: { "t:vip": { requestsPerMinute: 20 } } }', `${store}-rpm:`);
    // The fake holds every answer until each of the 50 requests is admitted (arrived) or refused.
    const both = await gatedBurst(oa, 50, (i) => ask(gw, i % 2 ? 'vip' : 'plain'), { answer: 'short' });
    const plain = both.filter((_, i) => i % 2 === 0);
    const vip = both.filter((_, i) => i % 2 === 1);
    expect(plain.filter((r) => r.status === 200)).toHaveLength(10);
    expect(vip.filter((r) => r.status === 200)).toHaveLength(20);
    const refused = plain.find((r) => r.status === 429)!;
    expect(refused.json.error).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    if (store === 'redis') {
      expect(Number(await redis.get(rateKey(`${prefix}${store}-rpm:`, 't:plain', 'r', windowAt(clock()).index)))).toBe(10);
    }
  });

  it('counts prompt + max_tokens against tokens per minute, then corrects to the real usage', async () => {
    const gw = await gateway(store, '{ default: { tokensPerMinute: 1000 } }', `${store}-tpm:`);
    // Each asks for ≈ 8 prompt + 100 completion tokens: 9 fit under 1000. The fake holds every answer until
    // the whole burst is admitted or refused, so no early answer corrects the counter (to its real ≈ 10 tokens) first.
    const burst = await gatedBurst(oa, 15, () => ask(gw, 'tok', { max_tokens: 100 }), { answer: 'short' });
    expect(burst.filter((r) => r.status === 200)).toHaveLength(9);
    expect(burst.find((r) => r.status === 429)!.json.error.message).toMatch(/1000 tokens per minute/);
    await gw.switchyard.accounting.flush();
    // The fake used ≈ 9 + 2 tokens each: the counter now holds the real usage, so more requests fit again.
    if (store === 'redis') {
      const counted = Number(await redis.get(rateKey(`${prefix}${store}-tpm:`, 't:tok', 't', windowAt(clock()).index)));
      expect(counted).toBeLessThan(200);
      expect(counted).toBeGreaterThan(0);
    }
    expect((await ask(gw, 'tok', { max_tokens: 100 })).status).toBe(200);
  });
});

describe.skipIf(SKIP !== undefined).each(['redis', 'memory'] as const)('the rate-limit window in %s', (store) => {
  it('follows the injected clock: a full minute still weighs on the next one, and is free two minutes on', async () => {
    // 59.5 s into a minute; the gateway reads `at`, so the test moves time instead of waiting for it.
    let at = Math.floor(Date.now() / 60_000) * 60_000 + 59_500;
    const gw = await gateway(store, '{ default: { requestsPerMinute: 4 } }', `${store}-clock:`, HEADER_AUTH, () => at);
    const burst = async (n: number) => (await Promise.all(Array.from({ length: n }, () => ask(gw, 'clocked')))).map((r) => r.status);
    expect((await burst(6)).sort()).toEqual([200, 200, 200, 200, 429, 429]);
    // One second into the next minute the previous one still counts 4 × 59/60 ≈ 3.93: one more does not fit.
    at += 1_500;
    expect(await burst(1)).toEqual([429]);
    // Half-way through it counts 2: two fit, the third does not.
    at += 29_000;
    expect((await burst(3)).sort()).toEqual([200, 200, 429]);
    // Two minutes on, both buckets are history.
    at += 120_000;
    expect((await burst(4)).every((s) => s === 200)).toBe(true);
  });
});

describe.skipIf(SKIP !== undefined)('rate limits shared by replicas', () => {
  it('admits the limit once across two gateways, and refuses Anthropic callers in their protocol', async () => {
    const a = await gateway('redis', '{ default: { requestsPerMinute: 12 } }', 'replicas:');
    const b = await gateway('redis', '{ default: { requestsPerMinute: 12 } }', 'replicas:');
    const results = await gatedBurst(oa, 30, (i) => ask(i % 2 ? a : b, 'shared'), { answer: 'short' });
    expect(results.filter((r) => r.status === 200)).toHaveLength(12);
    const m = await postJson(`${a.url}/v1/messages`, { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-tenant': 'shared' });
    expect(m.status).toBe(429);
    expect(m.json).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(m.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('limits anonymous callers as one tenant and leaves unlisted tenants alone when only tenants are listed', async () => {
    // auth.mode none: callers without a credential share `anonymous`; a credential is its own tenant.
    const gw = await gateway('redis', '{ tenants: { anonymous: { requestsPerMinute: 2 } } }', 'anon:', 'auth: { mode: none }');
    const anon = await Promise.all(Array.from({ length: 5 }, () => ask(gw, undefined)));
    expect(anon.filter((r) => r.status === 200)).toHaveLength(2);
    const named = await Promise.all(
      Array.from({ length: 5 }, () => postJson(`${gw.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer free' })),
    );
    expect(named.every((r) => r.status === 200)).toBe(true);
  });
});
