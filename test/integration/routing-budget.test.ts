/**
 * A soft budget (set by accounting's admission before routing) through a real
 * `switchyard serve`: `switchyard/auto` goes one tier down, a pinned tier
 * goes cheapest first, and a tenant within budget is routed as usual.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway } from '../helpers/gateway.js';

const HARD =
  'Design a distributed rate limiter in Rust: first analyse the trade-offs between token bucket and sliding window, then implement it step by step with unit tests, and prove that it never exceeds the limit under concurrent access.';

let up: FakeProvider;
let gw: RunningServer;

beforeAll(async () => {
  up = await startFakeOpenAI();
  gw = await startGateway(`
upstreams:
  - name: cloud
    kind: openai-compatible
    baseUrl: ${up.url}
    models:
      - { name: small, inputPricePer1M: 0.15, outputPricePer1M: 0.6 }
      - { name: mid, inputPricePer1M: 1, outputPricePer1M: 4 }
      - { name: dear, inputPricePer1M: 5, outputPricePer1M: 20 }
      - { name: cheaper-big, inputPricePer1M: 2.5, outputPricePer1M: 10 }
tiers:
  - { name: LOW, models: [small] }
  - { name: MEDIUM, models: [mid] }
  - { name: HIGH, models: [dear, cheaper-big] }
routing: { agenticTier: null }
auth: { mode: header, header: { tenantHeader: x-team, trustedProxies: [127.0.0.1/32, "::1/128"] } }
accounting:
  budgets:
    by: header
    header: x-team
    default: { dailyUsd: 100 }
    limits:
      frugal: { dailyUsd: 1, softRatio: 0 }
`);
});
afterAll(async () => {
  await gw.close();
  await up.close();
});

const send = (model: string, content: string, team: string) =>
  postJson(`${gw.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content }] }, { 'x-team': team });

describe('budget soft limit', () => {
  it('takes switchyard/auto one tier down and says so', async () => {
    const ok = await send('switchyard/auto', HARD, 'rich');
    expect(ok.headers.get('x-switchyard-tier')).toBe('HIGH');
    const soft = await send('switchyard/auto', HARD, 'frugal');
    expect(soft.status).toBe(200);
    expect(soft.headers.get('x-switchyard-tier')).toBe('MEDIUM');
    expect(soft.headers.get('x-switchyard-model')).toBe('mid');
    expect(soft.headers.get('x-switchyard-route')).toContain('-> HIGH; task code; budget soft -> MEDIUM (one tier down)');
  });

  it('orders a pinned tier cheapest first', async () => {
    expect((await send('switchyard/HIGH', 'x', 'rich')).headers.get('x-switchyard-model')).toBe('dear');
    const soft = await send('switchyard/HIGH', 'x', 'frugal');
    expect(soft.headers.get('x-switchyard-model')).toBe('cheaper-big');
    expect(soft.headers.get('x-switchyard-route')).toBe('pinned tier HIGH; budget soft -> cheapest first');
  });
});
