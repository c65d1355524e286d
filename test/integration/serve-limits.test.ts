/**
 * HTTP server limits of `switchyard serve` against hostile clients on real
 * sockets: slow-loris headers, a body trickled a byte at a time, too many
 * sockets, too many requests on one socket, idle keep-alive. Limits are
 * test-sized; every wait is for the socket's own `close` event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { sseEvents, startGateway, upstreamYaml } from '../helpers/gateway.js';
import { rawClient, trickle, waitFor, type RawClient } from '../helpers/raw-socket.js';

const openSockets: RawClient[] = [];
afterEach(() => {
  for (const c of openSockets.splice(0)) c.socket.destroy();
});
function client(port: number): RawClient {
  const c = rawClient(port);
  openSockets.push(c);
  return c;
}

/**
 * A socket that got one `/livez` answer. Retries while the server still
 * counts sockets of an earlier test (their close reaches it asynchronously).
 */
async function servedClient(port: number): Promise<RawClient> {
  for (;;) {
    const c = client(port);
    c.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    const ok = await waitFor(c, '"status":"ok"').then(
      () => true,
      () => false,
    );
    if (ok) return c;
  }
}

describe('serve: slow clients are cut off', () => {
  let gw: RunningServer;
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gw = await startGateway(`server:
  headersTimeoutMs: 400
  requestTimeoutMs: 800
  keepAliveTimeoutMs: 300
upstreams:
${upstreamYaml('fake', fake.url, 'gpt-4o-mini')}`);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('closes a socket whose headers trickle in past headersTimeoutMs, with a 408', async () => {
    const c = client(gw.port);
    await c.connected;
    // 60 header bytes at 50 ms each would take 3 s: well past the 400 ms limit.
    const t = trickle(c, 'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-slow-loris: aaaaaaaaaaaaaaaaaaa\r\n\r\n', 50);
    await c.closed;
    expect(t.sent()).toBeLessThan(60);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a socket whose body trickles in past requestTimeoutMs, with a 408, and never calls the upstream', async () => {
    const before = fake.requests.length;
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a body sent one byte at a time' }] });
    const c = client(gw.port);
    await c.connected;
    c.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
    const t = trickle(c, body, 50);
    await c.closed;
    expect(t.sent()).toBeLessThan(body.length);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(fake.requests.length).toBe(before);
  });

  it('does not cut a streamed answer that lasts longer than requestTimeoutMs', async () => {
    // 12 chunks 150 ms apart: the answer takes ~1.8 s, more than twice the 800 ms request limit.
    fake.setBehavior({ kind: 'ok', answer: 'one two three four five six seven eight nine ten eleven twelve', chunkDelayMs: 150 });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long stream' }] }),
    });
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text());
    expect(events.at(-1)?.data).toBe('[DONE]');
    const text = events
      .filter((e) => e.data !== '[DONE]')
      .map((e) => (JSON.parse(e.data) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('one two three four five six seven eight nine ten eleven twelve');
    fake.setBehavior({ kind: 'ok' });
  });

  it('closes an idle keep-alive socket after keepAliveTimeoutMs', async () => {
    const c = client(gw.port);
    c.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    await waitFor(c, '"status":"ok"');
    expect(c.received()).toMatch(/keep-alive/i);
    await c.closed; // nothing more is sent: the server ends the idle socket
    expect(c.received().match(/HTTP\/1\.1 200/g)).toHaveLength(1);
  });

  it('still answers a client that sends its request at a normal pace', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key-b' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(res.status).toBe(200);
  });
});

describe('serve: connection and per-socket request caps', () => {
  let gw: RunningServer;
  beforeAll(async () => {
    gw = await startGateway(`server:
  maxConnections: 2
  maxRequestsPerSocket: 2
`);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('closes connections past maxConnections at once, and accepts again when one goes', async () => {
    const a = client(gw.port);
    const b = client(gw.port);
    // Both are accepted: each gets an answer and stays open (keep-alive).
    a.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    b.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    await Promise.all([waitFor(a, '"status":"ok"'), waitFor(b, '"status":"ok"')]);

    const c = client(gw.port);
    c.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    await c.closed;
    expect(c.received()).toBe('');

    // Free a slot; the server sees the close, after which a new socket is served.
    a.socket.end();
    await a.closed;
    const d = await servedClient(gw.port);
    expect(d.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('closes a keep-alive socket after maxRequestsPerSocket requests', async () => {
    const c = await servedClient(gw.port);
    expect(c.received()).not.toMatch(/connection: close/i);
    c.socket.write('GET /livez HTTP/1.1\r\nhost: x\r\n\r\n');
    await c.closed;
    const text = c.received();
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(text).toMatch(/connection: close/i);
  });
});

describe('server limits config', () => {
  it('has production defaults', async () => {
    const { configSchema } = await import('../../src/config/schema.js');
    const s = configSchema.parse({}).server;
    expect(s).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, maxConnections: 4096, maxRequestsPerSocket: 1000 });
  });
  it('checks deadlines often enough for them to fire on time', async () => {
    const { serverOptions } = await import('../../src/adapters/node/limits.js');
    expect(serverOptions({})).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 });
    // Node refuses a headers timeout above a non-zero request timeout: it is capped instead.
    expect(serverOptions({ headersTimeoutMs: 5_000, requestTimeoutMs: 2_000 })).toMatchObject({ headersTimeout: 2_000, requestTimeout: 2_000, connectionsCheckingInterval: 200 });
  });
});
