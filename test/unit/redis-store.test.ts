/** The Redis connection layer's pure parts: targets, the breaker, config, and the cache bench's pairs lookup. */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { pairsFileCandidates } from '../../bench/cache.js';
import { parseConfig } from '../../src/config/load.js';
import { routingLearningSchema } from '../../src/config/routing.js';
import { StoreBreaker } from '../../src/store/breaker.js';
import { redisTarget, type StoreHealth } from '../../src/store/redis.js';
import { storeReadiness, usesRedis } from '../../src/store/readiness.js';
import { connectionKey } from '../../src/store/redis-pool.js';

describe('redisTarget', () => {
  it('reads a single node, a redis+cluster:// URL and cluster root nodes', () => {
    expect(redisTarget({ url: 'redis://10.0.0.1:6379' })).toEqual({ cluster: false, urls: ['redis://10.0.0.1:6379'] });
    expect(redisTarget({ url: 'redis+cluster://10.0.0.1:6379,10.0.0.2:6380' })).toEqual({ cluster: true, urls: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6380'] });
    expect(redisTarget({ url: 'rediss+cluster://user:pw@a:1,b:2' })).toEqual({ cluster: true, urls: ['rediss://user:pw@a:1', 'rediss://user:pw@b:2'] });
    expect(redisTarget({ url: 'redis://ignored:1', cluster: { rootNodes: ['redis://c:7000'] } })).toEqual({ cluster: true, urls: ['redis://c:7000'] });
  });
});

describe('StoreBreaker', () => {
  it('opens after N consecutive failures, refuses during the cool-down, lets one probe through, closes on its success', () => {
    const states: string[] = [];
    const b = new StoreBreaker({ failures: 3, cooldownMs: 1000 }, (s) => states.push(s));
    const t = 10_000;
    b.failure(false, t);
    b.success(false); // a success resets the count
    b.failure(false, t);
    b.failure(false, t);
    expect(b.state).toBe('closed');
    b.failure(false, t);
    expect(b.state).toBe('open');
    expect(b.allow(t + 500).ok).toBe(false);
    expect(b.retryInMs(t + 500)).toBe(500);
    const probe = b.allow(t + 1000);
    expect(probe).toEqual({ ok: true, probe: true });
    expect(b.allow(t + 1001).ok).toBe(false); // one probe at a time
    b.success(true);
    expect(b.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(b.rejected).toBe(2);
  });

  it('re-opens when the probe fails', () => {
    const b = new StoreBreaker({ failures: 1, cooldownMs: 10 });
    b.failure(false, 0);
    const p = b.allow(10);
    expect(p.probe).toBe(true);
    b.failure(true, 10);
    expect(b.state).toBe('open');
    expect(b.allow(15).ok).toBe(false);
  });
});

describe('redis config', () => {
  const base = 'upstreams: [{ name: u, kind: openai-compatible, baseUrl: "http://127.0.0.1:1", models: [{ name: m }] }]\n';

  it('accepts a cluster by root nodes or by URL in every feature section, with deadline and breaker defaults', () => {
    const cfg = parseConfig(`${base}
cache: { store: redis, redis: { cluster: { rootNodes: ["redis://10.0.0.1:6379"] } } }
accounting: { store: redis, onStoreError: closed, redis: { url: "redis+cluster://10.0.0.1:6379,10.0.0.2:6379" } }
observability: { records: { sink: redis-stream, redis: { url: "redis+cluster://10.0.0.1:6379" } } }
`);
    expect(cfg.cache.redis.cluster?.rootNodes).toEqual(['redis://10.0.0.1:6379']);
    expect(cfg.cache.redis.commandTimeoutMs).toBe(250);
    expect(cfg.cache.redis.breaker).toEqual({ failures: 5, cooldownMs: 2000 });
    expect(cfg.accounting.onStoreError).toBe('closed');
    expect(routingLearningSchema.parse({ store: 'redis', redis: { url: 'redis+cluster://a:1' } }).redis.commandTimeoutMs).toBe(250);
    expect(cfg.shadow.store.redis.breaker.failures).toBe(5);
  });

  it('refuses a key prefix holding a hash-tag brace, and a non-Redis URL', () => {
    expect(() => parseConfig(`${base}cache: { redis: { keyPrefix: "a{b}:" } }\n`)).toThrow(/hash tag/);
    expect(() => parseConfig(`${base}accounting: { redis: { url: "http://x" } }\n`)).toThrow(/redis\+cluster/);
  });

  it('shares one connection between sections with the same connection settings', () => {
    const cfg = parseConfig(`${base}cache: { store: redis }\naccounting: { store: redis }\n`);
    expect(connectionKey(cfg.cache.redis)).toBe(connectionKey(cfg.accounting.redis));
    const other = parseConfig(`${base}accounting: { store: redis, redis: { commandTimeoutMs: 100 } }\n`);
    expect(connectionKey(other.accounting.redis)).not.toBe(connectionKey(cfg.cache.redis));
  });
});

describe('the cache benchmark’s pairs file', () => {
  it('is looked for next to and above a clone, after BENCH_CACHE_PAIRS', () => {
    const c = pairsFileCandidates('/home/me/src/switchyard', { BENCH_CACHE_PAIRS: 'p.jsonl' });
    expect(c[0]).toBe(resolve('p.jsonl'));
    expect(c).toContain('/home/me/src/switchyard/data/cache-pairs-dev.jsonl');
    expect(c).toContain('/home/me/src/shared/data/cache-pairs-dev.jsonl');
    expect(c).toContain('/home/shared/data/cache-pairs-dev.jsonl');
    expect(c[c.length - 1]).toBe('/work/shared/data/cache-pairs-dev.jsonl');
  });
});

describe('storeReadiness', () => {
  const h = (name: string, status: 'ok' | 'degraded' | 'down'): StoreHealth => ({ name, status, breaker: status === 'down' ? 'open' : 'closed', connected: status === 'ok', cluster: false, timeouts: 0, rejected: 0, ...(status === 'ok' ? {} : { lastError: 'no answer' }) });

  it('is ready and ok when every store is ok (or there is none)', () => {
    expect(storeReadiness([], false)).toEqual({ ok: true, status: 'ok' });
    expect(storeReadiness([h('cache', 'ok')], true)).toEqual({ ok: true, status: 'ok' });
  });

  it('stays ready but says degraded/down when Redis fails: requests still complete', () => {
    const r = storeReadiness([h('accounting+cache', 'down'), h('learning', 'degraded')], false);
    expect(r.ok).toBe(true);
    expect(r.status).toBe('down');
    expect(r.reason).toContain('redis (accounting+cache) down: no answer');
    expect(r.reason).toContain('redis (learning) degraded');
  });

  it('is not ready when accounting fails closed and its store is down', () => {
    expect(storeReadiness([h('accounting+cache', 'down')], true)).toMatchObject({ ok: false, status: 'down' });
    expect(storeReadiness([h('cache', 'down')], true).ok).toBe(true);
    expect(storeReadiness([h('accounting', 'degraded')], true).ok).toBe(true);
  });
});

describe('usesRedis', () => {
  const base = 'upstreams: [{ name: u, kind: openai-compatible, baseUrl: "http://127.0.0.1:1", models: [{ name: m }] }]\n';
  it('is true when any feature keeps state in Redis, false otherwise', () => {
    expect(usesRedis(parseConfig(base))).toBe(false);
    expect(usesRedis(parseConfig(`${base}cache: { store: redis }\n`))).toBe(true);
    expect(usesRedis(parseConfig(`${base}cache: { enabled: false, store: redis }\n`))).toBe(false);
    expect(usesRedis(parseConfig(`${base}accounting: { store: redis }\n`))).toBe(true);
    expect(usesRedis(parseConfig(`${base}observability: { records: { sink: redis-stream } }\n`))).toBe(true);
  });
});
