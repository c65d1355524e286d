import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../src/embedding/index.js';
import { OpenAICompatibleEmbedder } from '../../src/embedding/openai-compatible.js';

interface Seen {
  path: string;
  auth: string | undefined;
  body: { model: string; input: string[]; encoding_format?: string };
}

let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
let respond: (req: Seen, res: ServerResponse) => void;

/** A real embeddings server: vector of a text = [length, 1, 0] (not normalised), returned in reverse order with indices. */
function defaultRespond(req: Seen, res: ServerResponse): void {
  const data = req.body.input.map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1, 0] })).reverse();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', model: req.body.model, data }));
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const s: Seen = { path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(raw || '{}') as Seen['body'] };
      seen.push(s);
      respond(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  seen = [];
  respond = defaultRespond;
  delete process.env.TEST_EMBED_KEY;
});

describe('OpenAICompatibleEmbedder', () => {
  it('POSTs the texts to {baseUrl}/embeddings and returns unit vectors in input order', async () => {
    const e = new OpenAICompatibleEmbedder({ baseUrl: `${baseUrl}/`, model: 'tiny-embed' });
    const out = await e.embed(['abc', 'a']);
    expect(seen[0]!.path).toBe('/v1/embeddings');
    expect(seen[0]!.body).toEqual({ model: 'tiny-embed', input: ['abc', 'a'], encoding_format: 'float' });
    expect(seen[0]!.auth).toBeUndefined();
    expect(Array.from(out[0]!)).toEqual([3 / Math.hypot(3, 1), 1 / Math.hypot(3, 1), 0].map((x) => Math.fround(x)));
    expect(Array.from(out[1]!)).toEqual([Math.fround(Math.SQRT1_2), Math.fround(Math.SQRT1_2), 0]);
    expect(e.dim).toBe(3);
    expect(e.id).toBe('openai-compatible:tiny-embed');
  });

  it('learns dim in ready() with one probe, and sends the API key from the named environment variable', async () => {
    process.env.TEST_EMBED_KEY = 'sk-test-123';
    const e = new OpenAICompatibleEmbedder({ baseUrl, model: 'm', apiKeyEnv: 'TEST_EMBED_KEY' });
    expect(e.dim).toBe(0);
    await e.ready();
    await e.ready();
    expect(e.dim).toBe(3);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.auth).toBe('Bearer sk-test-123');
  });

  it('names a missing API key variable', async () => {
    const e = new OpenAICompatibleEmbedder({ baseUrl, model: 'm', apiKeyEnv: 'TEST_EMBED_KEY', dim: 3 });
    await expect(e.ready()).rejects.toThrow('environment variable TEST_EMBED_KEY (apiKeyEnv) is not set');
    await expect(e.embed(['x'])).rejects.toThrow(/TEST_EMBED_KEY/);
    expect(seen).toHaveLength(0);
  });

  it('reports HTTP errors with status, URL and the body', async () => {
    respond = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad key"}}');
    };
    const e = new OpenAICompatibleEmbedder({ baseUrl, model: 'm' });
    await expect(e.embed(['x'])).rejects.toThrow(`openai-compatible:m: POST ${baseUrl}/embeddings returned HTTP 401: {"error":{"message":"bad key"}}`);
  });

  it('rejects malformed answers and vectors of an unexpected length', async () => {
    respond = (_req, res) => res.end('not json');
    const e = new OpenAICompatibleEmbedder({ baseUrl, model: 'm', dim: 3 });
    await expect(e.embed(['x'])).rejects.toThrow(/not JSON/);
    respond = (_req, res) => res.end(JSON.stringify({ data: [] }));
    await expect(e.embed(['x'])).rejects.toThrow(/expected 1 embeddings/);
    respond = (_req, res) => res.end(JSON.stringify({ data: [{ index: 0, embedding: 'AAAA' }] }));
    await expect(e.embed(['x'])).rejects.toThrow(/not an array of numbers/);
    respond = (_req, res) => res.end(JSON.stringify({ data: [{ index: 0, embedding: [1, 2] }] }));
    await expect(e.embed(['x'])).rejects.toThrow('expected 3-d vectors, got 2-d');
  });

  it('reports an unreachable server with the URL', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = new OpenAICompatibleEmbedder({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
    await expect(e.embed(['x'])).rejects.toThrow(`POST http://127.0.0.1:${port}/v1/embeddings failed`);
  });

  it('is built from config by createEmbedder, batched: concurrent calls share one request', async () => {
    const e = createEmbedder({ kind: 'openai-compatible', baseUrl, model: 'm', batch: { maxBatch: 8, maxWaitMs: 5 } });
    const [a, b] = await Promise.all([e.embed(['one']), e.embed(['three'])]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body.input).toEqual(['one', 'three']);
    expect(a![0]![0]).toBeCloseTo(3 / Math.hypot(3, 1), 6);
    expect(b![0]![0]).toBeCloseTo(5 / Math.hypot(5, 1), 6);
    expect(e.id).toBe('openai-compatible:m');
  });
});
