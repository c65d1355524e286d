/**
 * In-band stream errors under Envoy (issue 12.7): a **2xx** SSE answer that
 * Envoy relays may carry an `event: error` (Anthropic) or a `data: {"error":…}`
 * (OpenAI) quoting the configured upstream key or a key-shaped string. The
 * processor always asks for a 2xx event stream (STREAMED), redacts those, and
 * catches a key split across chunks by holding back a chunk's incomplete last
 * line. A clean stream whose chunks end on event boundaries gets no mutation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExtProcHarness, type ExtProcHarness } from '../fixtures/envoy-setup.js';
import { startRawUpstream, type RawUpstream } from '../fixtures/envoy-raw-upstream.js';

const OPENAI_KEY = 'zz-live-9a8b7c6d5e4f3021';
const ANTHROPIC_KEY = 'zz-ant-live-31c0ffee8d7a6b5c';
const SHAPED = 'AIzaSyD3adb33fC0ffee00112233445566778'; // key-shaped, not configured, not sk-…

let oa: RawUpstream;
let ant: RawUpstream;
const harnesses: ExtProcHarness[] = [];

const yaml = (cache: boolean) => `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.origin}/v1
    apiKeyEnv: OA_KEY
    models:
      - { name: fast, upstreamModel: gpt-4o-mini }
  - name: ant
    kind: anthropic
    baseUrl: ${ant.origin}
    apiKeyEnv: ANT_KEY
    models:
      - { name: claude-model }
defaultModel: fast
cache: { enabled: ${cache}, store: memory, semantic: { enabled: false } }
`;

async function harness(cache = true): Promise<ExtProcHarness> {
  const h = await startExtProcHarness(yaml(cache), { oa: oa.origin, ant: ant.origin }, { env: { OA_KEY: OPENAI_KEY, ANT_KEY: ANTHROPIC_KEY } });
  harnesses.push(h);
  return h;
}

const openaiStream = (content: string) => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' },
  body: JSON.stringify({ model: 'fast', stream: true, messages: [{ role: 'user', content }] }),
});
const anthropicStream = (content: string) => ({
  method: 'POST',
  path: '/v1/messages',
  headers: { 'content-type': 'application/json', 'x-api-key': 'key-b', 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: 'claude-model', max_tokens: 32, stream: true, messages: [{ role: 'user', content }] }),
});

const SSE = { 'content-type': 'text/event-stream' };
const oaChunk = (text: string) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
const antEvents = (text: string) =>
  [
    `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm1', type: 'message', role: 'assistant', model: 'claude-model', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } })}\n\n`,
    `event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })}\n\n`,
    `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })}\n\n`,
  ].join('');

function expectNoSecret(body: string): void {
  for (const s of [OPENAI_KEY, ANTHROPIC_KEY, SHAPED]) {
    expect(body).not.toContain(s);
    expect(body).not.toContain(s.slice(-12)); // nor the tail of one split across chunks
  }
}

beforeAll(async () => {
  [oa, ant] = await Promise.all([startRawUpstream(), startRawUpstream()]);
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
  for (const u of [oa, ant]) {
    u.requests.length = 0;
    u.answer();
  }
});
afterAll(async () => {
  await Promise.all([oa.close(), ant.close()]);
});

describe('Envoy face: an in-band error inside a 2xx SSE answer', () => {
  for (const chunkSize of [5, 7, 1000]) {
    it(`OpenAI data: {"error"} quoting the key and a key-shaped string is redacted (chunks of ${chunkSize} bytes)`, async () => {
      const h = await harness();
      const body = oaChunk('Hel') + `data: ${JSON.stringify({ error: { message: `stream aborted for key ${OPENAI_KEY}; backend said ${SHAPED}`, type: 'server_error' } })}\n\n`;
      oa.answer(() => ({ status: 200, headers: SSE, body, chunkSize }));
      const r = await h.envoy.request(openaiStream('leak it'));
      expect(oa.requests[0]!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(r.status).toBe(200);
      expectNoSecret(r.body);
      expect(r.body).toContain(oaChunk('Hel')); // the answer text is untouched
      const errLine = r.body.split('\n').find((l) => l.includes('"error"'))!;
      const err = JSON.parse(errLine.slice('data: '.length)) as { error: { message: string } };
      expect(err.error.message).toBe('stream aborted for key [redacted]; backend said [redacted]');
    });

    it(`Anthropic event: error quoting the x-api-key is redacted (chunks of ${chunkSize} bytes)`, async () => {
      const h = await harness(false); // nothing cached: the processor wants no body, yet still streams it to redact
      const body =
        antEvents('Hi') +
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: `internal: bad credential ${ANTHROPIC_KEY} (${SHAPED})` } })}\n\n`;
      ant.answer(() => ({ status: 200, headers: SSE, body, chunkSize }));
      const r = await h.envoy.request(anthropicStream('leak it'));
      expect(ant.requests[0]!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
      expect(r.status).toBe(200);
      expectNoSecret(r.body);
      expect(r.body).toContain(antEvents('Hi'));
      const data = r.body.split('event: error\n')[1]!.split('\n')[0]!;
      const j = JSON.parse(data.slice('data: '.length)) as { error: { type: string; message: string } };
      expect(j.error).toEqual({ type: 'api_error', message: 'internal: bad credential [redacted] ([redacted])' });
    });
  }

  it('an event: error whose data does not say "error" is still an error event (shape redacted)', async () => {
    const h = await harness();
    const body = oaChunk('ok') + `event: error\ndata: {"message":"upstream rejected ${SHAPED}"}\n\n`;
    oa.answer(() => ({ status: 200, headers: SSE, body, chunkSize: 11 }));
    const r = await h.envoy.request(openaiStream('hm'));
    expectNoSecret(r.body);
    expect(r.body).toContain('upstream rejected [redacted]');
  });

  it('the configured key is redacted by exact value even outside an error event; a key shape in answer text is not', async () => {
    const h = await harness();
    const body = oaChunk(`echo ${OPENAI_KEY}`) + oaChunk(`docs say use ${SHAPED}`);
    oa.answer(() => ({ status: 200, headers: SSE, body, chunkSize: 9 }));
    const r = await h.envoy.request(openaiStream('echo'));
    expect(r.body).not.toContain(OPENAI_KEY);
    expect(r.body).toContain('echo [redacted]');
    expect(r.body).toContain(SHAPED); // model output, not an error: left as the model wrote it
  });

  it('a clean stream on event boundaries passes without any body mutation', async () => {
    const h = await harness();
    const body = oaChunk('Hello') + oaChunk(' world') + 'data: [DONE]\n\n';
    oa.answer(() => ({ status: 200, headers: SSE, body, chunkSize: body.length }));
    const r = await h.envoy.request(openaiStream('clean'));
    expect(r.status).toBe(200);
    expect(r.body).toBe(body);
    expect(r.received.filter((m) => m.response_body?.response?.body_mutation !== undefined)).toHaveLength(0);
  });
});
