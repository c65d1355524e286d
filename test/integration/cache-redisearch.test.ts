/**
 * The RediSearch vector store against a real RediSearch 2.6+ (Redis Stack or
 * Redis 8). No search module can be installed on the CI machines, so this
 * suite runs only when SWITCHYARD_TEST_REDISEARCH_URL points at one, e.g.
 *
 *   SWITCHYARD_TEST_REDISEARCH_URL=redis://127.0.0.1:6380 npx vitest run test/integration/cache-redisearch.test.ts
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResponseCache, type CacheLookupInput } from '../../src/cache/index.js';
import { partitionOf } from '../../src/cache/key.js';
import { unlinkMatching } from '../../src/cache/stores/redis-client.js';
import type { VectorRecord } from '../../src/cache/types.js';
import { dimFromInfo, escapeTagValue, knnQuery, RedisVectorStore, VectorDimensionMismatchError, VectorStoreError } from '../../src/cache/vector/redis.js';
import { RedisStore, type RedisNodeClient } from '../../src/store/redis.js';
import { cacheSchema } from '../../src/config/cache.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';

const url = process.env.SWITCHYARD_TEST_REDISEARCH_URL;
if (!url) console.warn('cache-redisearch.test.ts skipped: SWITCHYARD_TEST_REDISEARCH_URL unset (needs RediSearch 2.6+)');

const DIM = 8;

function at(similarity: number, towards = 1, base = 0): Float32Array {
  const v = new Float32Array(DIM);
  v[base] = similarity;
  v[towards] = Math.sqrt(1 - similarity * similarity);
  return v;
}

function record(partition: string, text: string, ttlMs = 60_000): VectorRecord {
  return {
    partition,
    model: 'fast',
    text,
    response: { id: `r-${text}`, model: 'm', created: 1, text: `answer: ${text}`, finishReason: 'stop' },
    expiresAt: Date.now() + ttlMs,
  };
}

/** A connection of its own (as another replica would have), with a generous deadline. */
async function connected(u: string): Promise<RedisStore> {
  const redis = new RedisStore('test', { url: u, commandTimeoutMs: 5_000, breaker: { failures: 1000, cooldownMs: 100 } });
  if (!(await redis.ready(5_000))) throw new Error(`RediSearch at ${u} is not reachable`);
  return redis;
}

const raw = (r: RedisStore): RedisNodeClient => r.node('test');

describe('escapeTagValue', () => {
  it('escapes TAG query punctuation and spaces, keeping letters, digits, _ and non-ASCII', () => {
    expect(escapeTagValue('a-b.c@d:e f')).toBe('a\\-b\\.c\\@d\\:e\\ f');
    expect(escapeTagValue('x{y}|z\\')).toBe('x\\{y\\}\\|z\\\\');
    expect(escapeTagValue('Zürich_42')).toBe('Zürich_42');
  });

  it('reads the vector dimension from a raw FT.INFO reply', () => {
    const reply = [
      'index_name',
      'idx',
      'attributes',
      [
        ['identifier', 'vec', 'attribute', 'vec', 'type', 'VECTOR', 'algorithm', 'HNSW', 'data_type', 'FLOAT32', 'dim', 384, 'distance_metric', 'COSINE'],
        ['identifier', 'partition', 'attribute', 'partition', 'type', 'TAG', 'SEPARATOR', ',', 'CASESENSITIVE'],
      ],
    ];
    expect(dimFromInfo(reply)).toBe(384);
    expect(dimFromInfo(['attributes', [['identifier', 'vec', 'type', 'VECTOR']]])).toBeUndefined();
  });

  it('builds the KNN clause with the configured query attributes (RediSearch 2.6 syntax)', () => {
    expect(knnQuery('t:g', 4)).toBe('(@partition:{t\\:g})=>[KNN 4 @vec $B AS score]');
    expect(knnQuery('p', 4, { hybridPolicy: 'BATCHES', batchSize: 50, efRuntime: 20 })).toBe('(@partition:{p})=>[KNN 4 @vec $B HYBRID_POLICY BATCHES BATCH_SIZE 50 EF_RUNTIME 20 AS score]');
    expect(knnQuery('p', 4, { hybridPolicy: 'ADHOC_BF', batchSize: 50 })).toBe('(@partition:{p})=>[KNN 4 @vec $B HYBRID_POLICY ADHOC_BF AS score]');
  });
});

