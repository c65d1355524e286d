/**
 * The Envoy face against what a real Envoy 1.3x with the shipped envoy.yaml
 * would do (the fake Envoy reads envoy/envoy.yaml and enforces Envoy's rules):
 * spoofed routing and identity headers, the processor unreachable or slow,
 * compressed answers, large answers, uploads, decision headers and the
 * byte-preserving model rewrite.
 */
import { createServer } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeEnvoy } from '../fixtures/envoy-proxy.js';
import { envoyYamlFor, extProcOf, hcmOf } from '../fixtures/envoy-model.js';
import { origin, startExtProcHarness, type ExtProcHarness } from '../fixtures/envoy-setup.js';
import { chatCompletion, embeddingList, startRawUpstream, type RawUpstream } from '../fixtures/envoy-raw-upstream.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import type { FakeProvider } from '../fixtures/fake-common.js';

let raw: RawUpstream;
let local: RawUpstream;
let app: RawUpstream;
let claude: FakeProvider;
const harnesses: ExtProcHarness[] = [];
const envoys: FakeEnvoy[] = [];
const KEY = 'sk-raw-upstream';
const CLAUDE_KEY = 'sk-ant-hardness';

function yaml(extra = ''): string {
  return `
upstreams:
  - name: raw
    kind: openai-compatible
    baseUrl: ${raw.origin}/v1
    apiKeyEnv: RAW_KEY
    embeddings: true
    models:
      - { name: fast, upstreamModel: gpt-4o-mini }
      - { name: embed, upstreamModel: text-embedding-3-small }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
  - name: claude
    kind: anthropic
    baseUrl: ${claude.url}
    apiKeyEnv: CLAUDE_KEY
    models:
      - { name: claude-model }
defaultModel: fast
cache: { enabled: true, store: memory, semantic: { enabled: false } }
${extra}`;
}

const CLUSTERS = () => ({ raw: raw.origin, claude: origin(claude.url), local: local.origin, app: app.origin });

async function harness(extra = '', envoyConfig?: Record<string, unknown>): Promise<ExtProcHarness> {
  const h = await startExtProcHarness(yaml(extra), CLUSTERS(), { env: { RAW_KEY: KEY, CLAUDE_KEY }, ...(envoyConfig ? { envoyConfig } : {}) });
  harnesses.push(h);
  return h;
}

const chatBody = (content: string, extra = '') => `{"model":"switchyard/auto","messages":[{"role":"user","content":${JSON.stringify(content)}}]${extra}}`;
const post = (body: string | Buffer, path = '/v1/chat/completions', headers: Record<string, string> = {}) => ({
  method: 'POST',
  path,
  headers: { 'content-type': 'application/json', authorization: 'Bearer key-a', ...headers },
  body,
});

async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  [raw, local, app] = await Promise.all([startRawUpstream(), startRawUpstream(), startRawUpstream()]);
  app.answer(() => ({ body: '{"from":"app"}' }));
  local.answer(() => ({ body: chatCompletion('from the local model', 'local') }));
  claude = await startFakeAnthropic({ apiKey: CLAUDE_KEY });
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
  for (const e of envoys.splice(0)) e.close();
  for (const u of [raw, local, app]) u.requests.length = 0;
  raw.answer();
  claude.requests.length = 0;
});
afterAll(async () => {
  await Promise.all([raw.close(), local.close(), app.close(), claude.close()]);
});

