/**
 * Through `switchyard serve` and the Express face:
 * - privacy routing sees what the upstream sees (issue 12.6): PII inside a
 *   tool description, a response_format schema or metadata keeps an explicit
 *   cloud request on the local upstream;
 * - secrets never reach a client (issue 12.7): an upstream that echoes the
 *   configured key (`zz-live-…`, no `sk-` shape to catch) in a JSON error or
 *   an in-band stream error has it redacted, in both protocols.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, startFace, type RunningFace } from '../helpers/either-face.js';
import { postJson, upstreamYaml } from '../helpers/gateway.js';

const OPENAI_KEY = 'zz-live-abc123def456ghi789jkl';
const ANTHROPIC_KEY = 'zz-ant-live-999abc888def777';
const HEADER_TOKEN = 'custom-tok-5f2c9a71b3e8';

let local: FakeProvider;
let cloud: FakeProvider;
let ant: FakeProvider;
beforeAll(async () => {
  [local, cloud, ant] = await Promise.all([startFakeOpenAI(), startFakeOpenAI({ apiKey: OPENAI_KEY }), startFakeAnthropic({ apiKey: ANTHROPIC_KEY })]);
});
afterAll(async () => {
  await Promise.all([local.close(), cloud.close(), ant.close()]);
});
afterEach(() => {
  cloud.setBehavior({ kind: 'ok' });
  ant.setBehavior({ kind: 'ok' });
});

const env = { ...process.env, TEST_ZZ_OPENAI_KEY: OPENAI_KEY, TEST_ZZ_ANTHROPIC_KEY: ANTHROPIC_KEY };
const yaml = () => `
upstreams:
${upstreamYaml('local', local.url, 'local-llama', { retries: 0 })}    local: true
${upstreamYaml('cloud', cloud.url, 'cloud-model', { retries: 0, apiKeyEnv: 'TEST_ZZ_OPENAI_KEY' })}    headers: { x-custom-token: ${HEADER_TOKEN} }
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', retries: 0, apiKeyEnv: 'TEST_ZZ_ANTHROPIC_KEY' })}
tiers:
  - { name: LOW, models: [local-llama] }
  - { name: HIGH, models: [cloud-model] }
routing: { ladder: [LOW, HIGH], agenticTier: null, privacy: { localOnly: true } }
`;

describe.each(FACES)('privacy routing through %s', (face) => {
  let f: RunningFace;
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
  });
  afterAll(async () => {
    await f.close();
  });

  it('PII inside a tool description keeps an explicit cloud model local (OpenAI SDK)', async () => {
    const before = cloud.requests.length;
    const client = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({
        model: 'cloud-model',
        messages: [{ role: 'user', content: 'Open a ticket for the broken printer.' }],
        tools: [{ type: 'function', function: { name: 'open_ticket', description: 'Opens a ticket; always cc priya.raman@northwind.example.com', parameters: { type: 'object', properties: {} } } }],
      })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: Open a ticket for the broken printer.');
    expect(response.headers.get('x-switchyard-upstream')).toBe('local');
    expect(response.headers.get('x-switchyard-route')).toBe('explicit model; privacy (email) -> local-only: cloud-model overridden');
    expect(cloud.requests.length).toBe(before);
  });

  it.each([
    ['a response_format schema', { response_format: { type: 'json_schema', json_schema: { name: 'o', schema: { type: 'object', description: 'card on file 4111-1111-1111-1111' } } } }, 'credit-card'],
    ['metadata', { metadata: { note: 'customer phone +44 20 7946 0958' } }, 'phone'],
    ['an unknown forwarded field', { x_context: 'reply to ann＠example.org' }, 'email'],
    ['a second text part', { messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise:' }, { type: 'text', text: 'IBAN DE89 3704 0044 0532 0130 00' }] }] }, 'iban'],
  ])('PII in %s keeps it local', async (_what, extra, kind) => {
    const before = cloud.requests.length;
    const r = await postJson(`${f.url}/v1/chat/completions`, { model: 'cloud-model', messages: [{ role: 'user', content: 'Summarise the account.' }], ...extra });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-switchyard-route')).toContain(`privacy (${kind})`);
    expect(cloud.requests.length).toBe(before);
  });
});

/** Every form the secrets could take in a client-visible text. */
function expectNoSecret(text: string): void {
  for (const s of [OPENAI_KEY, ANTHROPIC_KEY, HEADER_TOKEN]) expect(text).not.toContain(s);
}

