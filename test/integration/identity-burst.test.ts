/**
 * The "done when" of identity: under `auth.mode: keys`, a burst of 200
 * concurrent requests against a key with a $0.10 hard daily cap spends no
 * more than the cap plus one request's reservation, whatever headers ride
 * along (rotating tenant and team headers, `user` fields, the key sent as
 * Bearer, x-api-key or api-key), with counters in memory and in real Redis.
 * Rotating several keys of one tenant against a tenant cap holds the same way.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodsAt } from '../../src/accounting/budgets.js';
import { budgetKey } from '../../src/accounting/store.js';
import type { DecisionRecord } from '../../src/observability/events.js';
import { newKey } from '../../src/identity/key-format.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import type { RunningServer } from '../../src/cli/serve.js';

const PEPPER = `burst-pepper-${randomBytes(8).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const prefix = `sy-idburst-${RUN}:`;
const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER };
// 396 characters → 99 completion tokens at $10/1M ≈ $0.001 a request; max_tokens 100 → an estimate of ≈ $0.001.
const ANSWER = 'y'.repeat(396);
const CAP = 0.1;

let up: FakeProvider;
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
beforeAll(async () => {
  await redis.connect();
  up = await startFakeOpenAI({ behavior: { kind: 'slow-first-token', ms: 200, answer: ANSWER } });
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await up.close();
});

function yaml(store: 'memory' | 'redis', sub: string, auth: string, budgets = '{}'): string {
  return `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [{ name: metered, inputPricePer1M: 1, outputPricePer1M: 10 }]
    timeouts: { connectMs: 1000, firstTokenMs: 15000, idleMs: 15000, totalMs: 30000 }
    retry: { max: 0 }
    maxConnections: 256
cache: { enabled: false }
auth: ${auth}
accounting:
  store: ${store}
  redis: { keyPrefix: "${prefix}${sub}" }
  budgets: ${budgets}
`;
}

/** Every way a hostile caller might try to look like someone else, rotated per request. */
function rotatingHeaders(key: string, i: number): Record<string, string> {
  const where = ['authorization', 'x-api-key', 'api-key'][i % 3]!;
  return {
    [where]: where === 'authorization' ? `Bearer ${key}` : key,
    'x-switchyard-tenant': `tenant-${i}`,
    'x-switchyard-team': `team-${i}`,
    'x-switchyard-key-id': `id-${i}`,
    'x-team': `t-${i}`,
  };
}

async function burst(gw: RunningServer, keys: string[]): Promise<{ ok: number; refused: number; records: DecisionRecord[] }> {
  const records: DecisionRecord[] = [];
  gw.switchyard.events.on('decision', (r) => records.push(r));
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      postJson(`${gw.url}/v1/chat/completions`, { model: 'metered', max_tokens: 100, user: `user-${i}`, messages: [{ role: 'user', content: `q${i}` }] }, rotatingHeaders(keys[i % keys.length]!, i)),
    ),
  );
  await gw.switchyard.accounting.flush();
  const ok = results.filter((r) => r.status === 200).length;
  const refused = results.filter((r) => r.status === 429 && r.json?.error?.code === 'budget_exceeded').length;
  expect(ok + refused).toBe(200);
  return { ok, refused, records };
}

/** The largest reservation one request made: its prompt estimate at $1/1M plus 100 tokens at $10/1M. */
const ONE_RESERVATION = (100 * 10 + 50 * 1) / 1e6;

describe.each(['memory', 'redis'] as const)('a $0.10 key under a 200-request burst (%s counters)', (store) => {
  it('spends at most the cap plus one reservation, whatever headers are sent', async () => {
    const k = newKey(PEPPER);
    const sub = `${store}-key:`;
    const auth = `{ mode: keys, keys: { entries: [{ id: ${k.id}, hash: ${k.hash}, tenant: burst, budget: { dailyUsd: ${CAP} } }] } }`;
    const gw = await startGateway(yaml(store, sub, auth), env);
    try {
      const { ok, refused, records } = await burst(gw, [k.key]);
      const spent = records.reduce((s, r) => s + (r.costUsd ?? 0), 0);
      if (process.env.ID_BURST_PRINT) console.log(`burst ${store}: ok=${ok} refused=${refused} spent=${spent.toFixed(6)} cap=${CAP} bound=${(CAP + ONE_RESERVATION).toFixed(6)}`);
      expect(ok).toBeGreaterThan(50);
      expect(refused).toBeGreaterThan(50);
      expect(spent).toBeLessThanOrEqual(CAP + ONE_RESERVATION);
      // One budget, the key's, whatever tenant the headers named.
      expect(new Set(records.map((r) => r.tenant))).toEqual(new Set(['t:burst']));
      if (store === 'redis') {
        const day = await redis.hGetAll(budgetKey(`${prefix}${sub}`, `key:${k.id}`, 'd', periodsAt(Date.now()).day));
        expect(day.reserved).toBe('0');
        expect(Number(day.spent) / 1e9).toBeCloseTo(spent, 8);
        expect(Number(day.spent) / 1e9).toBeLessThanOrEqual(CAP + ONE_RESERVATION);
      }
    } finally {
      await gw.close();
    }
  });
});

describe('three keys of one tenant against a $0.10 tenant cap (redis counters)', () => {
  it('share the cap: rotating keys and headers walks past nothing', async () => {
    const keys = [newKey(PEPPER), newKey(PEPPER), newKey(PEPPER)];
    const entries = keys.map((k) => `{ id: ${k.id}, hash: ${k.hash}, tenant: shared }`).join(', ');
    const gw = await startGateway(yaml('redis', 'tenant:', `{ mode: keys, keys: { entries: [${entries}] } }`, `{ by: tenant, limits: { "t:shared": { dailyUsd: ${CAP} } } }`), env);
    try {
      const { refused, records } = await burst(gw, keys.map((k) => k.key));
      const spent = records.reduce((s, r) => s + (r.costUsd ?? 0), 0);
      expect(refused).toBeGreaterThan(50);
      expect(spent).toBeLessThanOrEqual(CAP + ONE_RESERVATION);
    } finally {
      await gw.close();
    }
  });
});