describe('spoofing: clients cannot pick the cluster or claim an identity', () => {
  it('ignores a client-sent routing header on a non-LLM path (removed before the route is picked)', async () => {
    const h = await harness();
    const r = await h.envoy.request({ method: 'GET', path: '/app/hello', headers: { 'x-switchyard-upstream': 'local', 'x-switchyard-tenant': 'victim' } });
    expect(r.cluster).toBe('app');
    expect(JSON.parse(r.body)).toEqual({ from: 'app' });
    expect(local.requests).toHaveLength(0);
    expect(app.requests[0]!.headers['x-switchyard-upstream']).toBeUndefined();
    expect(app.requests[0]!.headers['x-switchyard-tenant']).toBeUndefined();
  });

  it('drops a spoofed routing header itself when the early header mutation is missing from envoy.yaml', async () => {
    const cfg = envoyYamlFor(Object.keys(CLUSTERS()), (c) => delete hcmOf(c).early_header_mutation_extensions);
    const h = await harness('', cfg);
    const r = await h.envoy.request({ method: 'GET', path: '/app/hello', headers: { 'x-switchyard-upstream': 'local' } });
    expect(r.cluster).toBe('app');
    const answer = r.received[0]!.request_headers!.response!;
    expect(answer.header_mutation?.remove_headers).toEqual(['x-switchyard-upstream']);
    expect(answer.clear_route_cache).toBe(true);
    expect(local.requests).toHaveLength(0);
    // An LLM path: the header is dropped at once (a later timeout must not keep the client's choice) and replaced by the route.
    const llm = await h.envoy.request(post(chatBody('spoof'), '/v1/chat/completions', { 'x-switchyard-upstream': 'local' }));
    expect(llm.cluster).toBe('raw');
    expect(llm.received[0]!.request_headers!.response!.header_mutation?.remove_headers).toEqual(['x-switchyard-upstream']);
  });

  it('routes an LLM request where Switchyard decides, whatever routing or identity header the client sent', async () => {
    const h = await harness();
    const r = await h.envoy.request(post(chatBody('who routes?'), '/v1/chat/completions', { 'x-switchyard-upstream': 'local', 'x-switchyard-tenant': 'victim', 'x-switchyard-proxy-secret': 'guess' }));
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('raw');
    expect(local.requests).toHaveLength(0);
    // The processor never saw the identity headers; the upstream saw no x-switchyard-* at all.
    const seen = r.sent[0]!.request_headers!.headers!.headers!.map((x) => x.key);
    expect(seen).not.toContain('x-switchyard-tenant');
    expect(seen).not.toContain('x-switchyard-proxy-secret');
    expect(Object.keys(raw.requests[0]!.headers).filter((k) => k.startsWith('x-switchyard-'))).toEqual([]);
    expect(r.rejectedMutations).toEqual([]);
  });

  it('sends the request where the README says when the processor is unreachable (failure_mode_allow)', async () => {
    const envoy = new FakeEnvoy({ port: await deadPort(), clusters: CLUSTERS() });
    envoys.push(envoy);
    const openai = await envoy.request(post(chatBody('anyone?'), '/v1/chat/completions', { 'x-switchyard-upstream': 'raw' }));
    expect(openai.extProc).toBe('failed-open');
    expect(openai.status).toBe(200);
    expect(openai.cluster).toBe('local');
    expect(JSON.parse(openai.body).choices[0].message.content).toBe('from the local model');
    expect(raw.requests).toHaveLength(0);
    const anthropic = await envoy.request(post('{"model":"claude-model","max_tokens":5,"messages":[]}', '/v1/messages', { 'x-switchyard-upstream': 'claude' }));
    expect(anthropic.status).toBe(503);
    expect(JSON.parse(anthropic.body)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(claude.requests).toHaveLength(0);
    const other = await envoy.request({ method: 'GET', path: '/app/hello', headers: { 'x-switchyard-upstream': 'raw' } });
    expect(other.cluster).toBe('app');
  });

  it('answers 500 when the processor is unreachable and failure_mode_allow is off', async () => {
    const cfg = envoyYamlFor(Object.keys(CLUSTERS()), (c) => (extProcOf(c).failure_mode_allow = false));
    const envoy = new FakeEnvoy({ port: await deadPort(), clusters: CLUSTERS(), config: cfg });
    envoys.push(envoy);
    const r = await envoy.request(post(chatBody('anyone?')));
    expect(r.status).toBe(500);
    expect(local.requests).toHaveLength(0);
  });

  it('proceeds without Switchyard when a decision outlasts message_timeout (Envoy default 200 ms)', async () => {
    const slowEmbedder = await startFakeOpenAI({ behavior: { kind: 'hang' } });
    try {
      const cfg = envoyYamlFor(Object.keys(CLUSTERS()), (c) => delete extProcOf(c).message_timeout);
      const slow = await startExtProcHarness(
        yaml().replace(
          'cache: { enabled: true, store: memory, semantic: { enabled: false } }',
          `cache:\n  enabled: true\n  store: memory\n  semantic:\n    enabled: true\n    embedding: { kind: openai-compatible, baseUrl: ${slowEmbedder.url}, model: emb, dim: 8 }`,
        ),
        CLUSTERS(),
        { env: { RAW_KEY: KEY, CLAUDE_KEY }, envoyConfig: cfg },
      );
      harnesses.push(slow);
      const r = await slow.envoy.request(post(chatBody('slow decision'), '/v1/chat/completions', { 'x-switchyard-upstream': 'raw' }));
      expect(r.extProc).toBe('timed-out-open');
      expect(r.status).toBe(200);
      expect(r.cluster).toBe('local');
      expect(raw.requests).toHaveLength(0);
    } finally {
      await slowEmbedder.close();
    }
  });
});

describe('compression: answers are asked for uncompressed, and compressed ones are read', () => {
  const cases: [string, (b: Buffer) => Buffer][] = [
    ['gzip', (b) => gzipSync(b)],
    ['br', (b) => brotliCompressSync(b)],
    ['deflate', (b) => deflateSync(b)],
  ];
  it.each(cases)('reads and caches a %s answer', async (enc, compress) => {
    const h = await harness();
    raw.answer(() => ({ headers: { 'content-encoding': enc }, body: compress(Buffer.from(chatCompletion(`packed with ${enc}`))) }));
    const first = await h.envoy.request(post(chatBody(`compressed ${enc}`)));
    expect(first.status).toBe(200);
    expect(raw.requests[0]!.headers['accept-encoding']).toBe('identity');
    // The client gets the upstream's bytes untouched (Envoy passes them on).
    expect(first.headers['content-encoding']).toBe(enc);
    await expect.poll(async () => (await h.envoy.request(post(chatBody(`compressed ${enc}`)))).headers['x-switchyard-cache']).toBe('hit-exact');
    const hit = await h.envoy.request(post(chatBody(`compressed ${enc}`)));
    expect(JSON.parse(hit.body).choices[0].message.content).toBe(`packed with ${enc}`);
    expect(h.switchyard.registry.upstream('raw')!.usable()).toBe(true);
  });

  it('records an unreadable 2xx (zstd on this Node, or not JSON) as unreadable: never cached, never a breaker failure', async () => {
    const h = await harness();
    const errors: string[] = [];
    h.switchyard.events.on('decision', (d: { error?: string }) => d.error && errors.push(d.error));
    raw.answer((req) => (req.body.includes('zstd') ? { headers: { 'content-encoding': 'zstd' }, body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]) } : { body: 'this is not json' }));
    for (let i = 0; i < 5; i++) {
      const r = await h.envoy.request(post(chatBody(i % 2 ? 'zstd please' : 'garbage please')));
      expect(r.status).toBe(200);
      expect(r.cluster).toBe('raw');
    }
    // Five healthy 200s did not open the breaker (volumeThreshold 1, 50%).
    expect(h.switchyard.registry.upstream('raw')!.usable()).toBe(true);
    expect(errors.length).toBe(5);
    expect(errors.filter((e) => e.includes('zstd'))).toHaveLength(2);
    expect(errors.every((e) => e.startsWith('unreadable upstream answer'))).toBe(true);
    // A body that cannot be decoded is not even asked for.
    const zstd = await h.envoy.request(post(chatBody('zstd please once more')));
    expect(zstd.received.at(-1)!.mode_override).toMatchObject({ response_body_mode: 'NONE' });
    raw.answer();
    const again = await h.envoy.request(post(chatBody('zstd please')));
    expect(again.headers['x-switchyard-cache']).toBe('miss');
  });

  it('decodes the same way on serve and Express (the core execute path), and an unreadable 2xx does not open the breaker', async () => {
    const h = await harness();
    const sy = h.switchyard;
    const exec = async (content: string) => {
      const out = await sy.decide({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(chatBody(content)) });
      if (out.type !== 'forward') throw new Error(`expected a forward, got ${out.type}`);
      return sy.execute(out);
    };
    raw.answer(() => ({ headers: { 'content-encoding': 'br' }, body: brotliCompressSync(Buffer.from(chatCompletion('br via serve'))) }));
    const ok = await exec('serve br');
    expect(ok).toMatchObject({ kind: 'json', status: 200 });
    expect(JSON.parse((ok as { body: string }).body).choices[0].message.content).toBe('br via serve');
    expect(raw.requests.at(-1)!.headers['accept-encoding']).toBe('identity');
    raw.answer(() => ({ headers: { 'content-encoding': 'zstd' }, body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 9]) }));
    for (let i = 0; i < 3; i++) {
      const bad = await exec(`serve zstd ${i}`);
      expect(bad).toMatchObject({ status: 502 });
      expect((bad as { body: string }).body).toMatch(/unreadable answer/);
    }
    expect(sy.registry.upstream('raw')!.usable()).toBe(true);
  });
});

