/**
 * Prompts the privacy signal flags are never written to Redis: with the
 * semantic index in Redis they skip the semantic cache (no question text, no
 * vector leaves the process), and the exact cache stores only a digest key
 * and the answer. Checked against the real Redis: no key or value under the
 * test's prefix holds the prompt.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createResponseCache } from '../../src/cache/index.js';
import type { VectorMatch, VectorRecord, VectorStore } from '../../src/cache/types.js';
import { MemoryVectorStore } from '../../src/cache/vector/memory.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { upstreamYaml } from '../helpers/gateway.js';

const prefix = `sy-test-privacy-${randomBytes(4).toString('hex')}:`;
const redis = createClient({ url: 'redis://127.0.0.1:6379' });

/** An in-process embedder that records what it was asked to embed. */
class RecordingEmbedder implements Embedder {
  readonly id = 'recording';
  readonly dim = 4;
  readonly seen: string[] = [];
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.seen.push(...texts);
    return texts.map(() => Float32Array.from([0.5, 0.5, 0.5, 0.5]));
  }
}

/** Stands in for the RediSearch store (none on this machine): says `redis`, records what would be written there. */
class RedisKindVectors implements VectorStore {
  readonly kind = 'redis' as const;
  readonly written: VectorRecord[] = [];
  private readonly inner = new MemoryVectorStore({ maxEntries: 100, embedderId: 'recording' });
  async add(v: Float32Array, r: VectorRecord): Promise<void> {
    this.written.push(r);
    await this.inner.add(v, r);
  }
  search(p: string, v: Float32Array, k: number): Promise<VectorMatch[]> {
    return this.inner.search(p, v, k);
  }
  purge(p: string): Promise<number> {
    return this.inner.purge(p);
  }
  size(): number {
    return this.inner.size();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let up: FakeProvider;
let sy: Switchyard;
const embedder = new RecordingEmbedder();
const vectors = new RedisKindVectors();

beforeAll(async () => {
  await redis.connect();
  up = await startFakeOpenAI();
  const cfg = parseConfig(`
upstreams:
${upstreamYaml('primary', up.url, 'primary-model')}
cache:
  store: redis
  redis: { keyPrefix: "${prefix}", commandTimeoutMs: 2000 }
  semantic: { vectorStore: redis }
`);
  sy = new Switchyard(cfg, { cache: createResponseCache(cfg.cache, { embedder, vectorStore: vectors }) });
});
afterAll(async () => {
  await sy?.close();
  await up?.close();
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
});

function request(text: string) {
  return { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: 'Bearer key-a' }, body: Buffer.from(JSON.stringify({ model: 'primary-model', messages: [{ role: 'user', content: text }] })) };
}

/** Decides, then stores an answer with the request's ticket, as the response side does. */
async function askAndStore(text: string): Promise<void> {
  const out = await sy.decide(request(text));
  const ticket = 'ctx' in out ? out.ctx?.cacheTicket : undefined;
  expect(ticket).toBeDefined();
  await sy.cache!.store(ticket!, { id: 'r', model: 'primary-model', created: 1, text: 'Noted.', finishReason: 'stop' });
}

it('keeps a flagged prompt out of the Redis semantic index and out of every Redis key and value', async () => {
  expect(sy.cache!.storesQuestionsRemotely).toBe(true);
  expect(sy.cache!.embedsRemotely).toBe(false);
  const secret = 'Please write to jane.doe@example.com about the invoice';
  await askAndStore(secret);
  expect(embedder.seen.some((t) => t.includes('jane.doe'))).toBe(false);
  expect(vectors.written.some((r) => r.text.includes('jane.doe'))).toBe(false);
  const found: string[] = [];
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    for (const k of keys) {
      found.push(k);
      expect(k).not.toContain('jane.doe');
      expect(String(await redis.get(k))).not.toContain('jane.doe');
    }
  }
  expect(found.length).toBe(1); // the exact entry: digest key, answer only

  // An ordinary question still uses the semantic index.
  await askAndStore('What is the tallest mountain on Earth?');
  expect(embedder.seen).toContain('What is the tallest mountain on Earth?');
  expect(vectors.written).toHaveLength(1);
  // Stored with the verifier's signature, not its text (keepPromptText is off by default).
  expect(vectors.written[0]!.text).toBe('');
  expect(vectors.written[0]!.sig).toMatch(/^s1\|/);
});
