/**
 * The sidecar's server takes the same slow-client limits as the gateway: a
 * body trickled a byte at a time is cut off (real llama.cpp sidecar, tiny model).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSidecar, type RunningSidecar } from '../../src/sidecar/index.js';
import { tinyLlamaGguf } from '../fixtures/gguf.js';
import { rawClient, trickle } from '../helpers/raw-socket.js';

let sc: RunningSidecar;
beforeAll(async () => {
  sc = await startSidecar({
    modelPath: tinyLlamaGguf(),
    port: 0,
    embeddings: false,
    limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 },
    logger: pino({ level: 'silent' }),
  });
}, 60_000);
afterAll(() => sc?.close());

it('cuts off a request body trickled past requestTimeoutMs with a 408', async () => {
  const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'one byte at a time, forever' }], max_tokens: 4 });
  const c = rawClient(sc.port);
  await c.connected;
  c.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`);
  const t = trickle(c, body, 50);
  await c.closed;
  expect(t.sent()).toBeLessThan(body.length);
  expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
});

it('applies the gateway defaults when no limits are given', async () => {
  const { DEFAULT_SERVER_LIMITS } = await import('../../src/adapters/node/limits.js');
  expect(sc.server.maxConnections).toBe(DEFAULT_SERVER_LIMITS.maxConnections);
  expect(sc.server.requestTimeout).toBe(600);
});
