/**
 * The cache facade's semantic memory: prompt text is kept only with
 * `keepPromptText` (the verifier reads a signature of it), and `cache.semantic.maxBytes`
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
  return (await stored(semantic)).text;
}

async function stored(semantic: CacheConfigInput['semantic']) {
  const store = new MemoryVectorStore({ maxEntries: 10 });
  cache = createResponseCache(cacheSchema.parse({ semantic }), { embedder: new SameEmbedder(), vectorStore: store });
  const look = await cache.lookup({ req: req('My account number is 1234, why was I charged twice?'), tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
  await cache.store(look.ticket!, { id: 'r', model: 'gpt-x', created: 0, text: 'Because of a retry.', finishReason: 'stop' });
  const [hit] = store.searchSync(look.ticket!.partition.id, Float32Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0)), 1);
  return hit!.record;
}

describe('semantic cache memory', () => {
  it('keeps no prompt text by default, with the verifier on: only its signature, in which no word is readable', async () => {
    const r = await stored({});
    expect(r.text).toBe('');
    expect(r.sig).toMatch(/^s1\|/);
    for (const word of ['account', 'charged', 'charg', 'twice', '1234']) expect(r.sig).not.toContain(word);
    expect(r.sig!.length).toBeLessThan(200);
    expect(await storedText({ verifier: false })).toBe('');
    expect((await stored({ verifier: false })).sig).toBeUndefined();
  });

  it('keeps the prompt text only when keepPromptText is set', async () => {
    expect(await storedText({ keepPromptText: true })).toContain('why was I charged twice');
    expect(await storedText({ verifier: false, keepPromptText: true })).toContain('why was I charged twice');
  });

  it('the verifier still tells questions apart from the stored signature alone (any two texts are neighbours here)', async () => {
    cache = createResponseCache(cacheSchema.parse({}), { embedder: new SameEmbedder() });
    const ask = (q: string) => cache!.lookup({ req: req(q), tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
    const first = await ask('How do I lose weight in 2 weeks?');
    await cache.store(first.ticket!, { id: 'r', model: 'gpt-x', created: 0, text: 'Two-week plan.', finishReason: 'stop' });
    expect((await ask('How do I lose weight in 6 months?')).result).toBe('miss'); // numbers differ
    expect((await ask('Why is Rust not garbage collected?')).result).toBe('miss');
    const same = await ask('How can I lose weight in 2 weeks?');
    expect(same.result).toBe('hit-semantic');
    expect(same.response?.text).toBe('Two-week plan.');
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
