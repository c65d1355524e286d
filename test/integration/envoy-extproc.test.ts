/**
 * The ext_proc face driven by a real gRPC client playing Envoy: the real
 * message sequence, real upstream answers from the fake providers fed back
 * as response headers and body chunks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import type { FakeProvider } from '../fixtures/fake-common.js';
import { mutationRecord } from '../fixtures/envoy-client.js';
import { origin, startExtProcHarness, type ExtProcHarness } from '../fixtures/envoy-setup.js';
import { startFakeServer } from '../fixtures/fake-common.js';

let primary: FakeProvider;
let backup: FakeProvider;
let claude: FakeProvider;
let app: FakeProvider;
const harnesses: ExtProcHarness[] = [];

const KEY = 'sk-primary-test';
const CLAUDE_KEY = 'sk-ant-test';

function yaml(extra = ''): string {
  return `
upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${primary.url}
    apiKeyEnv: PRIMARY_KEY
    models:
      - { name: fast, upstreamModel: gpt-4o-mini }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
  - name: backup
    kind: openai-compatible
    baseUrl: ${backup.url}
    models:
      - { name: backup-model }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
  - name: claude
    kind: anthropic
    baseUrl: ${claude.url}
    apiKeyEnv: CLAUDE_KEY
    models:
      - { name: claude-model }
fallbacks:
  fast: [claude-model, backup-model]
defaultModel: fast
cache: { enabled: true, store: memory, semantic: { enabled: false } }
${extra}`;
}

async function harness(extra = ''): Promise<ExtProcHarness> {
  const h = await startExtProcHarness(
    yaml(extra),
    { primary: origin(primary.url), backup: origin(backup.url), claude: origin(claude.url), app: origin(app.url) },
    { env: { PRIMARY_KEY: KEY, CLAUDE_KEY } },
  );
  harnesses.push(h);
  return h;
}

function chat(content: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'switchyard/auto', messages: [{ role: 'user', content }], ...extra });
}

const post = (body: string, path = '/v1/chat/completions', headers: Record<string, string> = {}) => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json', ...headers },
  body,
});

beforeAll(async () => {
  primary = await startFakeOpenAI({ apiKey: KEY });
  backup = await startFakeOpenAI();
  claude = await startFakeAnthropic({ apiKey: CLAUDE_KEY });
  app = await startFakeServer(
    {
      requestIdHeader: 'x-request-id',
      routes: { 'GET /app/hello': () => ({ type: 'json', body: { from: 'app' } }) },
      errorBody: (_s, message) => ({ message }),
      contextLengthBody: () => ({}),
      contentPolicyBody: () => ({}),
      rateLimitBody: () => ({}),
      notFoundBody: () => ({ error: 'not found' }),
    },
    {},
  );
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
  for (const f of [primary, backup, claude]) {
    f.setBehavior({ kind: 'ok' });
    f.requests.length = 0;
  }
});
afterAll(async () => {
  await Promise.all([primary, backup, claude, app].map((f) => f.close()));
});

describe('ext_proc: requests that are not LLM routes', () => {
  it('passes a non-LLM path untouched and skips the rest of the exchange', async () => {
    const h = await harness();
    const r = await h.envoy.request({ method: 'GET', path: '/app/hello', headers: { accept: 'application/json' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ from: 'app' });
    expect(r.cluster).toBe('app');
    expect(r.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers']);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.request_headers?.response).toEqual({});
    expect(r.received[0]!.mode_override).toMatchObject({ response_header_mode: 'SKIP', request_body_mode: 'NONE', response_body_mode: 'NONE' });
    expect(h.extProc.activeStreams).toBe(0);
  });
});

describe('ext_proc: routing', () => {
  it('routes switchyard/auto with a routing header, a body mutation for the model and the upstream key', async () => {
    const h = await harness();
    const body = chat('route me');
    const r = await h.envoy.request(post(body));
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('primary');
    expect(JSON.parse(r.body).choices[0].message.content).toBe('echo: route me');

    // request_headers: continue, ask for the buffered body and the response headers.
    expect(r.received[0]!.mode_override).toMatchObject({ request_body_mode: 'BUFFERED', response_header_mode: 'SEND' });
    // request_body: routing header, route cache cleared, model rewritten, content-length fixed, key set.
    const rb = r.received[1]!.request_body!.response!;
    expect(rb.clear_route_cache).toBe(true);
    const set = mutationRecord(rb.header_mutation?.set_headers);
    expect(set['x-switchyard-upstream']).toBe('primary');
    expect(set['authorization']).toBe(`Bearer ${KEY}`);
    expect(set['accept-encoding']).toBe('identity');
    // Decision headers go to the client only; the routing header is removed by the virtual host.
    expect(Object.keys(set).filter((k) => k.startsWith('x-switchyard-'))).toEqual(['x-switchyard-upstream']);
    expect(Object.keys(r.upstream!.headers).filter((k) => k.startsWith('x-switchyard-'))).toEqual([]);
    expect(r.headers['x-switchyard-model']).toBe('fast');
    const rewritten = Buffer.from(rb.body_mutation!.body!).toString('utf8');
    // Only the model changed, byte for byte.
    expect(rewritten).toBe(body.replace('"model":"switchyard/auto"', '"model":"gpt-4o-mini"'));
    expect(set['content-length']).toBe(String(Buffer.byteLength(rewritten)));
    expect(primary.requests[0]!.body).toMatchObject({ model: 'gpt-4o-mini' });
    expect(primary.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);

    // response_headers: decision headers for the client, the JSON body asked for BUFFERED.
    expect(r.received[2]!.mode_override).toMatchObject({ response_body_mode: 'BUFFERED' });
    expect(r.headers['x-switchyard-upstream']).toBe('primary');
    expect(r.headers['x-switchyard-cache']).toMatch(/^(miss|off)$/);
    expect(r.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers', 'request_body', 'response_headers', 'response_body']);
    expect(h.extProc.activeStreams).toBe(0);
  });

  it('leaves the body alone when the model name does not change', async () => {
    const h = await harness();
    const body = JSON.stringify({ model: 'backup-model', messages: [{ role: 'user', content: 'same' }] });
    const r = await h.envoy.request(post(body));
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('backup');
    const rb = r.received[1]!.request_body!.response!;
    expect(rb.body_mutation).toBeUndefined();
    expect(backup.requests[0]!.rawBody).toBe(body);
  });

  it('keeps to upstreams of the client protocol: an Anthropic client goes to the Anthropic upstream', async () => {
    const h = await harness();
    const body = JSON.stringify({ model: 'claude-model', max_tokens: 64, messages: [{ role: 'user', content: 'hola' }] });
    const r = await h.envoy.request(post(body, '/v1/messages'));
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('claude');
    expect(JSON.parse(r.body).content[0].text).toBe('echo: hola');
    // Switchyard sets the Anthropic key and version from its own config; Envoy holds no secrets.
    const set = mutationRecord(r.received[1]!.request_body!.response!.header_mutation?.set_headers);
    expect(set['x-api-key']).toBe(CLAUDE_KEY);
    expect(set['anthropic-version']).toBeDefined();
    expect(claude.requests[0]!.headers['x-api-key']).toBe(CLAUDE_KEY);
  });

  it('answers 503 in the client protocol when no usable upstream speaks it', async () => {
    const h = await harness();
    // gpt-style model whose chain has an Anthropic member only after the OpenAI ones; ask an Anthropic client for it.
    const r = await h.envoy.request(post(JSON.stringify({ model: 'backup-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), '/v1/messages'));
    expect(r.immediate).toBe(true);
    expect(r.status).toBe(503);
    const err = JSON.parse(r.body);
    expect(err.type).toBe('error');
    expect(err.error.message).toMatch(/anthropic protocol/);
    expect(backup.requests).toHaveLength(0);
  });
});

describe('ext_proc: learning from responses', () => {
  it('observes a 503 and routes the next request to the fallback', async () => {
    const h = await harness();
    primary.setBehavior([{ kind: 'status', status: 503 }, { kind: 'ok' }]);
    const first = await h.envoy.request(post(chat('one')));
    expect(first.status).toBe(503);
    expect(first.cluster).toBe('primary');
    // An error body (small, known length) is buffered once so a secret it may echo can be redacted; this one has none.
    expect(first.received[2]!.mode_override).toMatchObject({ response_body_mode: 'BUFFERED' });
    expect(first.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers', 'request_body', 'response_headers', 'response_body']);
    expect(first.received[3]!.response_body?.response?.body_mutation).toBeUndefined();

    const second = await h.envoy.request(post(chat('two')));
    expect(second.status).toBe(200);
    // The breaker is open: claude-model is next in the chain but speaks Anthropic; backup-model is the route.
    expect(second.cluster).toBe('backup');
    expect(JSON.parse(second.upstream!.body).model).toBe('backup-model');
    expect(primary.requests).toHaveLength(1);
  });

  it('asks for a streamed body chunk by chunk and passes every chunk through unchanged', async () => {
    const h = await harness();
    primary.setBehavior({ kind: 'ok', chunkDelayMs: 2 });
    const r = await h.envoy.request(post(chat('stream please', { stream: true })));
    expect(r.status).toBe(200);
    expect(r.received[2]!.mode_override).toMatchObject({ response_body_mode: 'STREAMED' });
    expect(r.chunks.length).toBeGreaterThan(1);
    const bodyAnswers = r.received.slice(3);
    expect(bodyAnswers).toHaveLength(r.chunks.length + 1);
    for (const a of bodyAnswers) expect(a.response_body?.response?.body_mutation).toBeUndefined();
    expect(r.body).toContain('data: [DONE]');
    // Envoy cannot drop a usage-only chunk the client did not ask for, so none is asked for.
    expect(primary.requests[0]!.body).not.toHaveProperty('stream_options');
  });
});

/** Sends `req` until Switchyard serves it from the cache (the write after a response may land a moment later). */
async function untilHit(h: ExtProcHarness, req: ReturnType<typeof post>) {
  let last;
  // Up to 15 s: on a busy machine the background write can take a while; a hit ends the wait.
  const end = Date.now() + 15_000;
  do {
    last = await h.envoy.request(req);
    if (last.immediate) return last;
    await new Promise((r) => setTimeout(r, 25));
  } while (Date.now() < end);
  return last;
}