describe('buffering: per route and size, never a 500 for an upstream success', () => {
  it('passes a 10 MB embeddings answer through without asking for its body', async () => {
    const h = await harness();
    const big = embeddingList(10 * 1024 * 1024);
    raw.answer(() => ({ body: big }));
    const r = await h.envoy.request(post('{"model":"embed","input":"x"}', '/v1/embeddings'));
    expect(r.status).toBe(200);
    expect(r.rawBody.length).toBe(Buffer.byteLength(big));
    expect(r.received.at(-1)!.mode_override).toMatchObject({ response_body_mode: 'NONE' });
    expect(r.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers', 'request_body', 'response_headers']);
    expect(h.switchyard.registry.upstream('raw')!.usable()).toBe(true);
  });

  it('buffers a JSON answer of known length up to envoy.bufferedResponseMaxBytes, and no larger', async () => {
    const h = await harness('envoy: { listenerBufferLimitBytes: 8388608, bufferedResponseMaxBytes: 65536 }');
    const r = await h.envoy.request(post(chatBody('small')));
    expect(r.received.at(-2)!.mode_override).toMatchObject({ response_body_mode: 'BUFFERED' });
    const huge = chatCompletion('y'.repeat(9 * 1024 * 1024));
    raw.answer(() => ({ body: huge }));
    const big = await h.envoy.request(post(chatBody('large')));
    expect(big.status).toBe(200);
    expect(big.rawBody.length).toBe(Buffer.byteLength(huge));
    expect(big.received.at(-1)!.mode_override).toMatchObject({ response_body_mode: 'NONE' });
  });

  it('observes an answer of unknown length STREAMED, so Envoy holds nothing, and caches it when it fits', async () => {
    const h = await harness();
    raw.answer(() => ({ body: chatCompletion('chunked answer'), chunkSize: 64 }));
    const r = await h.envoy.request(post(chatBody('unknown length')));
    expect(r.status).toBe(200);
    expect(r.received[2]!.mode_override).toMatchObject({ response_body_mode: 'STREAMED' });
    await expect.poll(async () => (await h.envoy.request(post(chatBody('unknown length')))).headers['x-switchyard-cache']).toBe('hit-exact');
    // Larger than Envoy's listener limit and of unknown length: still a 200, streamed past.
    const huge = chatCompletion('z'.repeat(9 * 1024 * 1024));
    raw.answer(() => ({ body: huge, chunkSize: 1 << 20 }));
    const big = await h.envoy.request(post(chatBody('huge unknown length')));
    expect(big.status).toBe(200);
    expect(big.rawBody.length).toBe(Buffer.byteLength(huge));
  });

  it('does not ask for the response body when there is nothing to learn from it', async () => {
    const h = await startExtProcHarness(yaml().replace('cache: { enabled: true, store: memory, semantic: { enabled: false } }', 'cache: { enabled: false }'), CLUSTERS(), {
      env: { RAW_KEY: KEY, CLAUDE_KEY },
    });
    harnesses.push(h);
    const r = await h.envoy.request(post(chatBody('nothing to learn')));
    expect(r.status).toBe(200);
    expect(r.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers', 'request_body', 'response_headers']);
    expect(r.received.at(-1)!.mode_override).toMatchObject({ response_body_mode: 'NONE' });
  });

  it('never buffers uploads or other paths: a 9 MB upload passes, the processor sees its headers only', async () => {
    const h = await harness();
    const upload = Buffer.alloc(9 * 1024 * 1024, 7);
    const r = await h.envoy.request({ method: 'POST', path: '/app/upload', headers: { 'content-type': 'application/octet-stream' }, body: upload });
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('app');
    expect(app.requests[0]!.body.length).toBe(upload.length);
    expect(r.sent.map((m) => Object.keys(m)[0])).toEqual(['request_headers']);
  });

  it('answers an oversized LLM request with a 413 in the API format before Envoy buffers it', async () => {
    const h = await harness();
    const body = chatBody('x'.repeat(5 * 1024 * 1024));
    const r = await h.envoy.request(post(body));
    expect(r.immediate).toBe(true);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe('body_too_large');
    const a = await h.envoy.request(post(`{"model":"claude-model","max_tokens":5,"messages":[{"role":"user","content":"${'x'.repeat(5 * 1024 * 1024)}"}]}`, '/v1/messages'));
    expect(a.status).toBe(413);
    expect(JSON.parse(a.body)).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    // Without a content-length, Envoy's own limit (the listener's) applies.
    const chunked = await h.envoy.request(post(chatBody('x'.repeat(9 * 1024 * 1024))), { chunked: true });
    expect(chunked.status).toBe(413);
    expect(chunked.local).toBe('request_payload_too_large');
    expect(raw.requests).toHaveLength(0);
  });
});

describe('the request as the upstream gets it', () => {
  it('changes only the model: a 64-bit seed, key order, spacing and escapes arrive byte for byte', async () => {
    const h = await harness();
    const body = `{ "seed": 9223372036854775807,\n  "temperature": 1.0, "model" : "switchyard/auto", "messages":[{"role":"user","content":"caf\\u00e9 \\ud83d\\ude00"}], "n": 1e0 }`;
    const r = await h.envoy.request(post(body));
    expect(r.status).toBe(200);
    const expected = body.replace('"model" : "switchyard/auto"', '"model" : "gpt-4o-mini"');
    expect(raw.requests[0]!.body.toString('utf8')).toBe(expected);
    expect(raw.requests[0]!.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
    // serve and Express (the core's execute) send the same bytes.
    const out = await h.switchyard.decide({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(body) });
    if (out.type !== 'forward') throw new Error('expected a forward');
    await h.switchyard.execute(out);
    expect(raw.requests[1]!.body.toString('utf8')).toBe(expected);
  });

  it('keeps decision headers for the client and the client credential away from the provider', async () => {
    const h = await harness();
    const r = await h.envoy.request(post('{"model":"claude-model","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}', '/v1/messages', { authorization: 'Bearer key-a', 'x-api-key': 'key-a' }));
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('claude');
    expect(r.headers['x-switchyard-upstream']).toBe('claude');
    expect(r.headers['x-switchyard-request-id']).toBeDefined();
    const seen = claude.requests[0]!.headers;
    expect(seen['x-api-key']).toBe(CLAUDE_KEY);
    expect(seen.authorization).toBeUndefined();
    expect(Object.keys(seen).filter((k) => k.startsWith('x-switchyard-'))).toEqual([]);
    expect(r.rejectedMutations).toEqual([]);
  });
});
