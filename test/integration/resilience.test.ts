/**
 * Upstream resilience through `switchyard serve`, against fake providers that
 * misbehave on purpose: retries, Retry-After, fallback chains, timeouts,
 * breakers, stream failures before and after the first byte.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { chat, postJson, sseEvents, startGateway, upstreamYaml } from '../helpers/gateway.js';

let primary: FakeProvider;
let secondary: FakeProvider;
let gw: RunningServer | undefined;

beforeEach(async () => {
  primary = await startFakeOpenAI();
  secondary = await startFakeOpenAI();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await primary.close();
  await secondary.close();
});

async function gateway(opts: { retries?: number; firstTokenMs?: number; idleMs?: number; breaker?: string; primaryCtx?: number; extra?: string } = {}) {
  gw = await startGateway(`
upstreams:
${upstreamYaml('primary', primary.url, [{ name: 'primary-model', contextWindow: opts.primaryCtx ?? 8192 }], opts)}
${upstreamYaml('secondary', secondary.url, [{ name: 'secondary-model', contextWindow: 32768 }], opts)}
fallbacks:
  primary-model: [secondary-model]
${opts.extra ?? ''}
`);
  return gw;
}

const url = () => `${gw!.url}/v1/chat/completions`;

describe('retries on the same upstream', () => {
  it('retries a 500 and succeeds on the 200 that follows', async () => {
    primary.setBehavior([{ kind: 'status', status: 500 }, { kind: 'ok' }]);
    await gateway();
    const r = await postJson(url(), chat('hello'));
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('echo: hello');
    expect(r.headers.get('x-switchyard-upstream')).toBe('primary');
    expect(r.headers.get('x-switchyard-attempts')).toBe('2');
    expect(primary.requests).toHaveLength(2);
    expect(secondary.requests).toHaveLength(0);
  });

  it('honours a short Retry-After on 429 before retrying', async () => {
    primary.setBehavior([{ kind: 'rate-limit', retryAfter: '1' }, { kind: 'ok' }]);
    await gateway();
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(primary.requests).toHaveLength(2);
    const gap = primary.requests[1]!.time - primary.requests[0]!.time;
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('retries a 429 without Retry-After after a backoff', async () => {
    primary.setBehavior([{ kind: 'rate-limit' }, { kind: 'ok' }]);
    await gateway();
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-attempts')).toBe('2');
  });

  it('moves to the fallback when Retry-After is longer than it will wait, and cools the upstream down', async () => {
    primary.setBehavior({ kind: 'rate-limit', retryAfter: '120' });
    await gateway();
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(primary.requests).toHaveLength(1);
    const r2 = await postJson(url(), chat('again'));
    expect(r2.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(primary.requests).toHaveLength(1);
  });
});

describe('fallback chains', () => {
  it('falls back on a persistent 503', async () => {
    primary.setBehavior({ kind: 'status', status: 503 });
    await gateway();
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(r.headers.get('x-switchyard-model')).toBe('secondary-model');
    expect(r.headers.get('x-switchyard-attempts')).toBe('3');
    expect(r.json.model).toBe('secondary-model');
  });

  it('falls back on a TCP reset before the headers', async () => {
    primary.setBehavior({ kind: 'reset' });
    await gateway({ retries: 0 });
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
  });

  it('falls back when the upstream never answers (first-token timeout)', async () => {
    primary.setBehavior({ kind: 'hang' });
    await gateway({ retries: 0, firstTokenMs: 300 });
    const t0 = Date.now();
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('waits for a slow first token within the limit, and gives up past it', async () => {
    primary.setBehavior({ kind: 'slow-first-token', ms: 100 });
    await gateway({ retries: 0, firstTokenMs: 600 });
    const ok = await postJson(url(), chat('hi', { stream: true }));
    expect(ok.headers.get('x-switchyard-upstream')).toBe('primary');
    primary.setBehavior({ kind: 'slow-first-token', ms: 1500 });
    const slow = await postJson(url(), chat('hi', { stream: true }));
    expect(slow.status).toBe(200);
    expect(slow.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(sseEvents(slow.text).at(-1)!.data).toBe('[DONE]');
  });

  it('answers 502 in OpenAI format, naming the upstreams, when every candidate fails', async () => {
    primary.setBehavior({ kind: 'status', status: 503 });
    secondary.setBehavior({ kind: 'status', status: 500 });
    await gateway({ retries: 0 });
    const r = await postJson(url(), chat('hi'));
    expect(r.status).toBe(502);
    expect(r.json.error.type).toBe('api_error');
    expect(r.json.error.message).toContain('secondary');
    expect(r.headers.get('x-switchyard-attempts')).toBe('2');
  });

  it('moves a context overflow to a model with a larger window without retrying the same one', async () => {
    primary.setBehavior({ kind: 'context-length-exceeded' });
    await gateway({ retries: 3 });
    const r = await postJson(url(), chat('a long prompt'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(primary.requests).toHaveLength(1);
  });

  it('returns a content-policy rejection to the caller unretried and without fallback', async () => {
    primary.setBehavior({ kind: 'content-policy' });
    await gateway({ retries: 3 });
    const r = await postJson(url(), chat('something bad'));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('content_policy_violation');
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(0);
  });
});

describe('breakers', () => {
  it('opens on a primary that is down, routes around it, and closes after a half-open probe succeeds', async () => {
    primary.setBehavior({ kind: 'down-for', ms: 400 });
    await gateway({ retries: 0, breaker: '{ volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600 }' });
    for (let i = 0; i < 2; i++) {
      const r = await postJson(url(), chat(`q${i}`));
      expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    }
    expect(gw!.switchyard.registry.deployment('primary-model')!.breaker.state).toBe('open');
    const seen = primary.requests.length;
    const r = await postJson(url(), chat('while open'));
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    expect(r.headers.get('x-switchyard-attempts')).toBe('1');
    expect(primary.requests).toHaveLength(seen);
    await new Promise((res) => setTimeout(res, 700));
    const probe = await postJson(url(), chat('probe'));
    expect(probe.headers.get('x-switchyard-upstream')).toBe('primary');
    expect(gw!.switchyard.registry.deployment('primary-model')!.breaker.state).toBe('closed');
  });

  it('does not count client errors (4xx other than 408/429) against the breaker', async () => {
    primary.setBehavior({ kind: 'status', status: 400, body: { error: { message: 'bad param', type: 'invalid_request_error' } } });
    await gateway({ retries: 0, breaker: '{ volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60000 }' });
    for (let i = 0; i < 3; i++) {
      const r = await postJson(url(), chat(`q${i}`));
      expect(r.status).toBe(400);
    }
    expect(gw!.switchyard.registry.deployment('primary-model')!.breaker.state).toBe('closed');
  });
});

describe('streams', () => {
  it('fails over when the stream dies before its first byte reached the client', async () => {
    primary.setBehavior({ kind: 'reset' });
    await gateway({ retries: 0 });
    const r = await postJson(url(), chat('hi', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    expect(r.headers.get('x-switchyard-upstream')).toBe('secondary');
    const evs = sseEvents(r.text);
    expect(evs.at(-1)!.data).toBe('[DONE]');
    const text = evs.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('echo: hi');
  });

  // With resume off (or no candidate left) a stream that fails mid-answer ends in-band; resume.test.ts covers the rescue.
  for (const [name, behavior, idleMs] of [
    ['cut mid-answer', { kind: 'cut-mid-stream', afterChunks: 2 }, 2000],
    ['stalled', { kind: 'stall', afterChunks: 2 }, 300],
  ] as const) {
    it(`ends a stream ${name} with an in-band error event when it cannot be resumed, never as a complete answer`, async () => {
      primary.setBehavior(behavior);
      await gateway({ retries: 0, idleMs, extra: 'resume: { maxResumes: 0 }' });
      const r = await postJson(url(), chat('tell me a long story', { stream: true }));
      expect(r.status).toBe(200);
      const evs = sseEvents(r.text);
      expect(evs.some((e) => e.data === '[DONE]')).toBe(false);
      const last = JSON.parse(evs.at(-1)!.data);
      expect(last.error).toBeDefined();
      expect(last.error.code).toBe('stream_interrupted');
      expect(evs.some((e) => e.data.includes('not json'))).toBe(false);
      expect(secondary.requests).toHaveLength(0);
    });
  }

  it('does not forward the usage chunk it asked for when the client did not', async () => {
    await gateway();
    const r = await postJson(url(), chat('hi', { stream: true }));
    expect((primary.requests[0]!.body as Record<string, unknown>).stream_options).toEqual({ include_usage: true });
    const chunks = sseEvents(r.text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
    expect(chunks.every((c) => c.choices.length > 0)).toBe(true);
    const withUsage = await postJson(url(), chat('hi', { stream: true, stream_options: { include_usage: true } }));
    const last = sseEvents(withUsage.text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data)).at(-1);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('aborts the upstream call when the client disconnects', async () => {
    primary.setBehavior({ kind: 'ok', chunkDelayMs: 200, answer: 'one two three four five six seven eight nine ten' });
    await gateway();
    const records: { status: number; error?: string }[] = [];
    gw!.switchyard.events.on('decision', (r) => records.push(r));
    const ac = new AbortController();
    const res = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat('hi', { stream: true })), signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    // Wait for the decision record of the abandoned request (an event), not for time.
    const up = gw!.switchyard.registry.upstream('primary')!;
    for (let i = 0; i < 2000 && (records.length === 0 || up.inFlight > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(gw!.switchyard.registry.upstream('primary')!.inFlight).toBe(0);
    expect(records.at(-1)).toMatchObject({ status: 499, error: 'client_disconnected' });
    expect(gw!.switchyard.registry.deployment('primary-model')!.breaker.state).toBe('closed');
  });
});