describe.skipIf(!url)(`RedisVectorStore on RediSearch${url ? '' : ' (skipped: SWITCHYARD_TEST_REDISEARCH_URL unset)'}`, () => {
  const prefix = `sy-test:${randomBytes(4).toString('hex')}:`;
  let replicaA: RedisStore;
  let replicaB: RedisStore;
  let a: RedisNodeClient;
  let storeA: RedisVectorStore;
  let storeB: RedisVectorStore;

  beforeAll(async () => {
    replicaA = await connected(url!);
    replicaB = await connected(url!);
    a = raw(replicaA);
    storeA = new RedisVectorStore({ redis: replicaA, keyPrefix: prefix });
    storeB = new RedisVectorStore({ redis: replicaB, keyPrefix: prefix });
  });

  afterAll(async () => {
    await storeA.drop();
    await unlinkMatching(replicaA, `${prefix}*`);
    await replicaA.close();
    await replicaB.close();
  });

  it('creates the index on first use, with the embedder’s dimension', async () => {
    const before = (await a.sendCommand(['FT._LIST'])) as string[];
    expect(before).not.toContain(storeA.indexName);
    await storeA.add(at(1), record('p-create', 'first'));
    const after = (await a.sendCommand(['FT._LIST'])) as string[];
    expect(after).toContain(storeA.indexName);
    const dim = dimFromInfo(await a.sendCommand(['FT.INFO', storeA.indexName]));
    if (dim !== undefined) expect(dim).toBe(DIM); // FT.INFO lists dim since RediSearch 2.8
    // The shape is recorded in a key of its own, on every version.
    expect(JSON.parse((await a.get(storeA.metaKey))!)).toMatchObject({ dim: DIM, metric: 'COSINE', type: 'FLOAT32' });
    // A second replica finds the existing index and accepts it.
    await expect(storeB.init(DIM)).resolves.toBeUndefined();
  });

  it('finds an entry written by one replica from another, with similarity = 1 - cosine distance', async () => {
    const p = partitionOf({ tenant: 'acme', modelGroup: 'fast', req: req('Why is the sky blue?') }).id;
    await storeA.add(at(1), record(p, 'Why is the sky blue?'));
    await storeA.add(at(0.2, 2), record(p, 'Unrelated'));
    const hits = await storeB.search(p, at(0.9), 2);
    expect(hits[0]!.record.text).toBe('Why is the sky blue?');
    expect(hits[0]!.record.response.text).toBe('answer: Why is the sky blue?');
    expect(hits[0]!.similarity).toBeCloseTo(0.9, 4);
    expect(hits[1]!.similarity).toBeLessThan(hits[0]!.similarity);
  });

  it('filters by partition, also for tenants whose names hold TAG special characters', async () => {
    const tenants = ['acme-corp.eu@team:1', 'acme-corp.eu@team:2', 'a{b}|c d/e=f', 'Acme', 'acme'];
    const vec = at(0.8, 3);
    // Partition ids as the facade builds them...
    // A model group of this test only: earlier tests stored under acme/fast, and a partition ignores the question.
    const group = `filter-${randomBytes(3).toString('hex')}`;
    const ids = tenants.map((tenant) => partitionOf({ tenant, modelGroup: group, req: req('same question') }).id);
    // ...and raw strings, so the escaping itself is exercised.
    const raw = tenants.map((t) => `raw:${t}`);
    for (const [i, p] of [...ids, ...raw].entries()) await storeA.add(vec, record(p, `same question #${i}`));
    for (const [i, p] of [...ids, ...raw].entries()) {
      const hits = await storeB.search(p, vec, 10);
      expect(hits.map((h) => h.record.text)).toEqual([`same question #${i}`]);
      expect(hits[0]!.record.partition).toBe(p);
    }
    expect(await storeB.search('raw:acme-corp', vec, 10)).toEqual([]);
    expect(await storeB.search('raw:*', vec, 10)).toEqual([]);
  });

  it('refuses a partition holding the TAG separator', async () => {
    await expect(storeA.add(at(1), record('a,b', 'x'))).rejects.toThrow(/separator/);
  });

  it('expires entries with their TTL', async () => {
    const p = 'ttl-partition';
    await storeA.add(at(1, 4), record(p, 'short-lived', 1_000));
    const key = (await a.keys(`${prefix}v:${p}:*`))[0]!;
    const pttl = await a.pTTL(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1_000);
    expect(await storeB.search(p, at(1, 4), 1)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await storeB.search(p, at(1, 4), 1)).toEqual([]);
    expect(await a.exists(key)).toBe(0);
  });

  it('purges by partition prefix', async () => {
    await storeA.add(at(1), record('purge-t1:g:a', 'x'));
    await storeA.add(at(1), record('purge-t1:g:b', 'y'));
    await storeA.add(at(1), record('purge-t2:g:a', 'z'));
    expect(await storeB.purge('purge-t1:')).toBe(2);
    expect(await storeB.search('purge-t1:g:a', at(1), 1)).toEqual([]);
    expect(await storeB.search('purge-t2:g:a', at(1), 1)).toHaveLength(1);
  });

  it('refuses an embedder of another dimension with an error naming both and the index', async () => {
    const other = new RedisVectorStore({ redis: replicaB, keyPrefix: prefix });
    const err = await other.init(DIM * 2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VectorDimensionMismatchError);
    const message = (err as Error).message;
    expect(message).toContain(`"${storeA.indexName}"`);
    expect(message).toContain(`${DIM}-dimensional`);
    expect(message).toContain(`${DIM * 2}-dimensional`);
    await expect(other.search('p', new Float32Array(DIM * 2), 1)).rejects.toBeInstanceOf(VectorDimensionMismatchError);
  });

  it('refuses another dimension on an EMPTY index (RediSearch 2.6: FT.INFO has no dim, an empty-index probe answers)', async () => {
    const p = `${prefix}empty:`;
    const first = new RedisVectorStore({ redis: replicaA, keyPrefix: p });
    const second = new RedisVectorStore({ redis: replicaB, keyPrefix: p });
    try {
      await first.init(DIM);
      await expect(second.init(DIM * 2)).rejects.toBeInstanceOf(VectorDimensionMismatchError);
      // Its writes would otherwise fail to index silently; they are refused instead.
      await expect(second.add(new Float32Array(DIM * 2).fill(0.5), record('q', 'x'))).rejects.toBeInstanceOf(VectorDimensionMismatchError);
    } finally {
      await first.drop();
    }
  });

  it('checks an index made by an older version (no record): non-empty → probe, empty → rebuilt for this dimension', async () => {
    const p = `${prefix}legacy:`;
    const name = `${p}semantic`;
    const create = () =>
      a.sendCommand(['FT.CREATE', name, 'ON', 'HASH', 'PREFIX', '1', `${p}v:`, 'SCHEMA', 'vec', 'VECTOR', 'HNSW', '6', 'TYPE', 'FLOAT32', 'DIM', String(DIM), 'DISTANCE_METRIC', 'COSINE', 'partition', 'TAG', 'CASESENSITIVE', 'model', 'TAG', 'CASESENSITIVE']);
    const legacy = new RedisVectorStore({ redis: replicaA, keyPrefix: p });
    try {
      await create();
      await a.hSet(`${p}v:q:1`, { vec: Buffer.from(at(1).buffer), partition: 'q', model: 'fast', text: 't', response: '{}', expiresAt: String(Date.now() + 60_000) });
      await expect(new RedisVectorStore({ redis: replicaB, keyPrefix: p }).init(DIM * 2)).rejects.toBeInstanceOf(VectorDimensionMismatchError);
      await expect(legacy.init(DIM)).resolves.toBeUndefined();
      expect(JSON.parse((await a.get(legacy.metaKey))!)).toMatchObject({ dim: DIM });
      await legacy.drop();
      await create(); // empty, unrecorded: nothing to lose, rebuilt for the asking dimension
      const rebuilt = new RedisVectorStore({ redis: replicaB, keyPrefix: p });
      await expect(rebuilt.init(DIM * 2)).resolves.toBeUndefined();
      expect(JSON.parse((await a.get(rebuilt.metaKey))!)).toMatchObject({ dim: DIM * 2 });
    } finally {
      await legacy.drop();
    }
  });

  it('turns RediSearch errors into typed errors, and recreates an index dropped behind its back', async () => {
    const p = `${prefix}typed:`;
    const s = new RedisVectorStore({ redis: replicaA, keyPrefix: p });
    await s.init(DIM);
    await a.sendCommand(['FT.DROPINDEX', s.indexName]); // dropped behind its back (the record stays)
    const err = await s.search('p', at(1), 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VectorStoreError);
    expect((err as VectorStoreError).reason).toBe('index');
    // The next call creates the index again and checks it against the record.
    await expect(s.search('p', at(1), 1)).resolves.toEqual([]);
    await s.drop();
  });

  it('serves a semantic hit through two facades (two replicas) sharing Redis', async () => {
    const cfgPrefix = `${prefix}facade:`;
    // The stored question's vector and the asked one's are 0.95 apart (cosine).
    const embedder: Embedder = {
      id: 'test-table',
      dim: DIM,
      ready: async () => undefined,
      embed: async (texts) => texts.map((t) => (t === 'Why is the sky blue?' ? at(1, 5) : at(0.95, 6))),
    };
    // Distinct deadlines → distinct connections, as two processes would have.
    const cfg = (ms: number) =>
      cacheSchema.parse({
        store: 'redis',
        redis: { url, keyPrefix: cfgPrefix, commandTimeoutMs: ms },
        semantic: { vectorStore: 'redis', threshold: 0.8, verifier: false },
      });
    const one = createResponseCache(cfg(5_000), { embedder });
    const two = createResponseCache(cfg(5_001), { embedder });
    const input = (q: string): CacheLookupInput => ({ req: req(q), tenant: 'acme', modelGroup: 'fast', route: '/v1/chat/completions', noCache: false, noStore: false });
    try {
      const miss = await one.lookup(input('Why is the sky blue?'));
      expect(miss.result).toBe('miss');
      await one.store(miss.ticket!, { id: 'r', model: 'm', created: 1, text: 'Rayleigh scattering.', finishReason: 'stop' });
      const hit = await two.lookup(input('Why does the sky appear blue?'));
      expect(hit.result).toBe('hit-semantic');
      expect(hit.similarity).toBeCloseTo(0.95, 4);
      expect(hit.response?.text).toBe('Rayleigh scattering.');
      expect(one.stats().errors + two.stats().errors).toBe(0);
    } finally {
      await one.close();
      await two.close();
      const cleanup = await connected(url!);
      await new RedisVectorStore({ redis: cleanup, keyPrefix: cfgPrefix }).drop();
      await unlinkMatching(cleanup, `${cfgPrefix}*`);
      await cleanup.close();
    }
  });

  it('stores no prompt text in Redis by default, only the verifier signature; questions of one partition never share a key', async () => {
    const cfgPrefix = `${prefix}notext:`;
    const embedder: Embedder = { id: 'test-same', dim: DIM, ready: async () => undefined, embed: async (texts) => texts.map(() => at(1, 5)) };
    const cache = createResponseCache(
      cacheSchema.parse({ store: 'redis', redis: { url, keyPrefix: cfgPrefix, commandTimeoutMs: 5_000 }, semantic: { vectorStore: 'redis', threshold: 0.8 } }),
      { embedder },
    );
    const input = (q: string): CacheLookupInput => ({ req: req(q), tenant: 'acme', modelGroup: 'fast', route: '/v1/chat/completions', noCache: false, noStore: false });
    const redis = await connected(url!);
    try {
      for (const q of ['How do I lose weight in 2 weeks?', 'How do I lose weight in 6 months?']) {
        const miss = await cache.lookup(input(q));
        expect(miss.result).toBe('miss');
        await cache.store(miss.ticket!, { id: 'r', model: 'm', created: 1, text: `plan for: ${q}`, finishReason: 'stop' });
      }
      const keys = await raw(redis).keys(`${cfgPrefix}v:*`);
      const vectors = await Promise.all(keys.map((k) => raw(redis).hGetAll(k)));
      expect(vectors).toHaveLength(2);
      for (const h of vectors) {
        expect(h.text).toBe('');
        expect(h.sig).toMatch(/^s1\|/);
        expect(h.sig).not.toContain('weight');
      }
      // The verifier reads the stored signatures: the 6-month question still gets its own answer.
      const hit = await cache.lookup(input('How can I lose weight in 6 months?'));
      expect(hit.result).toBe('hit-semantic');
      expect(hit.response?.text).toBe('plan for: How do I lose weight in 6 months?');
    } finally {
      await cache.close();
      await new RedisVectorStore({ redis, keyPrefix: cfgPrefix }).drop();
      await unlinkMatching(redis, `${cfgPrefix}*`);
      await redis.close();
    }
  });
});

function req(question: string): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: question }], stream: false, extra: {} };
}
