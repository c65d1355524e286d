import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponseCache, type CacheLookupInput, type ResponseCache } from '../../src/cache/index.js';
import { verifyCandidate } from '../../src/cache/verify.js';
import { cacheSchema, type CacheConfigInput } from '../../src/config/cache.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { CanonicalMessage, CanonicalRequest, CanonicalResponse } from '../../src/protocol/canonical.js';

const DIM = 16;

/** A unit vector at cosine `similarity` from the axis `base`, tilted towards the axis `towards`. */
function at(similarity: number, towards = 1, base = 0): Float32Array {
  const v = new Float32Array(DIM);
  v[base] = similarity;
  v[towards] = Math.sqrt(1 - similarity * similarity);
  return v;
}

/**
 * Deterministic embedder: known questions map to fixed directions (so the
 * similarity of two questions is chosen by the test); any other text gets a
 * hashed direction of its own.
 */
class TableEmbedder implements Embedder {
  readonly id = 'test-table';
  readonly dim = DIM;
  calls = 0;
  fail = false;
  constructor(private readonly table: Record<string, Float32Array>) {}
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    if (this.fail) throw new Error('embedder down');
    return texts.map((t) => this.table[t] ?? hashed(t));
  }
}

function hashed(text: string): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < text.length; i++) v[(text.charCodeAt(i) * 31 + i) % DIM]! += 1;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const SKY = 'Why is the sky blue?';
const SKY_PARAPHRASE = 'Why does the sky appear blue?';
const SKY_FAR = 'Why is the sea blue?';
const PY_WEEKS = 'How do I learn Python in 2 weeks?';
const PY_MONTHS = 'How do I learn Python in 6 months?';

function table(): Record<string, Float32Array> {
  return {
    [SKY]: at(1),
    [SKY_PARAPHRASE]: at(0.95),
    [SKY_FAR]: at(0.5, 2),
    [PY_WEEKS]: at(1, 4, 3),
    [PY_MONTHS]: at(0.97, 4, 3),
  };
}

function req(messages: CanonicalMessage[] | string, over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  const msgs = typeof messages === 'string' ? [{ role: 'user' as const, content: messages }] : messages;
  return { operation: 'chat', protocol: 'openai', model: 'gpt-x', system: 'Be brief.', messages: msgs, stream: false, extra: {}, ...over };
}

function input(r: CanonicalRequest, over: Partial<CacheLookupInput> = {}): CacheLookupInput {
  return { req: r, tenant: 'tenant-a', modelGroup: 'fast', route: '/v1/chat/completions', noCache: false, noStore: false, ...over };
}

function answer(text: string, over: Partial<CanonicalResponse> = {}): CanonicalResponse {
  return { id: 'resp-1', model: 'gpt-x', created: 1, text, finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 5 }, ...over };
}

