/**
 * Readiness and health through `switchyard serve`: /livez, /readyz (503 with
 * reasons), /healthz detail per deployment, local upstreams probed, and the
 * first `switchyard/auto` request after start with the embedded defaults.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, quietLogger, startGateway } from '../helpers/gateway.js';

let gw: RunningServer | undefined;
let fake: FakeProvider | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await fake?.close();
  fake = undefined;
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function envWithout(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  return env;
}

const getJson = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, json: (await r.json()) as Record<string, any> };
};

describe('embedded defaults, no keys, no sidecar', () => {
  it('answers the first switchyard/auto request with a 503 naming what to set and start, never a 502', async () => {
    const env = envWithout({ SWITCHYARD_LOCAL_URL: `http://127.0.0.1:${await closedPort()}/v1` });
    gw = await startServer({ config: defaultConfig(env), port: 0, host: '127.0.0.1', env, logger: quietLogger });
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain('OPENAI_API_KEY');
    expect(r.json.error.message).toContain('npx switchyard sidecar');
    expect(r.json.error.message).not.toContain('502');

    expect((await getJson(`${gw.url}/livez`)).status).toBe(200);
    const ready = await getJson(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json.status).toBe('unavailable');
    const up = ready.json.checks.find((c: { name: string }) => c.name === 'upstreams');
    expect(up.ok).toBe(false);
    expect(up.reason).toContain('ANTHROPIC_API_KEY');
    expect(up.reason).toContain('is not running');
    const health = await getJson(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json.status).toBe('unavailable');
    const local = health.json.upstreams.find((u: { name: string }) => u.name === 'local');
    expect(local.reason).toContain('connection refused');
    expect(local.deployments[0]).toMatchObject({ model: 'local-llama', usable: false });
  });

  it('a local sidecar that answers its probe is ready, and taken by switchyard/auto', async () => {
    fake = await startFakeOpenAI({ models: ['local-llama'] });
    const env = envWithout({ SWITCHYARD_LOCAL_URL: fake.url });
    gw = await startServer({ config: defaultConfig(env), port: 0, host: '127.0.0.1', env, logger: quietLogger });
    // The fake has no /health: the probe falls back to /v1/models.
    expect(fake.requests.map((r) => r.path)).toEqual(['/health', '/v1/models']);
    expect((await getJson(`${gw.url}/readyz`)).json).toEqual({ status: 'ready', checks: [{ name: 'upstreams', ok: true }] });
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    // Partly usable (the clouds have no keys, which is not degradation): ok.
    expect((await getJson(`${gw.url}/healthz`)).json.status).toBe('ok');
  });
});

describe('local probes', () => {
  it('switchyard/auto skips a local sidecar that is not running, and says why', async () => {
    fake = await startFakeOpenAI();
    const port = await closedPort();
    gw = await startGateway(`
upstreams:
  - name: local
    kind: openai-compatible
    baseUrl: http://127.0.0.1:${port}/v1
    local: true
    models: [{ name: local-llama }]
  - name: cloud
    kind: openai-compatible
    baseUrl: ${fake.url}
    models: [{ name: gpt-4o-mini }]
tiers:
  - { name: local, models: [local-llama] }
  - { name: small, models: [gpt-4o-mini] }
routing:
  ladder: [local, small]
  thresholds: [0.99]
  agenticTier: small
`);
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('cloud');
    expect(r.headers.get('x-switchyard-route')).toContain('is not running');
  });

  it('a sidecar that starts later becomes ready by itself (the probe keeps running)', async () => {
    const port = await closedPort();
    gw = await startGateway(`
upstreams:
  - name: side
    kind: openai-compatible
    baseUrl: http://127.0.0.1:${port}/v1
    local: true
    probeIntervalMs: 100
    models: [{ name: local-llama }]
`);
    expect((await getJson(`${gw.url}/readyz`)).status).toBe(503);
    const late = createHttpServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('{}'));
    await new Promise<void>((r) => late.listen(port, '127.0.0.1', r));
    try {
      for (let i = 0; i < 600 && (await getJson(`${gw.url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
      expect((await getJson(`${gw.url}/readyz`)).status).toBe(200);
    } finally {
      late.closeAllConnections();
      await new Promise((r) => late.close(r));
    }
  });
});

describe('breakers and readiness', () => {
  it('reports every deployment, says degraded while one breaker is open and unavailable (503 on /readyz) when all are', async () => {
    fake = await startFakeOpenAI();
    fake.setBehavior({ kind: 'by-model', models: { 'gpt-4o': { kind: 'status', status: 503 } }, otherwise: { kind: 'ok' } });
    gw = await startGateway(`
upstreams:
  - name: openai
    kind: openai-compatible
    baseUrl: ${fake.url}
    models: [{ name: gpt-4o }, { name: gpt-4o-mini }]
    retry: { max: 0 }
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
`);
    for (let i = 0; i < 2; i++) await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: `q${i}` }] });
    let health = await getJson(`${gw.url}/healthz`);
    expect(health.json.status).toBe('degraded');
    expect(health.json.upstreams[0].breaker).toBe('closed');
    expect(health.json.upstreams[0].deployments).toMatchObject([
      { model: 'gpt-4o', usable: false, breaker: 'open' },
      { model: 'gpt-4o-mini', usable: true, breaker: 'closed' },
    ]);
    // The other model of the same upstream is untouched by the 503s.
    const mini = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(mini.status).toBe(200);
    expect((await getJson(`${gw.url}/readyz`)).status).toBe(200);
    const stats = (await getJson(`${gw.url}/switchyard/stats`)).json;
    expect(stats.deployments).toMatchObject([
      { upstream: 'openai', model: 'gpt-4o', state: 'open', usable: false },
      { upstream: 'openai', model: 'gpt-4o-mini', state: 'closed', usable: true },
    ]);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('switchyard_deployment_breaker_state{upstream="openai",model="gpt-4o"} 2');
    expect(metrics).toContain('switchyard_deployment_breaker_state{upstream="openai",model="gpt-4o-mini"} 0');

    fake.setBehavior({ kind: 'status', status: 503 });
    for (let i = 0; i < 2; i++) await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `m${i}` }] });
    health = await getJson(`${gw.url}/healthz`);
    expect(health.json.status).toBe('unavailable');
    const ready = await getJson(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json.checks[0].reason).toContain('breaker open');
  });

  it('a connection-level failure marks every deployment of the upstream', async () => {
    const port = await closedPort();
    gw = await startGateway(`
upstreams:
  - name: gone
    kind: openai-compatible
    baseUrl: http://127.0.0.1:${port}/v1
    models: [{ name: m1 }, { name: m2 }]
    retry: { max: 0 }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60000 }
`);
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm1', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(502);
    const health = await getJson(`${gw.url}/healthz`);
    expect(health.json.upstreams[0].breaker).toBe('open');
    expect(health.json.upstreams[0].deployments.map((d: { usable: boolean }) => d.usable)).toEqual([false, false]);
    const r2 = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm2', messages: [{ role: 'user', content: 'hi' }] });
    expect(r2.status).toBe(503);
    expect(r2.json.error.message).toContain('connection breaker open');
  });
});

describe('the readiness list', () => {
  it('takes more named checks (e.g. a shared store) and reports each', async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway(`
upstreams:
  - name: openai
    kind: openai-compatible
    baseUrl: ${fake.url}
    models: [{ name: gpt-4o }]
`);
    gw.switchyard.readiness.add({ name: 'redis', check: () => ({ ok: false, reason: 'Redis does not answer within 50ms' }) });
    const ready = await getJson(`${gw.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json.checks).toEqual([
      { name: 'upstreams', ok: true },
      { name: 'redis', ok: false, reason: 'Redis does not answer within 50ms' },
    ]);
  });
});
