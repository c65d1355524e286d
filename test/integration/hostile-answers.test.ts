/**
 * What the answer side may do with a misbehaving upstream or a client that
 * leaves, through `switchyard serve` and the Express face:
 * - only complete answers are stored (issue 15.5): never `length`, a null
 *   finish, a content filter or a `max_tokens` stop; `n > 1` is passed
 *   through whole and never stored as one choice;
 * - an unreadable 2xx (HTML, or JSON of the wrong shape) is a 502 in the
 *   caller's protocol and an upstream failure (issue 15.6);
 * - a non-streaming request abandoned by its client is charged its estimate
 *   (issue 15.7), tested with a real socket that disconnects.
 */
import Anthropic from '@anthropic-ai/sdk';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/observability/events.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type Behavior, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, startFace, until, type RunningFace } from '../helpers/either-face.js';
import { postJson, upstreamYaml } from '../helpers/gateway.js';

let up: FakeProvider;
let ant: FakeProvider;
beforeAll(async () => {
  [up, ant] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
});
afterAll(async () => {
  await Promise.all([up.close(), ant.close()]);
});
afterEach(() => {
  up.setBehavior({ kind: 'ok' });
  ant.setBehavior({ kind: 'ok' });
});

const env = { ...process.env, TEST_ANSWERS_ANTHROPIC_KEY: 'sk-ant-test-answers' };
const yaml = () => `
upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${up.url}
    retry: { max: 0 }
    models:
      - { name: primary-model, inputPricePer1M: 1, outputPricePer1M: 2 }
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', retries: 0, apiKeyEnv: 'TEST_ANSWERS_ANTHROPIC_KEY' })}
cache: { semantic: { enabled: false } }
`;

const completion = (choices: { content: string | null; finish: string | null }[]) => ({
  id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'primary-model',
  choices: choices.map((c, index) => ({ index, message: { role: 'assistant', content: c.content }, finish_reason: c.finish })),
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
});
const sseBody = (frames: unknown[]) => frames.map((f) => (typeof f === 'string' ? f : `data: ${JSON.stringify(f)}\n\n`)).join('');
const sseChunk = (delta: Record<string, unknown>, finish: string | null) =>
  ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'primary-model', choices: [{ index: 0, delta, finish_reason: finish }] });

describe.each(FACES)('what may be stored, through %s', (face) => {
  let f: RunningFace;
  let q = 0;
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
  });
  afterAll(async () => {
    await f.close();
  });
  const stores = () => f.switchyard.cache!.stats().stores;
  const ask = (text: string, extra: Record<string, unknown> = {}) =>
    postJson(`${f.url}/v1/chat/completions`, { model: 'primary-model', messages: [{ role: 'user', content: text }], ...extra });

  /** Sends `text` answered by `b`, then a normal marker that is stored; only the marker may have been. */
  async function expectNotStored(b: Behavior, extra: Record<string, unknown> = {}, check?: (r: Awaited<ReturnType<typeof ask>>) => void) {
    const text = `question ${face} ${++q}`;
    const before = stores();
    up.setBehavior(b);
    const first = await ask(text, extra);
    expect(first.status).toBe(200);
    check?.(first);
    up.setBehavior({ kind: 'ok' });
    await ask(`marker ${face} ${q}`);
    await until(() => stores() > before);
    expect(stores()).toBe(before + 1);
    const calls = up.requests.length;
    up.setBehavior(b);
    const again = await ask(text, extra);
    // `n > 1` is not even looked up (bypass); the others are looked up and miss.
    expect(again.headers.get('x-switchyard-cache')).toBe(typeof extra.n === 'number' && extra.n > 1 ? 'bypass' : 'miss');
    expect(up.requests.length).toBe(calls + 1);
    check?.(again);
  }

  it('an answer cut at finish_reason "length" is passed on, never stored', async () => {
    await expectNotStored({ kind: 'status', status: 200, body: completion([{ content: 'The answer is cut', finish: 'length' }]) }, {}, (r) => {
      expect(r.json.choices[0].finish_reason).toBe('length');
    });
  });

  it('an answer with a null finish_reason is never stored', async () => {
    await expectNotStored({ kind: 'status', status: 200, body: completion([{ content: 'Maybe partial', finish: null }]) });
  });

  it('a content-filtered answer is never stored', async () => {
    await expectNotStored({ kind: 'status', status: 200, body: completion([{ content: 'I cannot', finish: 'content_filter' }]) });
  });

  it('a stream that finishes with "length" is never stored', async () => {
    const body = sseBody([sseChunk({ role: 'assistant', content: 'Half an ans' }, null), sseChunk({}, 'length'), 'data: [DONE]\n\n']);
    await expectNotStored({ kind: 'status', status: 200, body, headers: { 'content-type': 'text/event-stream' } }, { stream: true }, (r) => {
      expect(r.text).toContain('"finish_reason":"length"');
    });
  });

  it('n = 3: all three choices reach the client, every time; none is stored as a single choice', async () => {
    const three = completion([{ content: 'one', finish: 'stop' }, { content: 'two', finish: 'stop' }, { content: 'three', finish: 'stop' }]);
    await expectNotStored({ kind: 'status', status: 200, body: three }, { n: 3 }, (r) => {
      expect(r.json.choices.map((c: { message: { content: string } }) => c.message.content)).toEqual(['one', 'two', 'three']);
    });
  });

  it('an Anthropic answer stopped at max_tokens is never stored (Anthropic SDK)', async () => {
    const client = new Anthropic({ baseURL: f.url, apiKey: 'key-a', maxRetries: 0 });
    const body = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [{ type: 'text', text: 'Cut sh' }], stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 4, output_tokens: 2 } };
    ant.setBehavior({ kind: 'status', status: 200, body });
    const params = { model: 'claude-test', max_tokens: 2, messages: [{ role: 'user' as const, content: `anthropic cut ${face}` }] };
    const first = await client.messages.create(params);
    expect(first.stop_reason).toBe('max_tokens');
    const before = stores();
    ant.setBehavior({ kind: 'ok' });
    await client.messages.create({ ...params, messages: [{ role: 'user', content: `anthropic marker ${face}` }] });
    await until(() => stores() > before);
    const calls = ant.requests.length;
    ant.setBehavior({ kind: 'status', status: 200, body });
    const again = await client.messages.create(params).withResponse();
    expect(again.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(ant.requests.length).toBe(calls + 1);
  });
});