describe('response cache facade (memory stores, test embedder)', () => {
  let cache: ResponseCache;
  let embedder: TableEmbedder;

  function make(cfg: CacheConfigInput = {}): ResponseCache {
    embedder = new TableEmbedder(table());
    // The verifier (verify.ts) is off unless a test turns it on: these tests pin the cache's mechanics, not its weights.
    cache = createResponseCache(cacheSchema.parse({ ...cfg, semantic: { threshold: 0.8, verifier: false, ...cfg.semantic } }), { embedder });
    return cache;
  }

  /** Looks up, and stores `text` as the answer when the lookup allows it. */
  async function prime(r: CanonicalRequest, text: string, over: Partial<CacheLookupInput> = {}, resp: Partial<CanonicalResponse> = {}) {
    const res = await cache.lookup(input(r, over));
    expect(res.ticket).toBeDefined();
    await cache.store(res.ticket!, answer(text, resp));
    return res;
  }

  afterEach(async () => {
    await cache?.close();
  });

  it('serves an exact hit, streamed or not, and embeds the question once per miss', async () => {
    make();
    const miss = await prime(req(SKY), 'Rayleigh scattering.');
    expect(miss.result).toBe('miss');
    expect(miss.embedding).toHaveLength(DIM);
    expect(embedder.calls).toBe(1); // the store reused the lookup's embedding
    const hit = await cache.lookup(input(req(SKY, { stream: true, protocol: 'anthropic' })));
    expect(hit.result).toBe('hit-exact');
    expect(hit.response?.text).toBe('Rayleigh scattering.');
    expect(hit.ticket).toBeUndefined();
    expect(cache.stats()).toMatchObject({ lookups: 2, hitsExact: 1, misses: 1, stores: 1, errors: 0, entries: 1 });
  });

  it('serves a paraphrase above the threshold as a semantic hit and reports its similarity', async () => {
    make();
    await prime(req(SKY), 'Rayleigh scattering.');
    const hit = await cache.lookup(input(req(SKY_PARAPHRASE)));
    expect(hit.result).toBe('hit-semantic');
    expect(hit.response?.text).toBe('Rayleigh scattering.');
    expect(hit.similarity).toBeCloseTo(0.95, 5);
    expect(hit.embedding).toHaveLength(DIM);
    expect(cache.stats().hitsSemantic).toBe(1);
  });

  it('misses below the threshold, and honours a per-route threshold', async () => {
    make({ routes: { '/v1/messages': { threshold: 0.99 } } });
    await prime(req(SKY), 'Rayleigh scattering.');
    expect((await cache.lookup(input(req(SKY_FAR)))).result).toBe('miss');
    expect((await cache.lookup(input(req(SKY_PARAPHRASE), { route: '/v1/messages' }))).result).toBe('miss');
  });

  it('does not serve a candidate the verifier rejects', async () => {
    make({ semantic: { verifier: true, verifierMinScore: 0.999 } });
    await prime(req(SKY), 'Rayleigh scattering.');
    expect((await cache.lookup(input(req(SKY_PARAPHRASE)))).result).toBe('miss');
    await cache.close();
    make({ semantic: { verifier: true, verifierMinScore: 0 } });
    await prime(req(SKY), 'Rayleigh scattering.');
    expect((await cache.lookup(input(req(SKY_PARAPHRASE)))).result).toBe('hit-semantic');
  });

  it('serves near neighbours exactly when the default verifier accepts them', async () => {
    make({ semantic: { verifier: true } });
    await prime(req(PY_WEEKS), 'Practice daily.');
    await prime(req(SKY), 'Rayleigh scattering.');
    for (const [query, cached, similarity] of [
      [PY_MONTHS, PY_WEEKS, 0.97],
      [SKY_PARAPHRASE, SKY, 0.95],
    ] as const) {
      const res = await cache.lookup(input(req(query)));
      expect(res.result).toBe(verifyCandidate(query, cached, similarity).accept ? 'hit-semantic' : 'miss');
    }
  });

  it('never serves one tenant’s entry to another, even for identical text', async () => {
    make();
    await prime(req(SKY), 'for tenant A');
    const b = await cache.lookup(input(req(SKY), { tenant: 'tenant-b' }));
    expect(b.result).toBe('miss');
    const bPara = await cache.lookup(input(req(SKY_PARAPHRASE), { tenant: 'tenant-b' }));
    expect(bPara.result).toBe('miss');
    expect((await cache.lookup(input(req(SKY), { modelGroup: 'smart' }))).result).toBe('miss');
  });

  it('never matches an "and in French?" follow-up from another conversation', async () => {
    make();
    const conv = (topic: string, reply: string): CanonicalMessage[] => [
      { role: 'user', content: topic },
      { role: 'assistant', content: reply },
      { role: 'user', content: 'and in French?' },
    ];
    await prime(req(conv('Say hello.', 'Hello!')), 'Bonjour !');
    const other = await cache.lookup(input(req(conv('Say goodbye.', 'Goodbye!'))));
    expect(other.result).toBe('miss');
    const same = await cache.lookup(input(req(conv('Say hello.', 'Hello!'))));
    expect(same.result).toBe('hit-exact');
  });

  it('partitions by system prompt and answer-changing parameters', async () => {
    make();
    await prime(req(SKY), 'brief');
    expect((await cache.lookup(input(req(SKY, { system: 'Answer like a pirate.' })))).result).toBe('miss');
    expect((await cache.lookup(input(req(SKY, { responseFormat: { type: 'json_object' } })))).result).toBe('miss');
    expect((await cache.lookup(input(req(SKY, { temperature: 0 })))).result).toBe('miss');
  });

  it('no-cache skips the lookup but may store; no-store neither looks up nor stores', async () => {
    make();
    await prime(req(SKY), 'old answer');
    const noCache = await cache.lookup(input(req(SKY), { noCache: true }));
    expect(noCache.result).toBe('bypass');
    expect(noCache.response).toBeUndefined();
    expect(noCache.ticket).toBeDefined();
    await cache.store(noCache.ticket!, answer('fresh answer'));
    expect((await cache.lookup(input(req(SKY)))).response?.text).toBe('fresh answer');

    const noStore = await cache.lookup(input(req(SKY), { noStore: true, noCache: true }));
    expect(noStore.result).toBe('bypass');
    expect(noStore.ticket).toBeUndefined();
    expect(noStore.response).toBeUndefined();
    expect(cache.stats().bypass).toBe(2);
  });

  it('refuses error, content-filtered and empty answers', async () => {
    make();
    for (const [q, resp] of [
      ['q-error', { finishReason: 'error' as const }],
      ['q-filter', { finishReason: 'content_filter' as const }],
      ['q-empty', { text: '' }],
    ] as const) {
      await prime(req(q), 'partial', {}, resp);
      expect((await cache.lookup(input(req(q)))).result).toBe('miss');
    }
    expect(cache.stats().stores).toBe(0);
    expect(cache.stats().entries).toBe(0);
  });

  it('does not store a tool-call turn unless cacheToolCalls is set', async () => {
    const toolCall = { text: '', finishReason: 'tool_calls' as const, toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }] };
    make();
    await prime(req('Weather in Oslo?'), '', {}, toolCall);
    expect((await cache.lookup(input(req('Weather in Oslo?')))).result).toBe('miss');
    await cache.close();
    make({ cacheToolCalls: true });
    await prime(req('Weather in Oslo?'), '', {}, toolCall);
    const hit = await cache.lookup(input(req('Weather in Oslo?')));
    expect(hit.result).toBe('hit-exact');
    expect(hit.response?.toolCalls?.[0]?.name).toBe('weather');
  });

  it('bypasses embeddings requests, disabled routes and models outside the list', async () => {
    make({ models: ['gpt-x'], routes: { '/v1/completions': { enabled: false } } });
    expect((await cache.lookup(input(req(SKY, { operation: 'embedding', input: ['a'] })))).result).toBe('bypass');
    const off = await cache.lookup(input(req(SKY), { route: '/v1/completions' }));
    expect(off).toEqual({ result: 'bypass' });
    expect((await cache.lookup(input(req(SKY, { model: 'other-model' })))).result).toBe('bypass');
    // The model group also qualifies (a tier named in `models`).
    await cache.close();
    make({ models: ['fast'] });
    expect((await cache.lookup(input(req(SKY, { model: 'other-model' })))).result).toBe('miss');
  });

  it('uses the per-route TTL', async () => {
    make({ ttlSeconds: 100, routes: { '/v1/messages': { ttlSeconds: 5 } } });
    expect((await cache.lookup(input(req(SKY)))).ticket?.ttlSeconds).toBe(100);
    expect((await cache.lookup(input(req(SKY), { route: '/v1/messages' }))).ticket?.ttlSeconds).toBe(5);
  });

  it('does not embed questions with images', async () => {
    make();
    const res = await cache.lookup(input(req([{ role: 'user', content: [{ type: 'text', text: SKY }, { type: 'image', url: 'https://x/1.png' }] }])));
    expect(res.result).toBe('miss');
    expect(res.embedding).toBeUndefined();
    expect(embedder.calls).toBe(0);
  });

  it('degrades to exact-only when the embedder fails, counting the error', async () => {
    make();
    await prime(req(SKY), 'Rayleigh scattering.');
    embedder.fail = true;
    const errorsBefore = cache.stats().errors;
    expect((await cache.lookup(input(req(SKY)))).result).toBe('hit-exact');
    const para = await cache.lookup(input(req(SKY_PARAPHRASE)));
    expect(para.result).toBe('miss');
    expect(para.ticket).toBeDefined();
    expect(cache.stats().errors).toBe(errorsBefore + 1);
    await cache.store(para.ticket!, answer('still stored exactly'));
    expect((await cache.lookup(input(req(SKY_PARAPHRASE)))).result).toBe('hit-exact');
  });

  it('never throws from lookup or store, even for a request it cannot key', async () => {
    make();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const res = await cache.lookup(input(req(SKY, { extra: { weird: circular } })));
    expect(res).toEqual({ result: 'miss' });
    expect(cache.stats().errors).toBe(1);
    const broken = { partition: { id: 'x', tenant: 't', modelGroup: 'g' }, key: 'x:y', ttlSeconds: Number.NaN, text: SKY };
    await expect(cache.store(broken, answer('a'))).resolves.toBeUndefined();
  });

  it('purges a tenant’s exact and semantic entries', async () => {
    make();
    await prime(req(SKY), 'a');
    await prime(req(SKY), 'b', { tenant: 'tenant-b' });
    expect(await cache.purge({ tenant: 'tenant-a' })).toBe(2);
    expect((await cache.lookup(input(req(SKY)))).result).toBe('miss');
    expect((await cache.lookup(input(req(SKY_PARAPHRASE)))).result).toBe('miss');
    expect((await cache.lookup(input(req(SKY), { tenant: 'tenant-b' }))).result).toBe('hit-exact');
  });

  describe('with a snapshot file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sy-cache-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps semantic entries across a restart', async () => {
      const snapshotPath = join(dir, 'semantic.ndjson');
      make({ semantic: { snapshotPath } });
      await prime(req(SKY), 'Rayleigh scattering.');
      await cache.close();
      make({ semantic: { snapshotPath } });
      const hit = await cache.lookup(input(req(SKY_PARAPHRASE)));
      expect(hit.result).toBe('hit-semantic');
      expect(hit.response?.text).toBe('Rayleigh scattering.');
    });
  });
});
