/**
 * Variant (a), nginx/switchyard-front.conf as shipped (addresses and one
 * timeout substituted), with Debian's nginx in front of `switchyard serve`
 * and a fake provider behind it: the request path, unbuffered streaming, and
 * what the client sees when nginx's proxy_read_timeout or Switchyard's own
 * timeout fires first.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { NGINX_SKIP_REASON, repoConf, startNginx, type RunningNginx } from '../fixtures/nginx.js';
import { chat, postJson, sseEvents, startGateway, upstreamYaml } from '../helpers/gateway.js';

const NGINX_READ_TIMEOUT_MS = 1500;

let fake: FakeProvider;
let gw: RunningServer;
let ngx: RunningNginx;

describe.skipIf(NGINX_SKIP_REASON !== undefined)(`nginx in front of switchyard serve${NGINX_SKIP_REASON ? ` (skipped: ${NGINX_SKIP_REASON})` : ''}`, () => {
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    // `patient`: Switchyard waits longer than nginx; `quick`: Switchyard gives up first.
    gw = await startGateway(`
upstreams:
${upstreamYaml('patient', fake.url, 'primary-model', { retries: 0, firstTokenMs: 8000, idleMs: 8000 })}
${upstreamYaml('quick', fake.url, 'quick-model', { retries: 0, firstTokenMs: 400, idleMs: 400 })}
cache: { enabled: false }
`);
    ngx = await startNginx(
      repoConf('switchyard-front.conf', [
        ['server 127.0.0.1:8080;', `server 127.0.0.1:${gw.port};`],
        ['proxy_read_timeout 300s;', `proxy_read_timeout ${NGINX_READ_TIMEOUT_MS}ms;`],
      ]),
    );
  });
  afterAll(async () => {
    await ngx?.close();
    await gw?.close();
    await fake?.close();
  });
  beforeEach(() => fake.setBehavior({ kind: 'ok' }));

  it('carries a request through nginx to Switchyard and on to the upstream', async () => {
    const before = fake.requests.length;
    const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('hello through nginx'));
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('echo: hello through nginx');
    expect(r.headers.get('x-switchyard-upstream')).toBe('patient');
    expect(r.headers.get('x-switchyard-attempts')).toBe('1');
    expect(r.headers.get('server')).toMatch(/^nginx/);
    expect(fake.requests.length).toBe(before + 1);
  });

  it('streams chunk by chunk: the first chunk arrives long before the last', async () => {
    const delay = 250;
    fake.setBehavior({ kind: 'ok', answer: 'one two three four five six', chunkDelayMs: delay });
    const t0 = performance.now();
    const res = await fetch(`${ngx.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat('count slowly', { stream: true })),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const arrivals: { t: number; text: string }[] = [];
    const decoder = new TextDecoder();
    for await (const part of res.body!) arrivals.push({ t: performance.now() - t0, text: decoder.decode(part as Uint8Array, { stream: true }) });
    const text = arrivals.map((a) => a.text).join('');
    const firstContent = arrivals.find((a) => a.text.includes('"content":"one'))!;
    const last = arrivals.at(-1)!;
    expect(sseEvents(text).at(-1)!.data).toBe('[DONE]');
    // Six chunks 250 ms apart: buffered, everything would land at once at the end.
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    expect(last.t - firstContent.t).toBeGreaterThan(4 * delay);
  });

  it("nginx's proxy_read_timeout firing first: 504 in OpenAI error JSON from nginx, well before Switchyard's own timeout", async () => {
    fake.setBehavior({ kind: 'hang' });
    const t0 = performance.now();
    const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('are you there?'));
    const took = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(r.json.error.code).toBe('gateway_timeout');
    expect(r.headers.get('x-switchyard-upstream')).toBeNull(); // nginx answered, not Switchyard
    // nginx gave up after its read timeout; Switchyard (firstTokenMs 8000) had not (it would have answered
    // with its own 504 and x-switchyard-upstream, checked above). A lower bound only: a busy machine is slower.
    expect(took).toBeGreaterThanOrEqual(NGINX_READ_TIMEOUT_MS - 100);
    expect(ngx.errorLog()).toContain('upstream timed out');
  });

  it("Switchyard's timeout firing first (idleMs < proxy_read_timeout): the in-band error event reaches the client through nginx", async () => {
    fake.setBehavior({ kind: 'stall', afterChunks: 1 });
    const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('a long story', { model: 'quick-model', stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('quick');
    const events = sseEvents(r.text);
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(JSON.parse(events.at(-1)!.data).error.code).toBe('stream_interrupted');
  });

  it("Switchyard's own errors pass through nginx untouched (JSON, status, decision headers)", async () => {
    const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('x', { model: 'no-such-model' }));
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('model_not_found');
    expect(r.headers.get('x-switchyard-error')).toBe('model_not_found');
  });
});
