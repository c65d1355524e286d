/**
 * Secrets never reach a client through the Envoy face: Envoy relays an
 * upstream's own non-2xx answer, and a broken provider echoes the configured
 * key in it (`Incorrect API key provided: zz-live-…`, a key no `sk-` pattern
 * catches). The processor asks for such a body (BUFFERED when its length is
 * known and bufferable) and answers with a redacted copy, or replaces one it
 * cannot buffer with a clean error in the caller's protocol.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExtProcHarness, type ExtProcHarness } from '../fixtures/envoy-setup.js';
import { startRawUpstream, type RawUpstream } from '../fixtures/envoy-raw-upstream.js';

const OPENAI_KEY = 'zz-live-4f9c1e7a2b8d6053';
const ANTHROPIC_KEY = 'zz-ant-live-77e1c0d9a4b3f218';

let oa: RawUpstream;
let ant: RawUpstream;
const harnesses: ExtProcHarness[] = [];

const yaml = (extra = '') => `
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
cache: { enabled: true, store: memory, semantic: { enabled: false } }
${extra}`;

async function harness(extra = ''): Promise<ExtProcHarness> {
  const h = await startExtProcHarness(yaml(extra), { oa: oa.origin, ant: ant.origin }, { env: { OA_KEY: OPENAI_KEY, ANT_KEY: ANTHROPIC_KEY } });
  harnesses.push(h);
  return h;
}

const openaiChat = (content: string) => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' },
  body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content }] }),
});
const anthropicMessage = (content: string) => ({
  method: 'POST',
  path: '/v1/messages',
  headers: { 'content-type': 'application/json', 'x-api-key': 'key-b', 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({ model: 'claude-model', max_tokens: 32, messages: [{ role: 'user', content }] }),
});

/** What the client saw holds neither key, and its content-length (if any) is the body's. */
function expectClean(r: { headers: Record<string, string>; body: string; rawBody: Buffer }): void {
  expect(r.body).not.toContain(OPENAI_KEY);
  expect(r.body).not.toContain(ANTHROPIC_KEY);
  expect(r.body).not.toContain('4f9c1e7a2b8d6053');
  expect(JSON.stringify(r.headers)).not.toContain(OPENAI_KEY);
  if (r.headers['content-length'] !== undefined) expect(Number(r.headers['content-length'])).toBe(r.rawBody.length);
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

describe('Envoy face: an upstream error echoing the configured key', () => {
  it('OpenAI: a 401 JSON body quoting the key reaches the client redacted, still JSON, with its status', async () => {
    const h = await harness();
    oa.answer((req) => {
      const auth = String(req.headers.authorization ?? '');
      const msg = `Incorrect API key provided: ${auth.replace(/^Bearer\s+/, '')}. You can find your API key at https://platform.example/account.`;
      return { status: 401, body: JSON.stringify({ error: { message: msg, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }) };
    });
    const r = await h.envoy.request(openaiChat('leak it'));
    expect(oa.requests).toHaveLength(1);
    expect(oa.requests[0]!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`); // the upstream did get (and echo) the key
    expect(r.immediate).toBe(false);
    expect(r.status).toBe(401);
    expectClean(r);
    const j = JSON.parse(r.body) as { error: { message: string; code: string } };
    expect(j.error.code).toBe('invalid_api_key');
    expect(j.error.message).toContain('Incorrect API key provided: [redacted]');
  });

  it('OpenAI: a text/plain 500 quoting the key is redacted', async () => {
    const h = await harness();
    oa.answer(() => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: `internal error while calling backend with key=${OPENAI_KEY}\n` }));
    const r = await h.envoy.request(openaiChat('boom'));
    expect(r.status).toBe(500);
    expectClean(r);
    expect(r.body).toContain('[redacted]');
    expect(r.headers['content-type']).toContain('text/plain');
  });

  it('Anthropic: a 401 JSON body quoting the x-api-key is redacted', async () => {
    const h = await harness();
    ant.answer((req) => ({
      status: 401,
      body: JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${String(req.headers['x-api-key'])}` } }),
    }));
    const r = await h.envoy.request(anthropicMessage('leak it'));
    expect(ant.requests[0]!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(r.status).toBe(401);
    expectClean(r);
    expect(r.body).not.toContain(ANTHROPIC_KEY);
    const j = JSON.parse(r.body) as { type: string; error: { type: string; message: string } };
    expect(j.error).toEqual({ type: 'authentication_error', message: 'invalid x-api-key [redacted]' });
  });

  it('Anthropic: a chunked text/plain 500 (unknown length, not bufferable safely) becomes a clean Anthropic error', async () => {
    const h = await harness();
    ant.answer(() => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: `upstream broke; key ${ANTHROPIC_KEY} rejected`, chunkSize: 7 }));
    const r = await h.envoy.request(anthropicMessage('boom'));
    expect(r.immediate).toBe(true);
    expect(r.status).toBe(500);
    expectClean(r);
    expect(r.body).not.toContain(ANTHROPIC_KEY.slice(0, 7)); // no chunk of it either
    const j = JSON.parse(r.body) as { type: string; error: { type: string; message: string } };
    expect(j.type).toBe('error');
    expect(j.error.type).toBe('api_error');
    expect(j.error.message).toMatch(/HTTP 500/);
    expect(r.headers['x-switchyard-upstream']).toBe('ant');
  });

  it('OpenAI: an error body larger than envoy.bufferedResponseMaxBytes becomes a clean OpenAI error (never a Envoy 500 for an over-limit buffer)', async () => {
    const h = await harness('envoy: { bufferedResponseMaxBytes: 1024 }');
    const pad = 'x'.repeat(4000);
    oa.answer(() => ({ status: 400, body: JSON.stringify({ error: { message: `bad key ${OPENAI_KEY} ${pad}`, type: 'invalid_request_error' } }) }));
    const r = await h.envoy.request(openaiChat('big error'));
    expect(r.immediate).toBe(true);
    expect(r.status).toBe(400);
    expectClean(r);
    const j = JSON.parse(r.body) as { error: { message: string; type: string } };
    expect(j.error.type).toBe('invalid_request_error');
    expect(j.error.message).toMatch(/HTTP 400/);
  });

  it('an error body without a secret passes unchanged (no mutation sent), and a 2xx answer is not asked for more than before', async () => {
    const h = await harness();
    const body = JSON.stringify({ error: { message: 'The model is overloaded', type: 'server_error' } });
    oa.answer(() => ({ status: 503, body }));
    const r = await h.envoy.request(openaiChat('overloaded'));
    expect(r.status).toBe(503);
    expect(r.body).toBe(body);
    const bodyAnswer = r.received.find((m) => m.response_body !== undefined);
    expect(bodyAnswer?.response_body?.response?.body_mutation).toBeUndefined();
    oa.answer();
    const ok = await h.envoy.request(openaiChat('fine'));
    expect(ok.status).toBe(200);
    const modes = ok.received.map((m) => m.mode_override?.response_body_mode).filter((m) => m !== undefined);
    expect(modes.at(-1)).not.toBe('BUFFERED_PARTIAL');
    expect(ok.received.filter((m) => m.response_body?.response?.body_mutation !== undefined)).toHaveLength(0);
  });
});
