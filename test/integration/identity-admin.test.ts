/**
 * Management and observability endpoints, and routing feedback, as a
 * hostile caller meets them through serve and the Express face: purge,
 * stats, events, dashboard and metrics through a local reverse proxy that
 * adds X-Forwarded-For (refused without the admin token, as behind the
 * shipped nginx); the token compared exactly; metrics public only when
 * configured; feedback replayed with another tenant's request ids; feedback
 * rate limited per tenant; no cross-tenant learning.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/adapters/envoy/metrics-http.js';
import { credentialTenant } from '../../src/identity/tenant-name.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, startFace, type RunningFace } from '../helpers/faces.js';
import { chat, postJson, upstreamYaml } from '../helpers/gateway.js';

const ADMIN = 'admin-token-for-tests-7f3a';
let up: FakeProvider;
let face: RunningFace | undefined;
let proxy: { url: string; close(): Promise<void> } | undefined;

/** A tiny reverse proxy, as nginx would be: forwards everything and adds X-Forwarded-For. */
async function reverseProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    const out = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

beforeAll(async () => {
  up = await startFakeOpenAI();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await face?.close();
  face = undefined;
});
afterAll(async () => {
  await up.close();
});

const base = (extra = '') => `
upstreams:
${upstreamYaml('local', up.url, 'local-llama')}    local: true
${upstreamYaml('cloud', up.url, [{ name: 'mini' }, { name: 'big' }])}
tiers:
  - { name: LOW, models: [local-llama] }
  - { name: MEDIUM, models: [mini] }
  - { name: HIGH, models: [big] }
cache: { semantic: { enabled: false } }
observability: { live: { enabled: true } }
${extra}`;

const learning = (scope: 'tenant' | 'global', perMinute = 60) => `routing:
  agenticTier: null
  learning: { enabled: true, gain: 1, minSamples: 1, guardRail: 0.05, scope: ${scope} }
auth: { feedbackPerMinute: ${perMinute} }
`;

