/**
 * After a burst of mixed requests (OpenAI and Anthropic, JSON and streams,
 * cache hits, a local model, upstream failures, a cut stream, a bad model),
 * `/metrics`, the `/switchyard/stats` snapshot and the `/switchyard/events`
 * stream agree on counts, cost, savings and tokens; and the per-tenant cost
 * label stays within its bounded set.
 */
import { credentialTenant } from '../../src/identity/tenant-name.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import type { StatsSnapshot } from '../../src/observability/stats.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, startGateway } from '../helpers/gateway.js';
import { collectEvents, scrape, sumOf, type EventCollector } from '../helpers/observability.js';

let oa: FakeProvider;
let ant: FakeProvider;
let local: FakeProvider;
let gw: RunningServer;
let live: EventCollector;
/** The tenant of the credential `acme` (auth.mode none: a digest of it). */
const ACME = credentialTenant('key', 'acme');

const timeouts = '{ connectMs: 1000, firstTokenMs: 2000, idleMs: 2000, totalMs: 10000 }';
const retry = '{ max: 0, baseDelayMs: 10, maxDelayMs: 50 }';

beforeAll(async () => {
  oa = await startFakeOpenAI();
  ant = await startFakeAnthropic();
  local = await startFakeOpenAI();
  gw = await startGateway(
    `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    models:
      - { name: gpt-4o-mini, inputPricePer1M: 0.15, outputPricePer1M: 0.6 }
      - { name: gpt-4o }
    timeouts: ${timeouts}
    retry: ${retry}
  - name: ant
    kind: anthropic
    baseUrl: ${ant.url}
    apiKeyEnv: AGREE_ANTHROPIC_KEY
    models: [{ name: claude-3-5-haiku, upstreamModel: claude-3-5-haiku-20241022 }]
    timeouts: ${timeouts}
    retry: ${retry}
  - name: local
    kind: openai-compatible
    baseUrl: ${local.url}
    local: true
    models: [{ name: llama-local }]
    timeouts: ${timeouts}
    retry: ${retry}
tiers:
  - { name: cheap, models: [gpt-4o-mini] }
  - { name: strong, models: [gpt-4o] }
fallbacks: { gpt-4o: [gpt-4o-mini] }
cache: { semantic: { enabled: false } }
accounting:
  pricing: { referenceModel: gpt-4o, localInputPer1M: 0.01, localOutputPer1M: 0.02 }
observability:
  metrics: { tenants: ['${ACME}'], tenantBuckets: 4 }
`,
    { ...process.env, AGREE_ANTHROPIC_KEY: 'sk-ant-agreement-test' },
  );
  live = await collectEvents(gw.url);
});

afterAll(async () => {
  live?.close();
  await gw?.close();
  await Promise.all([oa?.close(), ant?.close(), local?.close()]);
});

async function burst(): Promise<number> {
  const chatUrl = `${gw.url}/v1/chat/completions`;
  const msgUrl = `${gw.url}/v1/messages`;
  // Tenants are told apart by their credentials (a client-sent tenant header is ignored).
  const team = (t: string) => ({ authorization: `Bearer ${t}` });
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < 6; i++) jobs.push(postJson(chatUrl, chat(`question ${i}`, { model: 'gpt-4o-mini' }), team(i % 2 ? 'acme' : `team-${i}`)));
  for (let i = 0; i < 4; i++) jobs.push(postJson(chatUrl, chat(`stream ${i}`, { model: 'gpt-4o', stream: true }), team('acme')));
  for (let i = 0; i < 3; i++) {
    jobs.push(postJson(msgUrl, { model: 'claude-3-5-haiku', max_tokens: 64, messages: [{ role: 'user', content: `anthropic ${i}` }] }, team('globex')));
  }
  jobs.push(postJson(msgUrl, { model: 'claude-3-5-haiku', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'anthropic stream' }] }));
  for (let i = 0; i < 3; i++) jobs.push(postJson(chatUrl, chat(`local ${i}`, { model: 'llama-local' }), team(`edge-${i}`)));
  jobs.push(postJson(chatUrl, chat('tier cheap', { model: 'switchyard/cheap' })));
  jobs.push(postJson(chatUrl, chat('unknown', { model: 'no-such-model' })));
  jobs.push(postJson(chatUrl, '{not json'));
  await Promise.all(jobs);
  // Cache hits: the same questions again.
  const hits = [0, 1, 2].map((i) => postJson(chatUrl, chat(`question ${i}`, { model: 'gpt-4o-mini' }), team(i % 2 ? 'acme' : `team-${i}`)));
  await Promise.all(hits);
  // An upstream failure (no fallback for gpt-4o-mini) and a stream cut mid-answer (usage estimated).
  oa.setBehavior([{ kind: 'status', status: 500 }, { kind: 'cut-mid-stream', afterChunks: 2 }, { kind: 'ok' }]);
  await postJson(chatUrl, chat('fails', { model: 'gpt-4o-mini' }));
  await postJson(chatUrl, chat('cut', { model: 'gpt-4o-mini', stream: true }));
  oa.setBehavior({ kind: 'ok' });
  // Parsed requests only: the invalid JSON body never becomes a decision.
  return 6 + 4 + 3 + 1 + 3 + 1 + 1 + 3 + 2;
}

