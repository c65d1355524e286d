import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResponseCache, type CacheLookup, type CacheLookupInput, type ResponseCache } from '../../src/cache/index.js';
import { exactKey, partitionOf, partitionPrefix } from '../../src/cache/key.js';
import { RedisExactStore } from '../../src/cache/stores/redis.js';
import { unlinkMatching } from '../../src/cache/stores/redis-client.js';
import { RedisStore } from '../../src/store/redis.js';
import { RediSearchMissingError, RedisVectorStore } from '../../src/cache/vector/redis.js';
import { cacheSchema } from '../../src/config/cache.js';
import type { CanonicalRequest, CanonicalResponse } from '../../src/protocol/canonical.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function req(question: string): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: question }], stream: false, extra: {} };
}

function answer(text: string): CanonicalResponse {
  return { id: 'r1', model: 'm', created: 1, text, finishReason: 'stop' };
}

function open(): RedisStore {
  return new RedisStore('test', { url: REDIS_URL, commandTimeoutMs: 2_000, breaker: { failures: 1000, cooldownMs: 100 } });
}

async function ready(redis: RedisStore): Promise<void> {
  if (!(await redis.ready(5_000))) throw new Error(`Redis at ${REDIS_URL} is not reachable`);
}

/** The facade connects in the background: retry while lookups still fail (counted as errors). */
async function connectedLookup(cache: ResponseCache, input: CacheLookupInput): Promise<CacheLookup> {
  for (let i = 0; ; i++) {
    const before = cache.stats().errors;
    const res = await cache.lookup(input);
    if (cache.stats().errors === before || i >= 100) return res;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(SKIP !== undefined)('RedisExactStore on a real Redis', () => {
  const prefix = `sy-test:${randomBytes(4).toString('hex')}:`;
  let client: RedisStore;
  let store: RedisExactStore;

  beforeAll(async () => {
    client = open();
    await ready(client);
    store = new RedisExactStore({ redis: client, keyPrefix: prefix });
  });

  afterAll(async () => {
    await unlinkMatching(client, `${prefix}*`);
    await client.close();
  });

  const entryFor = (tenant: string, text: string) => ({ response: answer(text), tenant, modelGroup: 'g', storedAt: Date.now() });

  it('sets and gets an entry as JSON under <prefix>x:<partition>:<digest>, with its TTL', async () => {
    const p = partitionOf({ tenant: 'acme', modelGroup: 'g', req: req('Why is the sky blue?') });
    const key = exactKey(req('Why is the sky blue?'), p);
    await store.set(key, entryFor('acme', 'Rayleigh scattering.'), 60);
    const got = await store.get(key);
    expect(got?.response).toEqual(answer('Rayleigh scattering.'));
    expect(got?.tenant).toBe('acme');
    expect(store.redisKey(key)).toBe(`${prefix}x:${p.id}:${key.split(':')[3]}`);
    const ttl = await client.node('test').ttl(store.redisKey(key));
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await store.get(`${p.id}:missing`)).toBeUndefined();
  });

  it('expires entries', async () => {
    const p = partitionOf({ tenant: 'acme', modelGroup: 'g', req: req('short-lived') });
    const key = exactKey(req('short-lived'), p);
    await store.set(key, entryFor('acme', 'soon gone'), 1);
    expect(await store.get(key)).toBeDefined();
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await store.get(key)).toBeUndefined();
  });

  it('purges one tenant (or one model group) and leaves the others', async () => {
    const put = async (tenant: string, group: string, q: string) => {
      const p = partitionOf({ tenant, modelGroup: group, req: req(q) });
      await store.set(exactKey(req(q), p), { ...entryFor(tenant, q), modelGroup: group }, 60);
      return exactKey(req(q), p);
    };
    const a1 = await put('tenant-a', 'fast', 'q1');
    const a2 = await put('tenant-a', 'smart', 'q2');
    const a3 = await put('tenant-a', 'fast', 'q3');
    // Glob characters in a tenant name cannot widen the purge: names are digested.
    const b1 = await put('tenant-*', 'fast', 'q1');
    expect(await store.purge(partitionPrefix({ tenant: 'tenant-a', modelGroup: 'smart' }))).toBe(1);
    expect(await store.get(a2)).toBeUndefined();
    expect(await store.get(a1)).toBeDefined();
    expect(await store.purge(partitionPrefix({ tenant: 'tenant-a' }))).toBe(2);
    expect(await store.get(a1)).toBeUndefined();
    expect(await store.get(a3)).toBeUndefined();
    expect(await store.get(b1)).toBeDefined();
    expect(await store.countNow()).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(SKIP !== undefined)('the cache facade with Redis', () => {
  const prefix = `sy-test:${randomBytes(4).toString('hex')}:`;

  it('serves exact hits across two instances (two replicas) and purges through the facade', async () => {
    const cfg = cacheSchema.parse({ store: 'redis', redis: { url: REDIS_URL, keyPrefix: prefix }, semantic: { enabled: false } });
    const one = createResponseCache(cfg);
    const two = createResponseCache(cfg);
    try {
      const input = { req: req('What is 2+2?'), tenant: 'acme', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false };
      const first = await connectedLookup(one, input);
      expect(first.result).toBe('miss');
      await one.store(first.ticket!, answer('4'));
      const second = await connectedLookup(two, input);
      expect(second.result).toBe('hit-exact');
      expect(second.response?.text).toBe('4');
      expect(await two.purge({ tenant: 'acme' })).toBe(1);
      expect((await one.lookup(input)).result).toBe('miss');
    } finally {
      await one.close();
      await two.close();
    }
  });

  describe('when Redis is down', () => {
    let server: Server;
    let deadUrl: string;
    beforeAll(async () => {
      // A port that accepts nothing: listen, note the port, close.
      server = createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as { port: number };
      await new Promise<void>((r) => server.close(() => r()));
      deadUrl = `redis://127.0.0.1:${port}`;
    });

    it('degrades lookups to a miss, counts the error, and store() does not throw', async () => {
      const errors: string[] = [];
      const cache = createResponseCache(cacheSchema.parse({ store: 'redis', redis: { url: deadUrl, keyPrefix: prefix }, semantic: { enabled: false } }), {
        onError: (_err, op) => errors.push(op),
      });
      try {
        const started = Date.now();
        const res = await cache.lookup({ req: req('anything'), tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
        expect(res.result).toBe('miss');
        expect(res.ticket).toBeDefined();
        expect(Date.now() - started).toBeLessThan(1_000);
        await expect(cache.store(res.ticket!, answer('x'))).resolves.toBeUndefined();
        const s = cache.stats();
        expect(s.errors).toBe(2);
        expect(s.misses).toBe(1);
        expect(s.stores).toBe(0);
        expect(errors).toContain('exact-get');
      } finally {
        await cache.close();
      }
    });
  });
});

describe.skipIf(SKIP !== undefined)('RedisVectorStore on a server without RediSearch', () => {
  it('fails with an error saying RediSearch 2.6+ is required', async () => {
    const client = open();
    try {
      await ready(client);
      const hasSearch = await client.node('test').sendCommand(['FT._LIST']).then(
        () => true,
        () => false,
      );
      if (hasSearch) return; // covered by cache-redisearch.test.ts
      const store = new RedisVectorStore({ redis: client, keyPrefix: `sy-test:${randomBytes(4).toString('hex')}:` });
      await expect(store.init(8)).rejects.toBeInstanceOf(RediSearchMissingError);
      await expect(store.search('p', new Float32Array(8), 1)).rejects.toThrow(/RediSearch 2\.6\+ is required/);
    } finally {
      await client.close();
    }
  });
});
