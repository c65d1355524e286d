/** Bad input gets a clear error in the caller's protocol with the right status, and the process stays up. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { chat, postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

let up: FakeProvider;
let gw: RunningServer;
beforeAll(async () => {
  up = await startFakeOpenAI();
  gw = await startGateway(`
server: { bodyLimitBytes: 2048 }
upstreams:
${upstreamYaml('primary', up.url, 'primary-model')}
`);
});
afterAll(async () => {
  await gw.close();
  await up.close();
});

const chatUrl = () => `${gw.url}/v1/chat/completions`;
const msgUrl = () => `${gw.url}/v1/messages`;

describe('OpenAI routes', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    const r = await postJson(chatUrl(), '{"model": "primary-model", "messages": [');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('missing and empty messages → 400 naming the param', async () => {
    const missing = await postJson(chatUrl(), { model: 'primary-model' });
    expect(missing.status).toBe(400);
    expect(missing.json.error.param).toBe('messages');
    const empty = await postJson(chatUrl(), { model: 'primary-model', messages: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.error.param).toBe('messages');
  });

  it('unknown model → 404 model_not_found', async () => {
    const r = await postJson(chatUrl(), chat('x', { model: 'gpt-99' }));
    expect(r.status).toBe(404);
    expect(r.json.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(r.json.error.message).toContain('gpt-99');
  });

  it('wrong content type → 415', async () => {
    const r = await fetch(chatUrl(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(chat('x')) });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('body over the limit → 413, whether declared or streamed', async () => {
    const big = chat('y'.repeat(4096));
    const r = await postJson(chatUrl(), big);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('body_too_large');
    const chunked = await fetch(chatUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(JSON.stringify(big)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('GET on a POST route → 405', async () => {
    const r = await fetch(chatUrl());
    expect(r.status).toBe(405);
  });

  it('never reaches the upstream, and the process stays up for good requests', async () => {
    const before = up.requests.length;
    await postJson(chatUrl(), 'nope');
    await postJson(chatUrl(), { model: 'primary-model', messages: [{ role: 'wizard', content: 'x' }] });
    expect(up.requests.length).toBe(before);
    const ok = await postJson(chatUrl(), chat('still alive'));
    expect(ok.status).toBe(200);
  });
});

describe('Anthropic route', () => {
  it('errors come in Anthropic format', async () => {
    const bad = await postJson(msgUrl(), '{oops');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const noMax = await postJson(msgUrl(), { model: 'primary-model', messages: [{ role: 'user', content: 'x' }] });
    expect(noMax.status).toBe(400);
    expect(noMax.json.error.message).toContain('max_tokens');
  });
});

describe('other paths', () => {
  it('unknown paths get a 404 JSON, not a crash', async () => {
    const r = await fetch(`${gw.url}/nope`);
    expect(r.status).toBe(404);
  });
  it('health lists upstreams', async () => {
    const r = await fetch(`${gw.url}/healthz`);
    expect(((await r.json()) as { upstreams: unknown[] }).upstreams[0]).toMatchObject({ name: 'primary', available: true, breaker: 'closed' });
  });
});
