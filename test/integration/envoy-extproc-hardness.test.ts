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