describe.each(FACES)('management endpoints through %s', (name) => {
  it('without a token: direct loopback only; the same purge through a proxy adding X-Forwarded-For is refused', async () => {
    face = await startFace(name, base(), {});
    proxy = await reverseProxy(face.url);
    const acme = { authorization: 'Bearer acme-key' };
    await postJson(`${face.url}/v1/chat/completions`, chat('purge target', { model: 'mini' }), acme);
    // The answer is stored after it is sent: wait for the write.
    for (let i = 0; i < 1500 && face.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const tenant = credentialTenant('key', 'acme-key');
    for (const path of ['/switchyard/cache/stats', '/switchyard/stats', '/switchyard/dashboard', '/metrics']) {
      const r = await fetch(`${proxy.url}${path}`);
      expect(r.status, path).toBe(403);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('permission_denied');
    }
    const viaProxy = await fetch(`${proxy.url}/switchyard/cache?tenant=${tenant}`, { method: 'DELETE' });
    expect(viaProxy.status).toBe(403);
    // A client adding the header itself is treated the same way.
    expect((await fetch(`${face.url}/switchyard/cache/stats`, { headers: { 'x-real-ip': '127.0.0.1' } })).status).toBe(403);
    expect((await postJson(`${face.url}/v1/chat/completions`, chat('purge target', { model: 'mini' }), acme)).headers.get('x-switchyard-cache')).toBe('hit-exact');
    const direct = await fetch(`${face.url}/switchyard/cache?tenant=${tenant}`, { method: 'DELETE' });
    expect(await direct.json()).toMatchObject({ deleted: 1 });
    expect((await fetch(`${face.url}/metrics`)).status).toBe(200);
  });

  it('with a token: every management and observability endpoint needs exactly it, through the proxy too', async () => {
    face = await startFace(name, base(), { SWITCHYARD_ADMIN_TOKEN: ADMIN });
    proxy = await reverseProxy(face.url);
    for (const path of ['/switchyard/cache/stats', '/switchyard/stats', '/switchyard/dashboard', '/metrics']) {
      expect((await fetch(`${face.url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${face.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}x` } })).status, path).toBe(401);
      expect((await fetch(`${proxy.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, path).toBe(200);
    }
    expect((await fetch(`${proxy.url}/switchyard/cache?tenant=t:x`, { method: 'DELETE', headers: { 'x-switchyard-admin-token': ADMIN } })).status).toBe(200);
    const ev = new AbortController();
    const events = await fetch(`${face.url}/switchyard/events`, { signal: ev.signal });
    expect(events.status).toBe(401);
    ev.abort();
  });

  it('serves /metrics without the token only when metrics.public is set', async () => {
    face = await startFace(name, base('').replace('observability: { live: { enabled: true } }', 'observability: { live: { enabled: true }, metrics: { public: true } }'), { SWITCHYARD_ADMIN_TOKEN: ADMIN });
    proxy = await reverseProxy(face.url);
    expect((await fetch(`${proxy.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${proxy.url}/switchyard/stats`)).status).toBe(401);
  });
});

describe('the ext_proc face’s metrics port', () => {
  it('needs the admin token when one is set', async () => {
    const f = await startFace('serve', base(), { SWITCHYARD_ADMIN_TOKEN: ADMIN });
    const m = await startMetricsServer(f.switchyard, 0);
    try {
      expect((await fetch(`http://127.0.0.1:${m.port}/metrics`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${m.port}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    } finally {
      await m.close();
      await f.close();
    }
  });
});

let asked = 0;
/** A fresh simple question (never a cache hit: hits are not rateable). */
async function ask(f: RunningFace, who: string, text = 'hi'): Promise<string> {
  const r = await postJson(`${f.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: `${text} ${++asked}` }] }, { authorization: `Bearer ${who}` });
  expect(r.status).toBe(200);
  return r.headers.get('x-switchyard-request-id')!;
}
const rate = (f: RunningFace, id: string, score: number, headers: Record<string, string>) => postJson(`${f.url}/switchyard/feedback`, { request_id: id, score }, headers);

describe.each(FACES)('routing feedback through %s', (name) => {
  it('is refused for another tenant’s request ids (which stay rateable by their owner), and counts once', async () => {
    face = await startFace(name, base(learning('tenant')), {});
    const ids = await Promise.all([ask(face, 'tenant-a'), ask(face, 'tenant-a', 'hello')]);
    for (const id of ids) {
      const replay = await rate(face, id, 0, { authorization: 'Bearer tenant-b' });
      expect(replay.status).toBe(404);
      expect(replay.json.error.code).toBe('not_found');
      // No credential at all is the anonymous tenant: not the owner either.
      expect((await rate(face, id, 0, {})).status).toBe(404);
    }
    expect((await rate(face, ids[0]!, 1, { authorization: 'Bearer tenant-a' })).status).toBe(200);
    expect((await rate(face, ids[0]!, 1, { authorization: 'Bearer tenant-a' })).status).toBe(404);
  });

  it('moves only the rating tenant’s routing under scope tenant', async () => {
    face = await startFace(name, base(learning('tenant')), {});
    const router = face.switchyard.router;
    const a = credentialTenant('key', 'tenant-a');
    const b = credentialTenant('key', 'tenant-b');
    const before = router.thresholdsFor('chat', b);
    for (let i = 0; i < 20; i++) expect((await rate(face, await ask(face, 'tenant-a'), 1, { authorization: 'Bearer tenant-a' })).status).toBe(200);
    expect(router.thresholdsFor('chat', a)[0]).toBeGreaterThan(before[0]!);
    expect(router.thresholdsFor('chat', b)).toEqual(before);
    expect(router.thresholdsFor('chat')).toEqual(before);
  });

  it('under scope global, refuses tenant feedback (403) and takes the admin’s, for any request', async () => {
    face = await startFace(name, base(learning('global')), { SWITCHYARD_ADMIN_TOKEN: ADMIN });
    const id = await ask(face, 'tenant-b');
    const mine = await rate(face, id, 1, { authorization: 'Bearer tenant-b' });
    expect(mine.status).toBe(403);
    expect(mine.json.error.code).toBe('permission_denied');
    const before = face.switchyard.router.thresholdsFor('chat');
    expect((await rate(face, id, 1, { authorization: `Bearer ${ADMIN}` })).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await rate(face, await ask(face, 'tenant-b'), 1, { 'x-switchyard-admin-token': ADMIN })).status).toBe(200);
    expect(face.switchyard.router.thresholdsFor('chat')[0]).toBeGreaterThan(before[0]!);
  });

  it('is rate limited per tenant', async () => {
    face = await startFace(name, base(learning('tenant', 3)), {});
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await rate(face, `made-up-${i}`, 1, { authorization: 'Bearer flooder' })).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // Another tenant is not affected.
    expect((await rate(face, await ask(face, 'calm'), 1, { authorization: 'Bearer calm' })).status).toBe(200);
  });
});
