import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { createGate, gatedBurst, type FakeProvider } from '../fixtures/fake-common.js';
import { fakeEmbedding, startFakeOpenAI } from '../fixtures/fake-openai.js';

interface SseEvent {
  event?: string;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const ev: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      return ev;
    });
}

/** Reads a body until it ends, fails, or stays silent for `idleMs`. */
async function readAll(res: Response, idleMs = 2000): Promise<{ text: string; outcome: 'end' | 'error' | 'idle' }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((r) => (timer = setTimeout(() => r('idle'), idleMs)));
    try {
      const step = await Promise.race([reader.read(), idle]);
      if (step === 'idle') {
        void reader.cancel().catch(() => {});
        return { text, outcome: 'idle' };
      }
      if (step.done) return { text, outcome: 'end' };
      text += decoder.decode(step.value, { stream: true });
    } catch {
      return { text, outcome: 'error' };
    } finally {
      clearTimeout(timer);
    }
  }
}

const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there world' }], ...extra });

describe('fake OpenAI', () => {
  let fake: FakeProvider;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', ...headers } });

  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.setBehavior({ kind: 'ok' });
    fake.requests.length = 0;
  });

  it('answers a chat completion with an echo, the requested model, and records the request', async () => {
    const res = await post('/chat/completions', chatBody());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = (await res.json()) as { model: string; choices: { message: { content: string }; finish_reason: string }[]; usage: { total_tokens: number } };
    expect(body.model).toBe('gpt-4o');
    expect(body.choices[0]?.message.content).toBe('echo: hello there world');
    expect(body.choices[0]?.finish_reason).toBe('stop');
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', behavior: 'ok', body: { model: 'gpt-4o' } });
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer sk-test');
  });

  it('streams role, several content chunks, finish, usage, then [DONE]', async () => {
    fake.setBehavior({ kind: 'ok', answer: 'one two three four' });
    const res = await post('/chat/completions', chatBody({ stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = parseSse(await res.text());
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as { model: string; choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[]; usage: unknown });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const contents = chunks.slice(1, -2).map((c) => c.choices[0]?.delta.content);
    expect(contents.length).toBeGreaterThanOrEqual(3);
    expect(contents.join('')).toBe('one two three four');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
    expect(chunks.every((c) => c.model === 'gpt-4o')).toBe(true);
  });

  it('omits the usage chunk unless asked', async () => {
    const events = parseSse(await (await post('/chat/completions', chatBody({ stream: true }))).text());
    expect(events.some((e) => e.data.includes('"choices":[]'))).toBe(false);
  });

  it('answers with a tool call, streamed and not', async () => {
    const toolCall = { name: 'get_weather', arguments: { city: 'Paris, FR' } };
    fake.setBehavior({ kind: 'ok', toolCall });
    const plain = (await (await post('/chat/completions', chatBody())).json()) as { choices: { message: { tool_calls: { function: { name: string; arguments: string } }[] }; finish_reason: string }[] };
    expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
    expect(plain.choices[0]?.message.tool_calls[0]?.function.name).toBe('get_weather');
    const events = parseSse(await (await post('/chat/completions', chatBody({ stream: true }))).text()).slice(0, -1);
    const args = events
      .map((e) => (JSON.parse(e.data) as { choices: { delta: { tool_calls?: { function?: { arguments?: string } }[] } }[] }).choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '')
      .join('');
    expect(JSON.parse(args)).toEqual(toolCall.arguments);
  });

  it('works with the official openai SDK', async () => {
    const client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-sdk', maxRetries: 0 });
    const done = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    expect(done.choices[0]?.message.content).toBe('echo: ping');
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b c' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: a b c');
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'cat' }); // base64 on the wire
    expect(emb.data[0]?.embedding.map((v) => Math.round(v * 1e5))).toEqual(fakeEmbedding('cat').map((v) => Math.round(v * 1e5)));
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer sk-sdk');
  });

  it('serves completions, embeddings and models', async () => {
    const c = (await (await post('/completions', JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'hi' }))).json()) as { choices: { text: string }[] };
    expect(c.choices[0]?.text).toBe('echo: hi');
    const cs = parseSse(await (await post('/completions', JSON.stringify({ model: 'x', prompt: 'a b', stream: true }))).text());
    expect(cs.at(-1)?.data).toBe('[DONE]');
    const e = (await (await post('/embeddings', JSON.stringify({ model: 'e', input: ['a', 'b', 'a'] }))).json()) as { data: { embedding: number[] }[] };
    expect(e.data[0]?.embedding).toHaveLength(8);
    expect(e.data[0]?.embedding).toEqual(e.data[2]?.embedding);
    expect(e.data[0]?.embedding).not.toEqual(e.data[1]?.embedding);
    expect(Math.hypot(...(e.data[0]?.embedding ?? []))).toBeCloseTo(1, 6);
    const m = (await (await fetch(`${fake.url}/models`)).json()) as { data: { id: string }[] };
    expect(m.data.map((x) => x.id)).toEqual(['gpt-4o-mini', 'gpt-4o']);
  });

  it('status: any status, Retry-After and a body in OpenAI format', async () => {
    fake.setBehavior({ kind: 'status', status: 500, retryAfter: '2' });
    const res = await post('/chat/completions', chatBody());
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ error: { type: 'server_error', message: expect.any(String) } });
  });

  it('rate-limit: 429 with or without Retry-After', async () => {
    fake.setBehavior([{ kind: 'rate-limit', retryAfter: '1' }, { kind: 'rate-limit' }]);
    const a = await post('/chat/completions', chatBody());
    expect([a.status, a.headers.get('retry-after')]).toEqual([429, '1']);
    expect(await a.json()).toMatchObject({ error: { code: 'rate_limit_exceeded' } });
    const b = await post('/chat/completions', chatBody());
    expect([b.status, b.headers.get('retry-after')]).toEqual([429, null]);
  });

  it('reset: the connection dies before any header', async () => {
    fake.setBehavior({ kind: 'reset' });
    await expect(post('/chat/completions', chatBody())).rejects.toThrow();
    expect(fake.requests).toHaveLength(1);
  });

  it('hang: never answers', async () => {
    fake.setBehavior({ kind: 'hang' });
    await expect(fetch(`${fake.url}/chat/completions`, { method: 'POST', body: chatBody(), signal: AbortSignal.timeout(200) })).rejects.toThrow(/abort|timeout/i);
  });

  it('slow-first-token: delays the headers', async () => {
    fake.setBehavior({ kind: 'slow-first-token', ms: 250 });
    const start = Date.now();
    const res = await post('/chat/completions', chatBody({ stream: true }));
    expect(Date.now() - start).toBeGreaterThanOrEqual(240);
    expect(parseSse(await res.text()).at(-1)?.data).toBe('[DONE]');
  });

  it('cut-mid-stream: N content chunks, then the socket is destroyed', async () => {
    fake.setBehavior({ kind: 'cut-mid-stream', afterChunks: 2, answer: 'a b c d e' });
    const { text, outcome } = await readAll(await post('/chat/completions', chatBody({ stream: true })));
    expect(outcome).toBe('error');
    expect(parseSse(text).map((e) => (JSON.parse(e.data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content)).toEqual(['', 'a ', 'b ']);
  });

  it('stall: N content chunks, then silence on an open socket', async () => {
    fake.setBehavior({ kind: 'stall', afterChunks: 1 });
    const { text, outcome } = await readAll(await post('/chat/completions', chatBody({ stream: true })), 300);
    expect(outcome).toBe('idle');
    expect(parseSse(text)).toHaveLength(2);
  });

  it('malformed-chunk: one event is not JSON, the stream still completes', async () => {
    fake.setBehavior({ kind: 'malformed-chunk', afterChunks: 1 });
    const events = parseSse(await (await post('/chat/completions', chatBody({ stream: true }))).text());
    const bad = events.filter((e) => e.data !== '[DONE]' && !isJson(e.data));
    expect(bad).toHaveLength(1);
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('malformed-chunk on a non-stream request: invalid JSON with status 200', async () => {
    fake.setBehavior({ kind: 'malformed-chunk' });
    const res = await post('/chat/completions', chatBody());
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
  });

  it('no-done: the stream ends cleanly without [DONE]', async () => {
    fake.setBehavior({ kind: 'no-done' });
    const { text, outcome } = await readAll(await post('/chat/completions', chatBody({ stream: true })));
    expect(outcome).toBe('end');
    expect(text).not.toContain('[DONE]');
    expect(text).toContain('"finish_reason":"stop"');
  });

  it('context-length-exceeded and content-policy: 400 with OpenAI codes', async () => {
    fake.setBehavior([{ kind: 'context-length-exceeded' }, { kind: 'content-policy' }]);
    const a = await post('/chat/completions', chatBody());
    expect(a.status).toBe(400);
    expect(await a.json()).toMatchObject({ error: { code: 'context_length_exceeded', type: 'invalid_request_error', message: expect.stringMatching(/^This model's maximum context length is/) } });
    const b = await post('/chat/completions', chatBody());
    expect(await b.json()).toMatchObject({ error: { code: 'content_policy_violation' } });
  });

  it('down-for: 503 for a while after the first hit, then ok', async () => {
    fake.setBehavior({ kind: 'down-for', ms: 300 });
    expect((await post('/chat/completions', chatBody())).status).toBe(503);
    expect((await post('/chat/completions', chatBody())).status).toBe(503);
    await new Promise((r) => setTimeout(r, 320));
    expect((await post('/chat/completions', chatBody())).status).toBe(200);
  });

  it('takes behaviours in order and the last one sticks; 404 does not take one', async () => {
    fake.setBehavior([{ kind: 'status', status: 502 }, { kind: 'ok' }]);
    expect((await post('/nope', '{}')).status).toBe(404);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post('/chat/completions', chatBody())).status);
    expect(statuses).toEqual([502, 200, 200]);
  });

  it('checks the key when given one', async () => {
    const strict = await startFakeOpenAI({ apiKey: 'sk-right' });
    try {
      const res = await fetch(`${strict.url}/models`, { headers: { authorization: 'Bearer sk-wrong' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    } finally {
      await strict.close();
    }
  });

  it('gated: holds every answer until the gate opens, then answers normally; close() ends a held request', async () => {
    const f = await startFakeOpenAI();
    try {
      const gate = createGate();
      f.setBehavior({ kind: 'gated', gate: gate.promise, answer: 'held' });
      let settled = 0;
      const arrived = new Promise<void>((resolve) => {
        const stop = f.onRequest(() => {
          if (f.requests.length === 2) {
            stop();
            resolve();
          }
        });
      });
      const calls = [0, 1].map(() =>
        fetch(`${f.url}/chat/completions`, { method: 'POST', body: chatBody() }).finally(() => settled++),
      );
      await arrived;
      // Both arrived, neither answered: the gate holds them (checked after the loop drains pending I/O).
      await new Promise((r) => setImmediate(r));
      expect(settled).toBe(0);
      gate.open();
      const answers = await Promise.all(calls.map(async (p) => (await p).json() as Promise<{ choices: { message: { content: string } }[] }>));
      expect(answers.map((a) => a.choices[0]!.message.content)).toEqual(['held', 'held']);
      // A request held behind a gate that never opens ends (as an error) when the fake closes.
      f.setBehavior({ kind: 'gated', gate: new Promise(() => undefined) });
      const held = fetch(`${f.url}/chat/completions`, { method: 'POST', body: chatBody() }).catch((e: unknown) => e);
      await new Promise<void>((resolve) => {
        const stop = f.onRequest(() => {
          stop();
          resolve();
        });
      });
      await f.close();
      expect(await held).toBeInstanceOf(Error);
    } finally {
      await f.close();
    }
  });

  it('gatedBurst: opens only when every request has arrived or been answered', async () => {
    const f = await startFakeOpenAI();
    try {
      let inFlightAtOpen = -1;
      const refusals = 3;
      const results = await gatedBurst(f, 8, async (i) => {
        if (i < refusals) return 'refused'; // answered without reaching the fake, like a gateway refusal
        const res = await fetch(`${f.url}/chat/completions`, { method: 'POST', body: chatBody() });
        if (inFlightAtOpen < 0) inFlightAtOpen = f.requests.length;
        return String(res.status);
      });
      expect(results).toEqual(['refused', 'refused', 'refused', '200', '200', '200', '200', '200']);
      expect(inFlightAtOpen).toBe(5);
    } finally {
      await f.close();
    }
  });

  it('close() ends fast with hanging and stalled requests open', async () => {
    const f = await startFakeOpenAI({ behavior: [{ kind: 'hang' }, { kind: 'stall' }] });
    const hanging = fetch(`${f.url}/chat/completions`, { method: 'POST', body: chatBody() }).catch((e: unknown) => e);
    const stalled = await fetch(`${f.url}/chat/completions`, { method: 'POST', body: chatBody({ stream: true }) });
    const reading = readAll(stalled, 5000);
    const start = Date.now();
    await f.close();
    expect(Date.now() - start).toBeLessThan(500);
    expect(await hanging).toBeInstanceOf(Error);
    expect((await reading).outcome).toBe('error');
  });
});

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

describe('fake Anthropic', () => {
  let fake: FakeProvider;
  const headers = { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };
  const body = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi there' }] }], ...extra });
  const post = (b: string, h: Record<string, string> = headers) => fetch(`${fake.url}/messages`, { method: 'POST', body: b, headers: h });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.setBehavior({ kind: 'ok' });
    fake.requests.length = 0;
  });

  it('refuses a request without x-api-key or anthropic-version, in Anthropic format', async () => {
    const a = await post(body(), { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' });
    expect(a.status).toBe(401);
    expect(await a.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('x-api-key') } });
    const b = await post(body(), { 'content-type': 'application/json', 'x-api-key': 'k' });
    expect(b.status).toBe(401);
    expect(fake.requests[0]?.behavior).toBeUndefined();
  });

  it('answers a message with text, echoing the model', async () => {
    const res = await post(body());
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await res.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'echo: hi there' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
  });

  it('streams the real event sequence', async () => {
    fake.setBehavior({ kind: 'ok', answer: 'one two three' });
    const events = parseSse(await (await post(body({ stream: true }))).text());
    const names = events.map((e) => e.event);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of events) expect((JSON.parse(e.data) as { type: string }).type).toBe(e.event);
    const text = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (JSON.parse(e.data) as { delta: { type: string; text: string } }).delta.text)
      .join('');
    expect(text).toBe('one two three');
    expect(JSON.parse(events[7]?.data ?? '')).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: expect.any(Number) } });
  });

  it('answers with tool_use when told, streamed and not', async () => {
    const toolCall = { name: 'lookup', arguments: { q: 'a, b', n: 2 } };
    fake.setBehavior({ kind: 'ok', toolCall });
    const plain = (await (await post(body())).json()) as { content: { type: string; name: string; input: unknown }[]; stop_reason: string };
    expect(plain.stop_reason).toBe('tool_use');
    expect(plain.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup', input: toolCall.arguments });
    const events = parseSse(await (await post(body({ stream: true }))).text());
    expect(JSON.parse(events[1]?.data ?? '')).toMatchObject({ content_block: { type: 'tool_use', name: 'lookup' } });
    const json = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (JSON.parse(e.data) as { delta: { type: string; partial_json: string } }).delta.partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual(toolCall.arguments);
  });

  it('works with the official Anthropic SDK', async () => {
    const client = new Anthropic({ baseURL: fake.url.replace(/\/v1$/, ''), apiKey: 'sk-ant-sdk', maxRetries: 0 });
    const msg = await client.messages.stream({ model: 'claude-3-5-haiku-latest', max_tokens: 50, messages: [{ role: 'user', content: 'yo' }] }).finalMessage();
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'echo: yo' });
    expect(msg.stop_reason).toBe('end_turn');
    expect(fake.requests.at(-1)?.headers['anthropic-version']).toBeTruthy();
  });

  it('cut-mid-stream, stall, malformed-chunk and no-done', async () => {
    fake.setBehavior([
      { kind: 'cut-mid-stream', afterChunks: 1 },
      { kind: 'stall', afterChunks: 1 },
      { kind: 'malformed-chunk' },
      { kind: 'no-done' },
    ]);
    const cut = await readAll(await post(body({ stream: true })));
    expect(cut.outcome).toBe('error');
    expect(parseSse(cut.text).map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta']);
    const stall = await readAll(await post(body({ stream: true })), 300);
    expect(stall.outcome).toBe('idle');
    const bad = parseSse(await (await post(body({ stream: true }))).text());
    expect(bad.filter((e) => !isJson(e.data))).toHaveLength(1);
    expect(bad.at(-1)?.event).toBe('message_stop');
    const noStop = await readAll(await post(body({ stream: true })));
    expect(noStop.outcome).toBe('end');
    expect(parseSse(noStop.text).at(-1)?.event).toBe('message_delta');
  });

  it('errors in Anthropic format: context length, policy, rate limit, status, down-for', async () => {
    fake.setBehavior([
      { kind: 'context-length-exceeded' },
      { kind: 'content-policy' },
      { kind: 'rate-limit', retryAfter: '3' },
      { kind: 'status', status: 529 },
      { kind: 'down-for', ms: 200 },
    ]);
    const a = await post(body());
    expect(a.status).toBe(400);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/^prompt is too long: \d+ tokens > \d+ maximum$/) } });
    const b = await post(body());
    expect(await b.json()).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringContaining('policy') } });
    const c = await post(body());
    expect([c.status, c.headers.get('retry-after')]).toEqual([429, '3']);
    expect(await c.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
    const d = await post(body());
    expect(await d.json()).toMatchObject({ error: { type: 'overloaded_error' } });
    expect((await post(body())).status).toBe(503);
    await new Promise((r) => setTimeout(r, 220));
    expect((await post(body())).status).toBe(200);
  });

  it('reset and hang', async () => {
    fake.setBehavior([{ kind: 'reset' }, { kind: 'hang' }]);
    await expect(post(body())).rejects.toThrow();
    await expect(fetch(`${fake.url}/messages`, { method: 'POST', body: body(), headers, signal: AbortSignal.timeout(150) })).rejects.toThrow();
  });
});