describe('ext_proc: cache', () => {
  it('serves the second identical request as an ImmediateResponse hit', async () => {
    const h = await harness();
    const req = post(chat('cache me'));
    const first = await h.envoy.request(req);
    expect(first.status).toBe(200);
    expect(first.headers['x-switchyard-cache']).toBe('miss');
    const hit = await untilHit(h, req);
    expect(hit.immediate).toBe(true);
    expect(hit.status).toBe(200);
    expect(hit.headers['x-switchyard-cache']).toBe('hit-exact');
    expect(hit.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(hit.body).choices[0].message.content).toBe('echo: cache me');
    expect(hit.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers', 'request_body']);
    expect(primary.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('assembles a streamed answer chunk by chunk, caches it, and replays it as SSE', async () => {
    const h = await harness();
    primary.setBehavior({ kind: 'ok', chunkDelayMs: 2, answer: 'streamed and stored' });
    const req = post(chat('stream to cache', { stream: true }));
    const first = await h.envoy.request(req);
    expect(first.status).toBe(200);
    expect(first.chunks.length).toBeGreaterThan(1);
    const hit = await untilHit(h, req);
    expect(hit.immediate).toBe(true);
    expect(hit.headers['x-switchyard-cache']).toBe('hit-exact');
    expect(hit.headers['content-type']).toMatch(/^text\/event-stream/);
    const text = hit.body
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
      .map((l) => JSON.parse(l.slice(6)).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('streamed and stored');
    expect(hit.body).toContain('data: [DONE]');
  });

  it('does not cache an error answer', async () => {
    const h = await harness();
    backup.setBehavior({ kind: 'status', status: 500 });
    const req = post(JSON.stringify({ model: 'backup-model', messages: [{ role: 'user', content: 'err' }] }));
    expect((await h.envoy.request(req)).status).toBe(500);
    await new Promise((r) => setTimeout(r, 50));
    backup.setBehavior({ kind: 'ok' });
    // backup's breaker opened on the 500 (volumeThreshold 1): the chain has nothing usable left.
    const again = await h.envoy.request(req);
    expect(again.headers['x-switchyard-cache']).not.toBe('hit-exact');
  });
});

describe('ext_proc: bad input and cancellation', () => {
  it('answers a malformed body with an immediate 400 in the protocol error JSON', async () => {
    const h = await harness();
    const r = await h.envoy.request(post('{"model": "fast", "messages": [', '/v1/chat/completions'));
    expect(r.immediate).toBe(true);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('invalid_json');
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const a = await h.envoy.request(post('not json', '/v1/messages'));
    expect(a.status).toBe(400);
    expect(JSON.parse(a.body).type).toBe('error');
    expect(primary.requests).toHaveLength(0);
  });

  it('aborts the observation when the client cancels mid-stream and leaves no state', async () => {
    const h = await harness();
    primary.setBehavior({ kind: 'ok', chunkDelayMs: 5, answer: 'a fairly long answer that arrives in several chunks' });
    const r = await h.envoy.request(post(chat('cancel me', { stream: true })), { cancelAfterChunks: 2 });
    expect(r.cancelled).toBe(true);
    await expect.poll(() => h.extProc.activeStreams).toBe(0);
    expect(h.switchyard.registry.upstream('primary')!.inFlight).toBe(0);
    // The breaker did not count a client that left as an upstream failure.
    expect(h.switchyard.registry.upstream('primary')!.usable()).toBe(true);
    // No cache entry: the same request again goes upstream.
    await new Promise((r) => setTimeout(r, 50));
    primary.setBehavior({ kind: 'ok' });
    const again = await h.envoy.request(post(chat('cancel me', { stream: true })));
    expect(again.immediate).toBe(false);
    expect(again.cluster).toBe('primary');
    expect(again.headers['x-switchyard-cache']).toBe('miss');
  });
});

describe('ext_proc: health', () => {
  it('reports SERVING for the server and the ext_proc service', async () => {
    const h = await harness();
    expect(await h.envoy.client.health('')).toBe('SERVING');
    expect(await h.envoy.client.health('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
  });
});
