/**
 * The `mock` upstream kind through `switchyard serve`, driven by the official
 * OpenAI and Anthropic SDKs: deterministic echo and canned answers in both
 * protocols, JSON and streamed, max_tokens, faults asked for by the request
 * (a 503 falls back, a truncated stream is never served as a success) and by
 * the config, token pacing, embeddings, and `startMockServer` on a port as a
 * fake provider for users' own tests.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startMockServer, type RunningMock } from '../../src/mock/server.js';
import { postJson, sseEvents, startGateway } from '../helpers/gateway.js';

const YAML = `
upstreams:
  - name: echo-openai
    kind: mock
    models: [{ name: echo-o }]
    embeddings: true
    retry: { max: 0 }
  - name: canned-anthropic
    kind: mock
    mock: { protocol: anthropic, response: text, text: "The quick brown fox jumps over the lazy dog." }
    models: [{ name: canned-a }]
    retry: { max: 0 }
  - name: paced
    kind: mock
    mock: { response: text, text: "one two three four five six", tokensPerSecond: 20 }
    models: [{ name: paced-m }]
  - name: always-down
    kind: mock
    mock: { fault: 503 }
    models: [{ name: down-m }]
    retry: { max: 0 }
    breaker: { volumeThreshold: 1000 }
  - name: hangs
    kind: mock
    mock: { fault: timeout }
    models: [{ name: hang-m }]
    retry: { max: 0 }
    timeouts: { firstTokenMs: 300, totalMs: 5000 }
fallbacks:
  echo-o: [canned-a]
  down-m: [echo-o]
  hang-m: [echo-o]
defaultModel: echo-o
`;

let gw: RunningServer;
let oa: OpenAI;
let an: Anthropic;
beforeAll(async () => {
  gw = await startGateway(YAML, {});
  oa = new OpenAI({ apiKey: 'key-a', baseURL: `${gw.url}/v1`, maxRetries: 0 });
  an = new Anthropic({ apiKey: 'key-a', baseURL: gw.url, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
});

describe('kind: mock, no keys, no network', () => {
  it('echoes the last user message in OpenAI JSON, deterministically, with usage', async () => {
    const a = await oa.chat.completions.create({ model: 'echo-o', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello mock' }] });
    const b = await oa.chat.completions.create({ model: 'echo-o', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello mock' }] });
    expect(a.choices[0]!.message.content).toBe('echo: hello mock');
    expect(a.choices[0]!.finish_reason).toBe('stop');
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(a.usage!.completion_tokens).toBe(3);
    expect(a.usage!.prompt_tokens).toBeGreaterThan(0);
  });

  it('streams the same answer token by token (OpenAI SSE), with usage when asked', async () => {
    const stream = await oa.chat.completions.create({ model: 'echo-o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me please' }] });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    for await (const c of stream) {
      const d = c.choices[0]?.delta?.content;
      if (d) {
        text += d;
        chunks++;
      }
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe('echo: stream me please');
    expect(chunks).toBe(4);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(4);
  });

  it('answers an Anthropic client from an OpenAI-protocol mock, and an OpenAI client from an Anthropic-protocol mock', async () => {
    const m = await an.messages.create({ model: 'echo-o', max_tokens: 100, messages: [{ role: 'user', content: 'across protocols' }] });
    expect(m.content[0]!.type === 'text' && m.content[0]!.text).toBe('echo: across protocols');
    const c = await oa.chat.completions.create({ model: 'canned-a', messages: [{ role: 'user', content: 'anything' }] });
    expect(c.choices[0]!.message.content).toBe('The quick brown fox jumps over the lazy dog.');
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'canned-a', messages: [{ role: 'user', content: 'x' }] });
    expect(r.headers.get('x-switchyard-upstream')).toBe('canned-anthropic');
  });

  it('streams Anthropic SSE end to end, and honours max_tokens with the right stop reason', async () => {
    const s = an.messages.stream({ model: 'canned-a', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    s.on('text', (t) => (text += t));
    const final = await s.finalMessage();
    expect(text).toBe('The quick brown fox ');
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage.output_tokens).toBe(4);
  });

  it('answers `mock_response` from the request body (LiteLLM convention)', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'echo-o', mock_response: 'exactly this', messages: [{ role: 'user', content: 'q' }] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('exactly this');
  });

  it('a request asking one mock for a fault ([mock:fault=503@name]) fails there and is answered by the fallback, saying so', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'echo-o', messages: [{ role: 'user', content: 'please fail [mock:fault=503@echo-openai]' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('canned-anthropic');
    expect(r.headers.get('x-switchyard-attempts')).toBe('2');
    expect(r.json.choices[0].message.content).toBe('The quick brown fox jumps over the lazy dog.');
  });

  it('[mock:fault=503] without a name fails every mock that sees it: a 502 in OpenAI error JSON naming the upstream', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'echo-o', messages: [{ role: 'user', content: 'all fail [mock:fault=503]' }] });
    expect(r.status).toBe(502);
    expect(r.headers.get('x-switchyard-attempts')).toBe('2');
    expect(r.json.error.message).toContain('mock fault: HTTP 503');
  });

  it('an upstream configured to fail (fault: 503) falls back on every request', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'down-m', messages: [{ role: 'user', content: `try ${i}` }] });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-switchyard-upstream')).toBe('echo-openai');
      expect(r.json.choices[0].message.content).toBe(`echo: try ${i}`);
    }
  });

  it('an upstream that never answers (fault: timeout) times out and falls back', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'hang-m', messages: [{ role: 'user', content: 'anyone?' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('echo-openai');
  });

  it('a stream cut midway ([mock:fault=truncate]) is never served as a complete answer', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'canned-a', stream: true, messages: [{ role: 'user', content: 'cut [mock:fault=truncate]' }] });
    if (r.status !== 200) {
      // Cut before the first byte reached the client: an error in OpenAI JSON, not half an answer.
      expect(r.status).toBe(502);
      expect(r.json.error.code).toBe('upstream_unavailable');
      return;
    }
    const events = sseEvents(r.text);
    const text = events
      .filter((e) => e.data !== '[DONE]' && e.data.startsWith('{'))
      .map((e) => (JSON.parse(e.data) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content ?? '')
      .join('');
    const finished = events.some((e) => e.data.includes('"finish_reason":"stop"'));
    const inBandError = events.some((e) => e.data.includes('"error"'));
    // Either the whole answer arrives (resumed elsewhere) or the stream ends with an error event; never half an answer that looks finished.
    if (finished) expect(text.length).toBeGreaterThan(0);
    else expect(inBandError).toBe(true);
    expect(finished && text === 'The quick brown fox ').toBe(false);
  });

  it('paces tokens: a streamed answer at 20 tokens/s takes at least (tokens-1)/20 s', async () => {
    const t0 = performance.now();
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'paced-m', stream: true, messages: [{ role: 'user', content: 'go' }] });
    const elapsed = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(sseEvents(r.text).filter((e) => e.data.includes('"content":"')).length).toBeGreaterThanOrEqual(6);
    expect(elapsed).toBeGreaterThanOrEqual(5 * 50 - 5); // a lower bound only: a busy machine is slower, never faster
  });

  it('serves deterministic embeddings that put texts sharing words closer', async () => {
    const e = await oa.embeddings.create({ model: 'echo-o', input: ['the cat sat on the mat', 'the cat sat on a mat', 'quantum chromodynamics'] });
    const [a, b, c] = e.data.map((d) => d.embedding);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(a!.length).toBe(64);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
    const again = await oa.embeddings.create({ model: 'echo-o', input: 'the cat sat on the mat' });
    expect(again.data[0]!.embedding).toEqual(a);
  });
});

describe('startMockServer on a port: a fake provider for your own tests', () => {
  let mock: RunningMock;
  beforeAll(async () => {
    mock = await startMockServer({ response: 'text', text: 'fixed answer' }, { port: 0 });
  });
  afterAll(async () => {
    await mock?.close();
  });

  it('answers the OpenAI SDK pointed straight at it, and errors in the API format on request', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${mock.url}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'anything', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toBe('fixed answer');
    await expect(client.chat.completions.create({ model: 'anything', messages: [{ role: 'user', content: '[mock:fault=429]' }] })).rejects.toMatchObject({
      status: 429,
      error: { type: 'rate_limit_error' },
    });
  });

  it('answers the Anthropic SDK pointed straight at it, and refuses bad JSON in Anthropic error JSON', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: mock.url!, maxRetries: 0 });
    const m = await client.messages.create({ model: 'anything', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.content[0]!.type === 'text' && m.content[0]!.text).toBe('fixed answer');
    const bad = await postJson(`${mock.url}/v1/messages`, '{not json');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