describe('metrics, stats and the event stream', () => {
  it('agree on counts, cost, savings and tokens after a burst of mixed requests', async () => {
    const n = await burst();
    await live.waitFor(n);
    const stats = (await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot;
    const prom = await scrape(gw.url);
    const recs = live.events.map((e) => e.record);

    expect(recs).toHaveLength(n);
    expect(stats.requests.total).toBe(n);
    expect(stats.seq).toBe(live.events.at(-1)!.id);
    expect(sumOf(prom, 'switchyard_requests_total')).toBe(n);
    expect(sumOf(prom, 'switchyard_request_duration_seconds_count')).toBe(n);

    const cost = recs.reduce((s, r) => s + (r.costUsd ?? 0), 0);
    const savings = recs.reduce((s, r) => s + (r.savingsUsd ?? 0), 0);
    expect(cost).toBeGreaterThan(0);
    expect(savings).toBeGreaterThan(0);
    expect(stats.costUsd).toBeCloseTo(cost, 12);
    expect(stats.savingsUsd).toBeCloseTo(savings, 12);
    expect(sumOf(prom, 'switchyard_cost_usd_total')).toBeCloseTo(cost, 12);
    expect(sumOf(prom, 'switchyard_savings_usd_total')).toBeCloseTo(savings, 12);

    const hits = recs.filter((r) => r.cache === 'hit-exact').length;
    expect(hits).toBe(3);
    expect(stats.cache.hits).toBe(hits);
    expect(sumOf(prom, 'switchyard_cache_lookups_total', { result: 'hit-exact' })).toBe(hits);
    expect(sumOf(prom, 'switchyard_savings_usd_total', { source: 'cache' })).toBeCloseTo(
      recs.filter((r) => r.cache === 'hit-exact').reduce((s, r) => s + (r.savingsUsd ?? 0), 0),
      12,
    );

    const input = recs.reduce((s, r) => s + (r.inputTokens ?? 0), 0);
    const output = recs.reduce((s, r) => s + (r.outputTokens ?? 0), 0);
    expect(stats.tokens).toEqual({ input, output });
    expect(sumOf(prom, 'switchyard_tokens_total', { direction: 'input' })).toBe(input);
    expect(sumOf(prom, 'switchyard_tokens_total', { direction: 'output' })).toBe(output);

    for (const [status, count] of Object.entries(stats.requests.byStatus)) {
      expect(sumOf(prom, 'switchyard_requests_total', { status })).toBe(count);
      expect(recs.filter((r) => String(r.status) === status)).toHaveLength(count);
    }
    expect(sumOf(prom, 'switchyard_errors_total', { code: 'model_not_found' })).toBe(1);
  });

  it('prices each request from config, the built-in table, or the local compute price, and marks estimated usage', () => {
    const recs = live.events.map((e) => e.record);
    const mini = recs.find((r) => r.model === 'gpt-4o-mini' && r.cache === 'miss' && r.status === 200 && !r.usageEstimated)!;
    expect(mini.costUsd).toBeCloseTo((mini.inputTokens! * 0.15 + mini.outputTokens! * 0.6) / 1e6, 15);
    // Reference gpt-4o (built-in 2.5 / 10 per 1M).
    expect(mini.savingsUsd).toBeCloseTo((mini.inputTokens! * 2.5 + mini.outputTokens! * 10) / 1e6 - mini.costUsd!, 15);
    const haiku = recs.find((r) => r.model === 'claude-3-5-haiku')!;
    expect(haiku.costUsd).toBeCloseTo((haiku.inputTokens! * 0.8 + haiku.outputTokens! * 4) / 1e6, 15);
    const llama = recs.find((r) => r.model === 'llama-local')!;
    expect(llama.costUsd).toBeCloseTo((llama.inputTokens! * 0.01 + llama.outputTokens! * 0.02) / 1e6, 15);
    const hit = recs.find((r) => r.cache === 'hit-exact')!;
    expect(hit.costUsd).toBe(0);
    expect(hit.savingsUsd).toBeGreaterThan(0);
    const cut = recs.find((r) => r.error === 'stream_interrupted')!;
    expect(cut.usageEstimated).toBe(true);
    expect(cut.outputTokens).toBeGreaterThan(0);
    expect(cut.costUsd).toBeGreaterThan(0);
    const failed = recs.find((r) => r.status === 502)!;
    expect(failed.costUsd).toBeUndefined();
  });

  it('keeps the tenant label on cost within the listed tenants and the hash buckets', async () => {
    const prom = await scrape(gw.url);
    const tenants = new Set(prom.filter((s) => s.name === 'switchyard_cost_usd_total').map((s) => s.labels.tenant));
    expect(tenants.has(ACME)).toBe(true);
    for (const t of tenants) expect(t === ACME || /^bucket-0[0-3]$/.test(t)).toBe(true);
    const models = new Set(prom.filter((s) => s.name === 'switchyard_requests_total').map((s) => s.labels.upstream));
    for (const m of models) expect(['oa', 'ant', 'local', 'none']).toContain(m);
  });

  it('exposes breaker state, in-flight and process metrics', async () => {
    const prom = await scrape(gw.url);
    expect(prom.filter((s) => s.name === 'switchyard_breaker_state').map((s) => s.labels.upstream).sort()).toEqual(['ant', 'local', 'oa']);
    expect(sumOf(prom, 'switchyard_in_flight_requests')).toBe(0);
    expect(sumOf(prom, 'switchyard_breaker_events_total', { upstream: 'oa', event: 'failure' })).toBeGreaterThan(0);
    expect(prom.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(prom.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });
});
