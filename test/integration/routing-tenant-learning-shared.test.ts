/**
 * Per-tenant learning across replicas (issue 12): with `routing.learning`
 * in Redis and `scope: tenant`, a tenant's feedback taken by one gateway
 * instance moves that tenant's thresholds on the other instance too (the
 * entry is announced on `<key>:tenants`), and never another tenant's.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const KEY = `switchyard:test:tenant-learning:${randomUUID()}`;
let up: FakeProvider;
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
const gateways: RunningServer[] = [];

const yaml = () => `
upstreams:
${upstreamYaml('local', up.url, 'local-llama')}    local: true
${upstreamYaml('cloud', up.url, [{ name: 'mini' }, { name: 'big' }])}
tiers:
  - { name: LOW, models: [local-llama] }
  - { name: MEDIUM, models: [mini] }
  - { name: HIGH, models: [big] }
routing:
  agenticTier: null
  learning:
    store: redis
    redis: { url: redis://127.0.0.1:6379, key: "${KEY}" }
    guardRail: 0.05
    gain: 1
    minSamples: 1
    scope: tenant
`;

beforeAll(async () => {
  up = await startFakeOpenAI();
  await redis.connect();
});
afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await redis.del(KEY);
  await redis.close();
  await up.close();
});

describe('per-tenant learning shared through Redis', () => {
  it('feedback on instance A moves the tenant’s thresholds on instance B, not another tenant’s', async () => {
    const a = await startGateway(yaml());
    const b = await startGateway(yaml());
    gateways.push(a, b);
    await Promise.all([a.switchyard.router.ready, b.switchyard.router.ready]);
    // B's subscription to tenant announcements is up before A announces.
    const storeOf = (g: RunningServer) => (g.switchyard.router as unknown as { store: { watching?: boolean } }).store;
    while (!storeOf(b).watching) await new Promise((r) => setImmediate(r));
    const ask = await postJson(`${a.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer tenant-one' });
    expect(ask.status).toBe(200);
    const fb = await postJson(`${a.url}/switchyard/feedback`, { request_id: ask.headers.get('x-switchyard-request-id'), score: 1 }, { authorization: 'Bearer tenant-one' });
    expect(fb.status).toBe(200);
    const moved = (fb.json as { thresholds: number[]; task: string }).thresholds;
    const task = (fb.json as { task: string }).task;
    const base = b.switchyard.router.thresholdsFor(task);
    expect(moved).not.toEqual(base);
    // B learns of it by the announcement: wait for its thresholds for that tenant to match A's.
    const tenantOf = (await a.switchyard.identity.resolve({ headers: { authorization: 'Bearer tenant-one' } })).tenant;
    while (JSON.stringify(b.switchyard.router.thresholdsFor(task, tenantOf)) !== JSON.stringify(moved)) await new Promise((r) => setTimeout(r, 10));
    expect(b.switchyard.router.thresholdsFor(task, tenantOf)).toEqual(moved);
    const other = (await b.switchyard.identity.resolve({ headers: { authorization: 'Bearer tenant-two' } })).tenant;
    expect(b.switchyard.router.thresholdsFor(task, other)).toEqual(base);
  });
});
