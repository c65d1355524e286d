/**
 * OpenTelemetry spans: with an SDK registered (in-memory exporter), every
 * request yields one CLIENT span following the gen_ai semantic conventions,
 * timed from arrival to the end of the answer, with the decision as
 * `switchyard.*` attributes; errors set the span status.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let oa: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer;

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  oa = await startFakeOpenAI({ behavior: { kind: 'ok', answer: 'traced answer', chunkDelayMs: 20 } });
  ant = await startFakeAnthropic();
  gw = await startGateway(`
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    models: [{ name: gpt-4o-mini }]
    retry: { max: 0 }
  - name: ant
    kind: anthropic
    baseUrl: ${ant.url}
    apiKeyEnv: TRACE_TEST_KEY
    models: [{ name: claude-3-5-haiku }]
tiers: [{ name: fast, models: [gpt-4o-mini] }]
cache: { semantic: { enabled: false } }
`, { ...process.env, TRACE_TEST_KEY: 'sk-ant-trace' });
});

afterAll(async () => {
  await gw?.close();
  await oa?.close();
  await ant?.close();
  await provider.shutdown();
  trace.disable();
});

const spanOf = (id: string) => exporter.getFinishedSpans().find((s) => s.attributes['switchyard.request_id'] === id)!;

describe('spans', () => {
  it('carry the gen_ai attributes and the decision for a streamed chat through a tier', async () => {
    exporter.reset();
    const t0 = Date.now();
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/fast', stream: true, messages: [{ role: 'user', content: 'trace me' }] });
    expect(r.status).toBe(200);
    const span = spanOf(r.headers.get('x-switchyard-request-id')!);
    expect(span.name).toBe('chat switchyard/fast');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'switchyard/fast',
      'gen_ai.response.model': 'gpt-4o-mini',
      'switchyard.tier': 'fast',
      'switchyard.upstream': 'oa',
      'switchyard.cache': 'miss',
      'switchyard.attempts': 1,
      'http.response.status_code': 200,
    });
    expect(span.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(span.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(typeof span.attributes['switchyard.cost_usd']).toBe('number');
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    // Timed from arrival to the end of the stream (several chunks 20 ms apart).
    const startMs = span.startTime[0] * 1000 + span.startTime[1] / 1e6;
    const endMs = span.endTime[0] * 1000 + span.endTime[1] / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(t0 - 5);
    expect(endMs - startMs).toBeGreaterThan(20);
  });

  it('names the Anthropic system and the cache hit', async () => {
    exporter.reset();
    const body = { model: 'claude-3-5-haiku', max_tokens: 20, messages: [{ role: 'user', content: 'same question' }] };
    await postJson(`${gw.url}/v1/messages`, body);
    const hit = await postJson(`${gw.url}/v1/messages`, body);
    expect(hit.headers.get('x-switchyard-cache')).toBe('hit-exact');
    const span = spanOf(hit.headers.get('x-switchyard-request-id')!);
    expect(span.attributes).toMatchObject({ 'gen_ai.system': 'anthropic', 'gen_ai.operation.name': 'chat', 'switchyard.cache': 'hit-exact', 'switchyard.cost_usd': 0 });
    expect(exporter.getFinishedSpans()).toHaveLength(2);
  });

  it('marks failures as errors with error.type', async () => {
    exporter.reset();
    oa.setBehavior({ kind: 'status', status: 500 });
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail' }] });
    oa.setBehavior({ kind: 'ok' });
    expect(r.status).toBe(502);
    const span = spanOf(r.headers.get('x-switchyard-request-id')!);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('upstream_unavailable');
    expect(span.attributes['http.response.status_code']).toBe(502);
  });
});