describe.each(FACES)('unreadable success through %s', (face) => {
  let f: RunningFace;
  const records: DecisionRecord[] = [];
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
    f.switchyard.events.on('decision', (r) => records.push(r));
  });
  afterAll(async () => {
    await f.close();
  });
  const html = { kind: 'status', status: 200, body: '<html><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } } as const;

  it('an HTML 200 is a 502 in OpenAI format (OpenAI SDK), counted as a failed attempt', async () => {
    up.setBehavior(html);
    const client = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const err = (await client.chat.completions.create({ model: 'primary-model', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(502);
    expect(err.code).toBe('upstream_unavailable');
    expect(err.message).toMatch(/not JSON/);
    const rec = records.at(-1)!;
    expect(rec.status).toBe(502);
    expect(rec.attempts.at(-1)).toMatchObject({ upstream: 'primary', outcome: 'failed' });
  });

  it('an HTML 200 to a streaming request is a 502 before any byte', async () => {
    up.setBehavior(html);
    const r = await postJson(`${f.url}/v1/chat/completions`, { model: 'primary-model', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(502);
    expect(r.json.error.code).toBe('upstream_unavailable');
  });

  it('JSON of the wrong shape with a 200 is a 502 too, and a failed attempt', async () => {
    up.setBehavior({ kind: 'status', status: 200, body: { object: 'chat.completion', choices: [] } });
    const r = await postJson(`${f.url}/v1/chat/completions`, { model: 'primary-model', messages: [{ role: 'user', content: 'shape' }] });
    expect(r.status).toBe(502);
    expect(r.json.error.type).toBe('api_error');
    expect(records.at(-1)!.attempts.at(-1)).toMatchObject({ outcome: 'failed', reason: 'unreadable answer' });
  });

  it('an HTML 200 is a 502 in Anthropic format (Anthropic SDK)', async () => {
    ant.setBehavior(html);
    const client = new Anthropic({ baseURL: f.url, apiKey: 'key-a', maxRetries: 0 });
    const err = (await client.messages.create({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(err.status).toBe(502);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });
});

describe.each(FACES)('abandoned requests through %s', (face) => {
  let f: RunningFace;
  const records: DecisionRecord[] = [];
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
    f.switchyard.events.on('decision', (r) => records.push(r));
  });
  afterAll(async () => {
    await f.close();
  });

  /** Sends `body` on a raw socket, waits until the upstream has it, then disconnects; resolves the 499 record. */
  async function abandon(body: string): Promise<DecisionRecord> {
    up.setBehavior({ kind: 'hang' });
    const before = up.requests.length;
    const seen = records.length;
    const socket = connect(Number(new URL(f.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await until(() => up.requests.length > before);
    socket.destroy();
    await until(() => records.slice(seen).some((r) => r.status === 499));
    await until(() => f.switchyard.registry.upstream('primary')!.inFlight === 0);
    return records.slice(seen).find((r) => r.status === 499)!;
  }

  it('a client that disconnects while the upstream works is charged the estimate (prompt + reserved output)', async () => {
    const rec = await abandon(JSON.stringify({ model: 'primary-model', max_tokens: 200, messages: [{ role: 'user', content: `leave me ${face}` }] }));
    expect(rec.error).toBe('client_disconnected');
    expect(rec.usageEstimated).toBe(true);
    expect(rec.outputTokens).toBe(200);
    expect(rec.inputTokens).toBeGreaterThan(0);
    // $1 per 1M input, $2 per 1M output on primary-model.
    expect(rec.costUsd).toBeCloseTo((rec.inputTokens! * 1 + 200 * 2) / 1e6, 12);
  });

  it('a stream abandoned before its first event is charged its prompt, like any abandoned stream', async () => {
    const rec = await abandon(JSON.stringify({ model: 'primary-model', max_tokens: 200, stream: true, messages: [{ role: 'user', content: `leave the stream ${face}` }] }));
    expect(rec).toMatchObject({ error: 'client_disconnected', usageEstimated: true, outputTokens: 0 });
    expect(rec.inputTokens).toBeGreaterThan(0);
    expect(rec.costUsd).toBeCloseTo(rec.inputTokens! / 1e6, 12);
  });
});
