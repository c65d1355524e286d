/**
 * The response cache through `switchyard serve` and the Express face: exact
 * and semantic hits replayed as JSON or SSE in the client's protocol, and the
 * safety rules (no errors, no truncated streams, no-store/no-cache, tenants,
 * tool-call turns, Redis down).
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { switchyard } from '../../src/adapters/express/index.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, sseEvents, startGateway, upstreamYaml } from '../helpers/gateway.js';
import { credentialTenant } from '../../src/identity/tenant-name.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

let up: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer | undefined;

beforeAll(async () => {
  up = await startFakeOpenAI();
  ant = await startFakeAnthropic();
});
afterAll(async () => {
  await up.close();
  await ant.close();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  up.setBehavior({ kind: 'ok' });
});

async function gateway(cache = '{ semantic: { enabled: true } }') {
  gw = await startGateway(`
upstreams:
${upstreamYaml('primary', up.url, 'primary-model', { retries: 0 })}
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', retries: 0, apiKeyEnv: 'TEST_ANTHROPIC_KEY' })}
cache: ${cache}
`, { ...process.env, TEST_ANTHROPIC_KEY: 'sk-ant-test' });
  return `${gw.url}/v1/chat/completions`;
}

const exactOnly = '{ semantic: { enabled: false } }';

describe.skipIf(SKIP !== undefined)('hits', () => {
  it('serves an identical request from the exact cache, as JSON and as SSE', async () => {
    const url = await gateway(exactOnly);
    const first = await postJson(url, chat('What is the boiling point of water?'));
    expect(first.headers.get('x-switchyard-cache')).toBe('miss');
    const n = up.requests.length;
    const again = await postJson(url, chat('What is the boiling point of water?'));
    expect(again.headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect(again.json.choices[0].message.content).toBe(first.json.choices[0].message.content);
    const streamed = await postJson(url, chat('What is the boiling point of water?', { stream: true }));
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    expect(streamed.headers.get('x-switchyard-cache')).toBe('hit-exact');
    const evs = sseEvents(streamed.text);
    expect(evs.at(-1)!.data).toBe('[DONE]');
    const text = evs.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(first.json.choices[0].message.content);
    expect(up.requests.length).toBe(n);
  });

  it('replays a hit as Anthropic events to an Anthropic client', async () => {
    await gateway(exactOnly);
    const client = new Anthropic({ baseURL: gw!.url, apiKey: 'k', maxRetries: 0 });
    const a = await client.messages.create({ model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: 'Name a prime number.' }] });
    const n = ant.requests.length;
    const final = await client.messages.stream({ model: 'claude-test', max_tokens: 50, messages: [{ role: 'user', content: 'Name a prime number.' }] }).finalMessage();
    expect(final.content).toEqual(a.content);
    expect(ant.requests.length).toBe(n);
  });

  it('serves a paraphrase from the semantic cache and reports the similarity', async () => {
    const url = await gateway();
    await postJson(url, chat('How do I reverse a list in Python?'));
    const n = up.requests.length;
    const r = await postJson(url, chat('How can I reverse a list in Python?'));
    expect(r.headers.get('x-switchyard-cache')).toBe('hit-semantic');
    expect(Number(r.headers.get('x-switchyard-similarity'))).toBeGreaterThan(0.9);
    expect(r.json.choices[0].message.content).toBe('echo: How do I reverse a list in Python?');
    expect(up.requests.length).toBe(n);
    const s = await postJson(url, chat('How can I reverse a list in Python?', { stream: true }));
    expect(s.headers.get('x-switchyard-cache')).toBe('hit-semantic');
    expect(sseEvents(s.text).at(-1)!.data).toBe('[DONE]');
  });

  it('does not serve a different question that merely looks alike', async () => {
    const url = await gateway();
    await postJson(url, chat('What is 2+2?'));
    const r = await postJson(url, chat('What is 2+3?'));
    expect(r.headers.get('x-switchyard-cache')).toBe('miss');
    expect(r.json.choices[0].message.content).toBe('echo: What is 2+3?');
  });

  it('serves hits through the Express face too', async () => {
    const app = express();
    const mw = switchyard({
      config: { upstreams: [{ name: 'primary', kind: 'openai-compatible', baseUrl: up.url, models: [{ name: 'primary-model' }] }], cache: { semantic: { enabled: true } } },
    });
    app.use(mw);
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
      await postJson(base, chat('How do I reverse a list in Python?'));
      const r = await postJson(base, chat('How can I reverse a list in Python?', { stream: true }));
      expect(r.headers.get('x-switchyard-cache')).toBe('hit-semantic');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await mw.close();
    }
  });
});

describe.skipIf(SKIP !== undefined)('safety', () => {
  it('never caches an error', async () => {
    const url = await gateway(exactOnly);
    up.setBehavior([{ kind: 'status', status: 500 }, { kind: 'ok' }]);
    const bad = await postJson(url, chat('error me'));
    expect(bad.status).toBe(502);
    const good = await postJson(url, chat('error me'));
    expect(good.status).toBe(200);
    expect(good.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('never caches a truncated stream', async () => {
    const url = await gateway(exactOnly);
    up.setBehavior([{ kind: 'cut-mid-stream', afterChunks: 1 }, { kind: 'ok' }]);
    await postJson(url, chat('cut me', { stream: true }));
    const n = up.requests.length;
    const r = await postJson(url, chat('cut me'));
    expect(r.headers.get('x-switchyard-cache')).toBe('miss');
    expect(up.requests.length).toBe(n + 1);
  });

  it('stores a complete streamed answer and serves it next time', async () => {
    const url = await gateway(exactOnly);
    await postJson(url, chat('stream then cache', { stream: true }));
    // The write runs after the stream ends: wait for it (the store count), not for a fixed time.
    for (let i = 0; i < 1500 && gw!.switchyard.cache!.stats().stores < 1; i++) await new Promise((res) => setTimeout(res, 10));
    const r = await postJson(url, chat('stream then cache'));
    expect(r.headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect(r.json.choices[0].message.content).toBe('echo: stream then cache');
  });

  it('no-store neither looks up nor stores; no-cache skips the lookup but stores', async () => {
    const url = await gateway(exactOnly);
    const a = await postJson(url, chat('policy q'), { 'cache-control': 'no-store' });
    expect(a.headers.get('x-switchyard-cache')).toBe('bypass');
    const b = await postJson(url, chat('policy q'));
    expect(b.headers.get('x-switchyard-cache')).toBe('miss');
    const c = await postJson(url, chat('policy q'), { 'cache-control': 'no-cache' });
    expect(c.headers.get('x-switchyard-cache')).toBe('bypass');
    const d = await postJson(url, chat('fresh q'), { 'cache-control': 'no-cache' });
    expect(d.headers.get('x-switchyard-cache')).toBe('bypass');
    const e = await postJson(url, chat('fresh q'));
    expect(e.headers.get('x-switchyard-cache')).toBe('hit-exact');
  });

  it("never serves one tenant another tenant's entry", async () => {
    const url = await gateway();
    // A client-sent tenant header is ignored: naming acme does not read acme's entry.
    await postJson(url, chat('What is our internal roadmap?'), { authorization: 'Bearer acme-key', 'x-switchyard-tenant': 'acme' });
    const other = await postJson(url, chat('What is our internal roadmap?'), { authorization: 'Bearer mallory-key', 'x-switchyard-tenant': 'acme' });
    expect(other.headers.get('x-switchyard-cache')).toBe('miss');
    const keyA = await postJson(url, chat('Secret plans?'), { authorization: 'Bearer key-a' });
    expect(keyA.headers.get('x-switchyard-cache')).toBe('miss');
    const keyB = await postJson(url, chat('Secret plans?'), { authorization: 'Bearer key-b' });
    expect(keyB.headers.get('x-switchyard-cache')).toBe('miss');
    const keyA2 = await postJson(url, chat('Secret plans?'), { authorization: 'Bearer key-a' });
    expect(keyA2.headers.get('x-switchyard-cache')).toBe('hit-exact');
  });

  it('does not store a tool-call turn awaiting results', async () => {
    const url = await gateway(exactOnly);
    up.setBehavior({ kind: 'ok', toolCall: { name: 'lookup', arguments: { q: 'x' } } });
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    await postJson(url, chat('use the tool', { tools }));
    up.setBehavior({ kind: 'ok' });
    const r = await postJson(url, chat('use the tool', { tools }));
    expect(r.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('degrades to a miss when Redis is down, and the request still succeeds', async () => {
    const url = await gateway("{ store: redis, redis: { url: 'redis://127.0.0.1:1', commandTimeoutMs: 100 }, semantic: { enabled: false } }");
    const r = await postJson(url, chat('redis is down'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-cache')).toBe('miss');
    expect(gw!.switchyard.cache!.stats().errors).toBeGreaterThan(0);
  });

  it('shares exact entries between two gateways through Redis', async () => {
    const prefix = `switchyard-test-${process.pid}-${Date.now()}:`;
    const cfg = `{ store: redis, redis: { keyPrefix: '${prefix}' }, semantic: { enabled: false } }`;
    const url1 = await gateway(cfg);
    const first = gw!;
    const g2 = await startGateway(`
upstreams:
${upstreamYaml('primary', up.url, 'primary-model', { retries: 0 })}
cache: ${cfg}
`);
    try {
      await postJson(url1, chat('shared across replicas'));
      // The answer is written to the cache after it is sent: wait for the write to land in Redis.
      for (let i = 0; i < 1500 && first.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
      const r = await postJson(`${g2.url}/v1/chat/completions`, chat('shared across replicas'));
      expect(r.headers.get('x-switchyard-cache')).toBe('hit-exact');
      await first.switchyard.cache!.purge({ tenant: 'anonymous' });
    } finally {
      await g2.close();
    }
  });
});

describe.skipIf(SKIP !== undefined)('admin API', () => {
  it('reads cache stats and purges a tenant, loopback only unless a token is set', async () => {
    const url = await gateway(exactOnly);
    const acme = { authorization: 'Bearer acme-key' };
    const globex = { authorization: 'Bearer globex-key' };
    await postJson(url, chat('purge me'), acme);
    await postJson(url, chat('keep me'), globex);
    const stats = await (await fetch(`${gw!.url}/switchyard/cache/stats`)).json();
    expect(stats).toMatchObject({ enabled: true, stores: 2 });
    const del = await fetch(`${gw!.url}/switchyard/cache?tenant=${credentialTenant('key', 'acme-key')}`, { method: 'DELETE' });
    expect(await del.json()).toMatchObject({ deleted: 1 });
    expect((await postJson(url, chat('purge me'), acme)).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await postJson(url, chat('keep me'), globex)).headers.get('x-switchyard-cache')).toBe('hit-exact');
    const bad = await fetch(`${gw!.url}/switchyard/cache`, { method: 'DELETE' });
    expect(bad.status).toBe(400);
    process.env.SWITCHYARD_ADMIN_TOKEN = 'admin-secret';
    try {
      // The token is read when the gateway starts.
      await gw!.close();
      await gateway(exactOnly);
      expect((await fetch(`${gw!.url}/switchyard/cache/stats`)).status).toBe(401);
      expect((await fetch(`${gw!.url}/switchyard/cache/stats`, { headers: { authorization: 'Bearer admin-secret' } })).status).toBe(200);
    } finally {
      delete process.env.SWITCHYARD_ADMIN_TOKEN;
    }
  });
});
