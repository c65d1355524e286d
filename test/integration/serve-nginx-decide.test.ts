/**
 * `switchyard serve` and the nginx decide endpoint (nginx/switchyard-decide.conf
 * points at it): off unless `auth.nginx.enabled`; then it answers only the
 * trusted proxy (address and/or shared secret), resolves identity like every
 * face, settles spend at the decide call (no reservation outlives it) from
 * an estimate, and takes the real usage from the proxy when configured.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodsAt } from '../../src/accounting/budgets.js';
import { budgetKey } from '../../src/accounting/store.js';
import type { RunningServer } from '../../src/cli/serve.js';
import type { DecisionRecord } from '../../src/observability/events.js';
import { credentialTenant } from '../../src/identity/tenant-name.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const RUN = randomBytes(4).toString('hex');
const prefix = `sy-nginxdecide-${RUN}:`;
const SECRET = 'decide-secret-for-tests';
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
let up: FakeProvider;
beforeAll(async () => {
  up = await startFakeOpenAI();
  await redis.connect();
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await up.close();
});

const upstreams = () => `upstreams:\n${upstreamYaml('primary', up.url, [{ name: 'primary-model' }])}`;
const priced = () => `upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [{ name: primary-model, inputPricePer1M: 1, outputPricePer1M: 10 }]
`;

describe('decide endpoint off by default', () => {
  it('is not served (404), so nothing is decided or charged', async () => {
    const gw = await startGateway(upstreams());
    try {
      const r = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('route me'));
      expect(r.status).toBe(404);
      expect(r.headers.get('x-accel-redirect')).toBeNull();
      expect(gw.switchyard.accounting.inFlight).toBe(0);
    } finally {
      await gw.close();
    }
  });
});

describe('decide endpoint enabled', () => {
  let gw: RunningServer;
  const sub = 'budget:';
  beforeAll(async () => {
    gw = await startGateway(
      `auth: { nginx: { enabled: true, sharedSecretEnv: DECIDE_SECRET, usageReport: true } }
accounting:
  store: redis
  redis: { keyPrefix: "${prefix}${sub}" }
  budgets: { by: tenant, default: { dailyUsd: 10 } }
${priced()}`,
      { ...process.env, DECIDE_SECRET: SECRET },
    );
  });
  afterAll(async () => {
    await gw.close();
  });
  const trusted = { 'x-switchyard-proxy-secret': SECRET, authorization: 'Bearer nginx-client' };
  const budgetOf = async (tenant: string) => redis.hGetAll(budgetKey(`${prefix}${sub}`, tenant, 'd', periodsAt(Date.now()).day));

  it('answers the trusted proxy with X-Accel-Redirect, without calling the upstream, and leaves nothing reserved', async () => {
    const records: DecisionRecord[] = [];
    gw.switchyard.events.on('decision', (r) => records.push(r));
    const r = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('route me', { max_tokens: 100 }), trusted);
    expect(r.headers.get('x-accel-redirect')).toMatch(/^\/_switchyard\/upstream\/primary\//);
    expect(up.requests).toHaveLength(0);
    await gw.switchyard.accounting.flush();
    expect(gw.switchyard.accounting.inFlight).toBe(0);
    const rec = records.at(-1)!;
    expect(rec.usageEstimated).toBe(true);
    const day = await budgetOf(rec.tenant);
    expect(Number(day.reserved)).toBe(0);
    // Charged from the estimate: prompt + max_tokens at the model's price.
    expect(Number(day.spent) / 1e9).toBeCloseTo(rec.costUsd!, 9);
    expect(rec.costUsd!).toBeGreaterThan(100 * 10 / 1e6 - 1e-9);
  });

  it('refuses callers without the secret (403 in their protocol) before parsing, resolving or charging anything', async () => {
    const records: DecisionRecord[] = [];
    gw.switchyard.events.on('decision', (r) => records.push(r));
    const o = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('sneak', { max_tokens: 100 }), { authorization: 'Bearer attacker' });
    expect(o.status).toBe(403);
    expect(o.json.error).toMatchObject({ code: 'permission_denied', type: 'permission_error' });
    const a = await postJson(`${gw.url}/switchyard/decide/v1/messages`, { model: 'primary-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': 'attacker', 'x-switchyard-proxy-secret': 'guess' });
    expect(a.status).toBe(403);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    await gw.switchyard.accounting.flush();
    expect(records).toHaveLength(0);
    const keys: string[] = [];
    for await (const ks of redis.scanIterator({ MATCH: `${prefix}${sub}budget:*`, COUNT: 1000 })) keys.push(...ks);
    for (const key of keys) expect(key).not.toContain(credentialTenant('key', 'attacker'));
    expect(gw.switchyard.accounting.inFlight).toBe(0);
  });

  it('corrects the charge with the usage the trusted proxy reports, once', async () => {
    const records: DecisionRecord[] = [];
    gw.switchyard.events.on('decision', (r) => records.push(r));
    const client = { 'x-switchyard-proxy-secret': SECRET, authorization: 'Bearer usage-client' };
    const r = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('report me', { max_tokens: 1000 }), client);
    expect(r.headers.get('x-accel-redirect')).toBeTruthy();
    await gw.switchyard.accounting.flush();
    const rec = records.at(-1)!;
    const estimated = Number((await budgetOf(rec.tenant)).spent);
    const report = { request_id: rec.id, usage: { prompt_tokens: 10, completion_tokens: 20 } };
    expect((await postJson(`${gw.url}/switchyard/decide-usage`, report, { 'x-switchyard-proxy-secret': 'guess' })).status).toBe(403);
    const ok = await postJson(`${gw.url}/switchyard/decide-usage`, report, { 'x-switchyard-proxy-secret': SECRET });
    expect(ok.status).toBe(200);
    await gw.switchyard.accounting.flush();
    const corrected = Number((await budgetOf(rec.tenant)).spent);
    expect(corrected).toBeLessThan(estimated);
    expect(corrected / 1e9).toBeCloseTo((10 * 1 + 20 * 10) / 1e6, 9);
    expect((await postJson(`${gw.url}/switchyard/decide-usage`, report, { 'x-switchyard-proxy-secret': SECRET })).status).toBe(404);
    const bad = await postJson(`${gw.url}/switchyard/decide-usage`, { request_id: rec.id, usage: { prompt_tokens: -1, completion_tokens: 1e308 } }, { 'x-switchyard-proxy-secret': SECRET });
    expect(bad.status).toBe(400);
  });
});

describe('decide endpoint from a peer outside trustedProxies', () => {
  it('is refused even with no secret configured', async () => {
    const gw = await startGateway(`auth: { nginx: { enabled: true, trustedProxies: [10.0.0.0/8] } }\n${upstreams()}`);
    try {
      const r = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('route me'));
      expect(r.status).toBe(403);
    } finally {
      await gw.close();
    }
  });
});