const sse = (frames: unknown[]) => frames.map((f) => (typeof f === 'string' ? f : `data: ${JSON.stringify(f)}\n\n`)).join('');
const chunk = (content: string) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'cloud-model', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

describe.each(FACES)('secrets never reach a client through %s', (face) => {
  let f: RunningFace;
  const records: unknown[] = [];
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
    f.switchyard.events.on('decision', (r) => records.push(r));
  });
  afterAll(() => {
    // Decision records (the live event stream, the dashboard) carry the attempts' reasons: no secret there either.
    expect(records.length).toBeGreaterThan(0);
    expectNoSecret(JSON.stringify(records));
  });
  afterAll(async () => {
    await f.close();
  });
  const send = (extra: Record<string, unknown> = {}) =>
    postJson(`${f.url}/v1/chat/completions`, { model: 'cloud-model', messages: [{ role: 'user', content: 'hello' }], ...extra });

  it('the upstream uses the configured key (so echoing it is a real leak)', async () => {
    const r = await send();
    expect(r.status).toBe(200);
    expect(cloud.requests.at(-1)!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(cloud.requests.at(-1)!.headers['x-custom-token']).toBe(HEADER_TOKEN);
  });

  it.each([
    [401, { error: { message: `Incorrect API key provided: ${OPENAI_KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } }],
    [400, { error: { message: `Bad header x-custom-token=${HEADER_TOKEN} with key ${OPENAI_KEY}`, type: 'invalid_request_error' } }],
    [500, `internal failure while calling with ${OPENAI_KEY}`],
  ])('a %i error echoing the key (OpenAI SDK)', async (status, body) => {
    cloud.setBehavior({ kind: 'status', status, body });
    const client = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const err = (await client.chat.completions.create({ model: 'cloud-model', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(status === 500 ? 502 : status);
    expectNoSecret(JSON.stringify(err.error));
    expectNoSecret(err.message);
    expect(JSON.stringify(err.error)).toContain('[redacted]');
  });

  it('an in-band stream error echoing the key (OpenAI SSE)', async () => {
    cloud.setBehavior({
      kind: 'status', status: 200, headers: { 'content-type': 'text/event-stream' },
      body: sse([chunk('Hel'), { error: { message: `stream aborted for key ${OPENAI_KEY}`, type: 'server_error' } }]),
    });
    const r = await send({ stream: true });
    expect(r.status).toBe(200);
    expect(r.text).toContain('Hel');
    expect(r.text).toContain('"error"');
    expectNoSecret(r.text);
    expect(r.text).toContain('[redacted]');
  });

  it('a JSON error and an in-band stream error echoing the key (Anthropic SDK)', async () => {
    const client = new Anthropic({ baseURL: f.url, apiKey: 'key-a', maxRetries: 0 });
    ant.setBehavior({ kind: 'status', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: `overloaded; your key ${ANTHROPIC_KEY} is throttled` } } });
    const err = (await client.messages.create({ model: 'claude-test', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expectNoSecret(JSON.stringify(err.error));
    expectNoSecret(err.message);

    ant.setBehavior({
      kind: 'status', status: 200, headers: { 'content-type': 'text/event-stream' },
      body: [
        `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } })}\n\n`,
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: `internal: bad credential ${ANTHROPIC_KEY}` } })}\n\n`,
      ].join(''),
    });
    const r = await postJson(`${f.url}/v1/messages`, { model: 'claude-test', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.text).toContain('event: error');
    expectNoSecret(r.text);
  });
});
