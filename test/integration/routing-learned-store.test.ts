/**
 * The learned router's outcome stores with real parts: two gateway routers
 * sharing a Redis stream (each sees the other's outcomes), a store file that
 * survives a restart, and an unreachable Redis that costs a skip, never a
 * stalled decision.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Router } from '../../src/routing/router.js';
import { redisHealth } from '../../src/store/redis-pool.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';
import { learnedRouter } from '../helpers/learned-router.js';

const DIM = 16;
function unit(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  let s = seed >>> 0 || 1;
  let n = 0;
  for (let i = 0; i < DIM; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    n += (v[i] = s / 2 ** 32 - 0.5) ** 2;
  }
  for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(n);
  return v;
}

const keys: string[] = [];
afterAll(async () => {
  const c = createClient({ url: 'redis://127.0.0.1:6379' });
  await c.connect();
  for (const k of keys) await c.del(k);
  await c.close();
});

const router = (learned: string) => learnedRouter(learned, ['LOW', 'HIGH']);

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('learned outcome stores', () => {
  it('Redis: two instances share outcomes through one stream; a restart loads them', async () => {
    const key = `switchyard:test:outcomes:${randomUUID()}`;
    keys.push(key);
    const conf = `{ store: redis, redis: { key: "${key}", syncMs: 50 } }`;
    const a = router(conf);
    const b = router(conf);
    await Promise.all([a.router.ready, b.router.ready]);
    expect(a.router.recordOutcome(unit(1), 'LOW', 1, undefined, 'feedback')).toBe(true);
    expect(a.router.recordOutcome(unit(2), 'LOW', 0, undefined, 'shadow')).toBe(true);
    await until(() => b.router.learnedRouter!.size === 2, 'instance b to read a\'s outcomes');
    expect(a.router.learnedRouter!.size).toBe(2); // its own entries are not read back twice
    await a.close();
    const c = router(conf);
    await c.router.ready;
    expect(c.router.learnedRouter!.size).toBe(2);
    await Promise.all([b.close(), c.close()]);
  });

  it('file: outcomes written on close come back after a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-learned-')), 'outcomes.jsonl');
    const conf = `{ store: file, file: "${file}", flushMs: 20 }`;
    const a = router(conf);
    await a.router.ready;
    for (let i = 0; i < 5; i++) a.router.recordOutcome(unit(i + 1), 'LOW', i % 2, 'tenant-x', 'feedback');
    await a.close();
    const b = router(conf);
    await b.router.ready;
    expect(b.router.learnedRouter!.size).toBe(5);
    await b.close();
  });

  it('an unreachable Redis: loading gives up, decisions go on from the prior', async () => {
    const errors: string[] = [];
    const cfg = parseConfig(
      `upstreams:
  - { name: u, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: small }, { name: big }] }
tiers:
  - { name: LOW, models: [small] }
  - { name: HIGH, models: [big] }
routing:
  ladder: [LOW, HIGH]
  agenticTier: null
  learned: { store: redis, redis: { url: "redis://127.0.0.1:1", timeoutMs: 100 } }
`,
      {},
    );
    const reg = new UpstreamRegistry(cfg, {});
    const r = new Router(cfg, reg, { pollers: false, onError: (e, op) => errors.push(`${op}: ${e.message}`) });
    const req = { operation: 'chat' as const, protocol: 'openai' as const, model: 'switchyard/auto', messages: [{ role: 'user' as const, content: 'hello' }], stream: false, extra: {} };
    // A decision does not wait for the store.
    const d = r.route({ req, id: 'x', embedding: unit(3) });
    expect(d.reason).toMatch(/learned: p\(LOW ok\)=[01]\.\d\d from the prior/);
    expect(r.recordOutcome(unit(3), 'LOW', 1, undefined, 'feedback')).toBe(true); // kept in memory; the write is skipped
    await r.ready;
    await until(() => errors.some((e) => e.startsWith('learned')), 'the store error to be reported');
    // The outcome stream's connection is the shared one (deadline, breaker, /healthz).
    const h = redisHealth().find((x) => x.name.split('+').includes('learned'));
    expect(h).toMatchObject({ connected: false });
    expect(h!.status).not.toBe('ok');
    await r.close();
    expect(redisHealth().some((x) => x.name.split('+').includes('learned'))).toBe(false);
    await reg.close();
  });
});
