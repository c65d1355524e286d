/**
 * The cache facade's semantic memory: prompt text is kept only where it is
 * read (the verifier, or `keepPromptText`), and `cache.semantic.maxBytes`
 * reaches the in-process index (stats report its size).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createResponseCache, type ResponseCache } from '../../src/cache/index.js';
import { MemoryVectorStore } from '../../src/cache/vector/memory.js';
import { cacheSchema, type CacheConfigInput } from '../../src/config/cache.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';

const DIM = 8;
/** Every text gets the same direction: any two questions are neighbours. */
class SameEmbedder implements Embedder {
  readonly id = 'same';
  readonly dim = DIM;
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    return texts.map(() => Float32Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0)));
  }
}

const req = (q: string): CanonicalRequest => ({ operation: 'chat', protocol: 'openai', model: 'gpt-x', messages: [{ role: 'user', content: q }], stream: false, extra: {} });

let cache: ResponseCache | undefined;
afterEach(async () => {
  await cache?.close();
  cache = undefined;
});

async function storedText(semantic: CacheConfigInput['semantic']): Promise<string> {
  const store = new MemoryVectorStore({ maxEntries: 10 });
  cache = createResponseCache(cacheSchema.parse({ semantic }), { embedder: new SameEmbedder(), vectorStore: store });
  const look = await cache.lookup({ req: req('My account number is 1234, why was I charged twice?'), tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
  await cache.store(look.ticket!, { id: 'r', model: 'gpt-x', created: 0, text: 'Because of a retry.', finishReason: 'stop' });
  const [hit] = store.searchSync(look.ticket!.partition.id, Float32Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0)), 1);
  return hit!.record.text;
}

describe('semantic cache memory', () => {
  it('keeps no prompt text when neither the verifier nor keepPromptText needs it', async () => {
    expect(await storedText({ verifier: false })).toBe('');
  });

  it('keeps the prompt text for the verifier, or when keepPromptText is set', async () => {
    expect(await storedText({ verifier: true })).toContain('why was I charged twice');
    expect(await storedText({ verifier: false, keepPromptText: true })).toContain('why was I charged twice');
  });

  it('bounds the in-process index by cache.semantic.maxBytes and reports its size', async () => {
    cache = createResponseCache(cacheSchema.parse({ semantic: { verifier: false, maxBytes: 40_000 } }), { embedder: new SameEmbedder() });
    for (let i = 0; i < 200; i++) {
      const look = await cache.lookup({ req: req(`question ${i}`), tenant: `t${i}`, modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
      await cache.store(look.ticket!, { id: `r${i}`, model: 'gpt-x', created: 0, text: 'x'.repeat(500), finishReason: 'stop' });
    }
    const s = cache.stats();
    expect(s.semanticBytes).toBeGreaterThan(0);
    expect(s.semanticBytes).toBeLessThanOrEqual(40_000);
    expect(s.semanticEntries).toBeGreaterThan(5);
    expect(s.semanticEntries).toBeLessThan(200);
  });
});
