/**
 * Learning from feedback through `switchyard serve`, persisted in real Redis:
 * scores on routed answers move that task's thresholds, never past the guard
 * rail, and a new gateway on the same hash starts where the last one stopped.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

const KEY = `switchyard:test:routing:${randomUUID()}`;
let up: FakeProvider;
let redis: ReturnType<typeof createClient>;
const gateways: RunningServer[] = [];

function yaml(): string {
  return `
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
    scope: global
`;
}

const ADMIN = 'feedback-admin-token';

async function gateway(): Promise<RunningServer> {
  // Global learning moves only on admin feedback: the test rates as the admin.
  const gw = await startGateway(yaml(), { ...process.env, SWITCHYARD_ADMIN_TOKEN: ADMIN });
  gateways.push(gw);
  await gw.switchyard.router.ready;
  return gw;
}

beforeAll(async () => {
  up = await startFakeOpenAI();
  redis = createClient({ url: 'redis://127.0.0.1:6379' });
  await redis.connect();
});
afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await redis.del(KEY);
  await redis.close();
  await up.close();
});

async function rate(gw: RunningServer, text: string, score: number): Promise<{ status: number; json: any }> {
  const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: text }] });
  expect(r.status).toBe(200);
  return postJson(`${gw.url}/switchyard/feedback`, { request_id: r.headers.get('x-switchyard-request-id'), score }, { authorization: `Bearer ${ADMIN}` });
}

describe.skipIf(SKIP !== undefined)('routing feedback', () => {
  it('raises a task’s LOW threshold on good scores up to the guard rail, persists it in Redis, and a restarted gateway keeps it', async () => {
    const gw = await gateway();
    let last: any;
    for (let i = 0; i < 20; i++) {
      const fb = await rate(gw, 'hi', 1);
      expect(fb.status).toBe(200);
      last = fb.json;
    }
    expect(last).toMatchObject({ task: 'chat', tier: 'LOW', thresholds: [0.3, 0.7] });
    expect(last.quality.mean).toBeGreaterThan(0.9);
    const next = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hello' }] });
    expect(next.headers.get('x-switchyard-route')).toMatch(/< 0\.25\(\+0\.05 learned\) -> LOW/);
    // Other tasks keep the configured thresholds.
    expect(gw.switchyard.router.thresholdsFor('code')).toEqual([0.25, 0.7]);

    const stored = JSON.parse((await waitForField('chat|low', (e) => e.a > 20.99))!);
    expect(stored.a).toBeCloseTo(21, 3);
    expect(stored.b).toBeCloseTo(1, 3);

    const again = await gateway();
    expect(again.switchyard.router.thresholdsFor('chat')).toEqual([0.3, 0.7]);
  });

  it('lowers the threshold on bad scores, bounded by the guard rail too', async () => {
    const gw = await gateway();
    for (let i = 0; i < 80; i++) expect((await rate(gw, 'hi', 0)).status).toBe(200);
    expect(gw.switchyard.router.thresholdsFor('chat')).toEqual([0.2, 0.7]);
  });
});

async function waitForField(field: string, ok: (e: { a: number; b: number }) => boolean): Promise<string | undefined> {
  const end = Date.now() + 15_000;
  for (;;) {
    const v = await redis.hGet(KEY, field);
    if (v && ok(JSON.parse(v))) return v;
    if (Date.now() > end) return v ?? undefined;
    await new Promise((r) => setTimeout(r, 20));
  }
}
