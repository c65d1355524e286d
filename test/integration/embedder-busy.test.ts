/**
 * A full embedder queue never makes a request wait: the semantic stage is
 * skipped, the answer comes from the upstream, and the lookup is reported as
 * `miss-embedder-busy` (header, metrics, cache stats). Real gateway, real
 * fake upstream, and a real HTTP embeddings server that holds its answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import type { BatchingEmbedder } from '../../src/embedding/batcher.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

/** An OpenAI-style `/v1/embeddings` server; answers to inputs `hold` picks wait until `release()`. */
async function startGatedEmbeddings(hold: (input: string[]) => boolean): Promise<{ url: string; received: string[][]; arrived(n: number): Promise<void>; release(): void; close(): Promise<void> }> {
  const received: string[][] = [];
  let held: (() => void)[] = [];
  let gate = true;
  const watchers: (() => void)[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const input = (JSON.parse(Buffer.concat(chunks).toString()) as { input: string[] }).input;
      received.push(input);
      for (const w of watchers.splice(0)) w();
      const answer = () => {
        const body = JSON.stringify({ object: 'list', model: 'gated', data: input.map((_, i) => ({ object: 'embedding', index: i, embedding: [1, 0, 0, 0] })), usage: { prompt_tokens: 1, total_tokens: 1 } });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      };
      if (gate && hold(input)) held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    arrived: async (n) => {
      while (received.length < n) await new Promise<void>((r) => watchers.push(r));
    },
    release: () => {
      gate = false;
      for (const a of held) a();
      held = [];
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

let up: FakeProvider;
let emb: Awaited<ReturnType<typeof startGatedEmbeddings>>;
let gw: RunningServer;

beforeAll(async () => {
  up = await startFakeOpenAI();
  emb = await startGatedEmbeddings((input) => input.some((t) => t.includes('quokka')));
  gw = await startGateway(`upstreams:
${upstreamYaml('primary', up.url, 'gpt-4o-mini')}
cache:
  semantic:
    embedding: { kind: openai-compatible, baseUrl: '${emb.url}', model: gated, dim: 4, batch: { maxBatch: 8, maxWaitMs: 1, maxQueue: 1 } }
`);
  // Routing's task prototypes are embedded at start: let that finish so the queue is empty.
  const embedder = gw.switchyard.cache!.embedder as BatchingEmbedder;
  await emb.arrived(1);
  while (embedder.queued > 0) await new Promise((r) => setTimeout(r, 10));
});
afterAll(async () => {
  await gw?.close();
  await emb?.close();
  await up?.close();
});

const ask = (text: string, key: string) => postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] }, { authorization: `Bearer ${key}` });

it('skips the semantic lookup when the embedder queue is full, answers from the upstream, and says so', async () => {
  // A fills the queue (its embedding is held by the server)...
  const before = emb.received.length;
  const first = ask('How long does a quokka live in the wild?', 'key-a');
  await emb.arrived(before + 1);
  // ...so B gets no place in it: answered at once, without waiting for A.
  const second = await ask('Name three moons of Jupiter.', 'key-b');
  expect(second.status).toBe(200);
  expect(second.headers.get('x-switchyard-cache')).toBe('miss-embedder-busy');
  expect(second.json.choices[0].message.content).toBe('echo: Name three moons of Jupiter.');
  expect(emb.received.flat()).not.toContain('Name three moons of Jupiter.'); // never queued

  emb.release();
  const a = await first;
  expect(a.status).toBe(200);
  expect(a.headers.get('x-switchyard-cache')).toBe('miss');

  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  expect(metrics).toMatch(/switchyard_cache_lookups_total\{result="miss-embedder-busy"\} 1\b/);
  expect(gw.switchyard.cache!.stats()).toMatchObject({ missesEmbedderBusy: 1 });
});

it('still stores the busy request\'s answer in the exact cache', async () => {
  // B's answer was stored exact-only (cache writes follow the response): a repeat is an exact hit.
  let again = await ask('Name three moons of Jupiter.', 'key-b');
  for (let i = 0; i < 750 && again.headers.get('x-switchyard-cache') !== 'hit-exact'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await ask('Name three moons of Jupiter.', 'key-b');
  }
  expect(again.headers.get('x-switchyard-cache')).toBe('hit-exact');
});
