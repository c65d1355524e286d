/**
 * Routing decisions through a real `switchyard serve` with fake providers on
 * real sockets: tiers for stated reasons, privacy kept local, SLA, load
 * spillover (in-flight and a sidecar's polled queue), A/B split, feedback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const HARD =
  'Design a distributed rate limiter in Rust: first analyse the trade-offs between token bucket and sliding window, then implement it step by step with unit tests, and prove that it never exceeds the limit under concurrent access.';

let local: FakeProvider;
let cloudA: FakeProvider;
let cloudB: FakeProvider;
let health: Server;
let healthUrl: string;
let waiting = 0;
let gw: RunningServer;

function gatewayYaml(routing: string, localUrl = local.url): string {
  return `
upstreams:
${upstreamYaml('local', localUrl, [{ name: 'local-llama', contextWindow: 8192 }])}    local: true
${upstreamYaml('cloud-a', cloudA.url, [{ name: 'mini' }, { name: 'big-a' }], { firstTokenMs: 10_000 })}
${upstreamYaml('cloud-b', cloudB.url, [{ name: 'big-b' }])}
tiers:
  - { name: LOW, models: [local-llama] }
  - { name: MEDIUM, models: [mini] }
  - { name: HIGH, models: [big-a, big-b] }
  - { name: AGENTIC, models: [big-b] }
  - { name: EXPERIMENT, models: [big-a, big-b] }
${routing}
`;
}

beforeAll(async () => {
  [local, cloudA, cloudB] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
  health = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', queue: { waiting, capacity: 16, active: 1, slots: 1 } }));
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  gw = await startGateway(
    gatewayYaml(`routing:
  load:
    maxInFlight: { local: 1 }
    maxQueue: 4
    sidecars: [{ upstream: local, healthUrl: ${healthUrl}, intervalMs: 30 }]
  ab: { key: tenant, tiers: { EXPERIMENT: { big-a: 3, big-b: 1 } } }`),
  );
});
afterAll(async () => {
  await gw.close();
  await Promise.all([local.close(), cloudA.close(), cloudB.close(), new Promise((r) => health.close(r))]);
});

const send = (content: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content }], ...extra }, headers);

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('switchyard/auto through serve', () => {
  it('routes a greeting to the local LOW tier, a hard multi-step task to HIGH and a tool call to AGENTIC, each for a stated reason', async () => {
    const low = await send('hi');
    expect(low.status).toBe(200);
    expect(low.headers.get('x-switchyard-upstream')).toBe('local');
    expect(low.headers.get('x-switchyard-tier')).toBe('LOW');
    expect(low.headers.get('x-switchyard-route')).toMatch(/^auto: complexity 0\.\d\d < 0\.25 -> LOW; task chat$/);
    expect((local.requests.at(-1)!.body as { model?: string }).model).toBe('local-llama');

    const high = await send(HARD);
    expect(high.headers.get('x-switchyard-upstream')).toBe('cloud-a');
    expect(high.headers.get('x-switchyard-model')).toBe('big-a');
    expect(high.headers.get('x-switchyard-tier')).toBe('HIGH');
    expect(high.headers.get('x-switchyard-route')).toMatch(/complexity [01]\.\d\d >= 0\.70 -> HIGH; task code/);

    const tools = await send('What is the weather in Paris?', {
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    expect(tools.headers.get('x-switchyard-tier')).toBe('AGENTIC');
    expect(tools.headers.get('x-switchyard-upstream')).toBe('cloud-b');
    expect(tools.headers.get('x-switchyard-route')).toContain('tools -> AGENTIC');
  });

  it('keeps e-mail addresses, card numbers and private keys local even for an explicit cloud model', async () => {
    const cloudBefore = cloudA.requests.length + cloudB.requests.length;
    for (const [text, kind] of [
      ['Reply to jane.doe@example.com: the meeting moved to 3pm.', 'email'],
      ['Charge 4111 1111 1111 1111 for the renewal, please confirm.', 'credit-card'],
      ['Why does ssh reject this?\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', 'private-key'],
    ] as const) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'big-a', messages: [{ role: 'user', content: text }] });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-switchyard-upstream')).toBe('local');
      expect(r.headers.get('x-switchyard-route')).toBe(`explicit model; privacy (${kind}) -> local-only: big-a overridden`);
      expect((local.requests.at(-1)!.body as { model?: string }).model).toBe('local-llama');
    }
    expect(cloudA.requests.length + cloudB.requests.length).toBe(cloudBefore);
  });

  it('answers a clear 503 for a private request when the local sidecar is down, and never calls the cloud', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((r) => dead.close(r));
    const gw2 = await startGateway(gatewayYaml(`routing:\n  load: { sidecars: [{ upstream: local, intervalMs: 30 }] }`, `${deadUrl}/v1`));
    try {
      await until(() => gw2.switchyard.router.load.downReason('local') !== undefined);
      const cloudBefore = cloudA.requests.length + cloudB.requests.length;
      const r = await postJson(`${gw2.url}/v1/chat/completions`, { model: 'big-a', messages: [{ role: 'user', content: 'Mail jane.doe@example.com the plan' }] });
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('no_upstream_available');
      expect(r.json.error.message).toMatch(/privacy \(email\): this request may only go to a local upstream, and none is usable \(local: health check failed/);
      expect(cloudA.requests.length + cloudB.requests.length).toBe(cloudBefore);
      // A request without private data still gets served, by spilling over to the cloud.
      const ok = await postJson(`${gw2.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hi' }] });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-switchyard-upstream')).toBe('cloud-a');
      expect(ok.headers.get('x-switchyard-route')).toContain('spill over to MEDIUM: mini over local-llama (local-llama health check failed');
    } finally {
      await gw2.close();
    }
  });
});

describe('constraints through serve', () => {
  it('SLA: picks the faster upstream once the slow one’s moving average exceeds the per-request SLA', async () => {
    // Far apart (1.5 s vs an SLA of 750 ms), so a busy machine's own slowness cannot make the fast upstream look slow too.
    cloudA.setBehavior({ kind: 'slow-first-token', ms: 1500 });
    // The moving average (alpha 0.2) needs a few slow answers to pass the SLA.
    for (let i = 0; i < 6; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/HIGH', messages: [{ role: 'user', content: 'x' }] });
      expect(r.headers.get('x-switchyard-upstream')).toBe('cloud-a');
    }
    const fast = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/HIGH', messages: [{ role: 'user', content: 'x' }] }, { 'x-switchyard-max-latency-ms': '750' });
    cloudA.setBehavior({ kind: 'ok' });
    expect(fast.headers.get('x-switchyard-upstream')).toBe('cloud-b');
    expect(fast.headers.get('x-switchyard-route')).toMatch(/^pinned tier HIGH; big-b over big-a \(big-a latency \d+ms > SLA 750ms\)$/);
  });

  it('load: spills a LOW request over to MEDIUM’s cloud model while the sidecar’s queue is past its depth, and comes back', async () => {
    waiting = 10;
    await until(() => gw.switchyard.router.load.queueLength('local') === 10);
    const spilled = await send('hi');
    expect(spilled.headers.get('x-switchyard-upstream')).toBe('cloud-a');
    expect(spilled.headers.get('x-switchyard-tier')).toBe('MEDIUM');
    expect(spilled.headers.get('x-switchyard-route')).toContain('spill over to MEDIUM: mini over local-llama (local-llama queue 10 > 4)');
    waiting = 0;
    await until(() => gw.switchyard.router.load.queueLength('local') === 0);
    expect((await send('hi')).headers.get('x-switchyard-upstream')).toBe('local');
  });

  it('load: spills over while the local upstream’s in-flight count is at its limit', async () => {
    local.setBehavior([{ kind: 'slow-first-token', ms: 400 }, { kind: 'ok' }]);
    const slow = send('hi');
    await until(() => gw.switchyard.registry.upstream('local')!.inFlight === 1);
    const second = await send('hello');
    expect(second.headers.get('x-switchyard-upstream')).toBe('cloud-a');
    expect(second.headers.get('x-switchyard-route')).toContain('local-llama in-flight 1 >= 1');
    expect((await slow).headers.get('x-switchyard-upstream')).toBe('local');
  });

  it('A/B: tenants split roughly 3:1 between the weighted models, each tenant always on the same one', async () => {
    const pick = async (tenant: string) =>
      (await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/experiment', messages: [{ role: 'user', content: 'x' }] }, { authorization: `Bearer ${tenant}` })).headers.get(
        'x-switchyard-model',
      );
    const first = new Map<string, string | null>();
    let a = 0;
    for (let i = 0; i < 200; i++) {
      const m = await pick(`tenant-${i}`);
      first.set(`tenant-${i}`, m);
      if (m === 'big-a') a++;
    }
    expect(a / 200).toBeGreaterThan(0.65);
    expect(a / 200).toBeLessThan(0.85);
    for (let i = 0; i < 20; i++) expect(await pick(`tenant-${i}`)).toBe(first.get(`tenant-${i}`));
  });
});

describe('POST /switchyard/feedback', () => {
  it('takes a score for a recent request id once, and rejects unknown ids, bad bodies and other methods', async () => {
    const r = await send('hi');
    const id = r.headers.get('x-switchyard-request-id')!;
    const fb = await postJson(`${gw.url}/switchyard/feedback`, { request_id: id, score: 1 });
    expect(fb.status).toBe(200);
    expect(fb.json).toMatchObject({ request_id: id, task: 'chat', tier: 'LOW', score: 1, thresholds: [expect.any(Number), 0.7] });
    expect(fb.json.quality.n).toBeCloseTo(1, 5);
    expect((await postJson(`${gw.url}/switchyard/feedback`, { request_id: id, score: 1 })).status).toBe(404);
    expect((await postJson(`${gw.url}/switchyard/feedback`, { request_id: 'nope', score: true })).json.error.code).toBe('not_found');
    expect((await postJson(`${gw.url}/switchyard/feedback`, '{oops')).status).toBe(400);
    expect((await postJson(`${gw.url}/switchyard/feedback`, { request_id: id, score: 7 })).status).toBe(400);
    expect((await fetch(`${gw.url}/switchyard/feedback`)).status).toBe(405);
  });
});
