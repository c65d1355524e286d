/**
 * Failover policy through `switchyard serve`: retries per failure class
 * (`retry.on`), a silent upstream going straight to the next candidate,
 * per-deployment breakers and cool-downs on one upstream, context overflow
 * with undeclared windows along a transitive chain, and a JSON answer that
 * dies mid-body retried whole.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway } from '../helpers/gateway.js';

let a: FakeProvider;
let b: FakeProvider;
let gw: RunningServer | undefined;
beforeEach(async () => {
  a = await startFakeOpenAI();
  b = await startFakeOpenAI();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await a.close();
  await b.close();
});

const body = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const models = (f: FakeProvider) => f.requests.map((r) => (r.body as { model?: string }).model);

async function gateway(o: { retry?: string; firstTokenMs?: number; aModels?: string; bModels?: string; fallbacks: string; breaker?: string }): Promise<string> {
  gw = await startGateway(`
upstreams:
  - name: a
    kind: openai-compatible
    baseUrl: ${a.url}
    models: ${o.aModels ?? '[{ name: a1 }, { name: a2 }]'}
    timeouts: { connectMs: 1000, firstTokenMs: ${o.firstTokenMs ?? 3000}, idleMs: 3000, totalMs: 20000 }
    retry: ${o.retry ?? '{ baseDelayMs: 10, maxDelayMs: 50 }'}
    breaker: ${o.breaker ?? '{ volumeThreshold: 50, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }'}
  - name: b
    kind: openai-compatible
    baseUrl: ${b.url}
    models: ${o.bModels ?? '[{ name: b1 }]'}
fallbacks:
${o.fallbacks}
`);
  return `${gw.url}/v1/chat/completions`;
}

describe('retry.on per failure class', () => {
  it('retries a 5xx as many times as `5xx` allows (capped by max), then moves on', async () => {
    a.setBehavior({ kind: 'status', status: 500 });
    const url = await gateway({ retry: "{ max: 5, on: { '5xx': 2 }, baseDelayMs: 10, maxDelayMs: 50 }", fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1'));
    expect(r.status).toBe(200);
    expect(a.requests).toHaveLength(3);
    expect(r.headers.get('x-switchyard-attempts')).toBe('4');
  });

  it('does not retry a 429 when `429: 0`', async () => {
    a.setBehavior({ kind: 'rate-limit' });
    const url = await gateway({ retry: "{ on: { '429': 0 }, baseDelayMs: 10 }", fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1'));
    expect(r.headers.get('x-switchyard-upstream')).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  it('sends a silent upstream (no first byte in time) straight to the next candidate, not retried by default', async () => {
    a.setBehavior({ kind: 'hang' });
    const url = await gateway({ firstTokenMs: 300, fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  it('retries a silent upstream when `timeout` allows it', async () => {
    a.setBehavior([{ kind: 'hang' }, { kind: 'ok' }]);
    const url = await gateway({ firstTokenMs: 300, retry: '{ on: { timeout: 1 }, baseDelayMs: 10 }', fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1'));
    expect(r.headers.get('x-switchyard-upstream')).toBe('a');
    expect(a.requests).toHaveLength(2);
  });

  it('retries a JSON answer that dies mid-body as a whole, and fails over when it keeps dying', async () => {
    a.setBehavior([{ kind: 'cut-mid-stream', answer: 'whole answer' }, { kind: 'ok', answer: 'whole answer' }]);
    const url = await gateway({ fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1'));
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('whole answer');
    expect(a.requests).toHaveLength(2);
    a.setBehavior({ kind: 'cut-mid-stream', answer: 'whole answer' });
    b.setBehavior({ kind: 'ok', answer: 'whole answer' });
    const r2 = await postJson(url, body('a1'));
    expect(r2.json.choices[0].message.content).toBe('whole answer');
    expect(r2.headers.get('x-switchyard-upstream')).toBe('b');
  });
});

describe('per-deployment health on one upstream', () => {
  it('a 503 on one model never takes the other model of the same upstream down', async () => {
    a.setBehavior({ kind: 'by-model', models: { a1: { kind: 'status', status: 503 } }, otherwise: { kind: 'ok' } });
    const url = await gateway({ retry: '{ max: 0 }', breaker: '{ volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }', fallbacks: '  a1: [a2]' });
    for (let i = 0; i < 2; i++) expect((await postJson(url, body('a1'))).headers.get('x-switchyard-model')).toBe('a2');
    expect(gw!.switchyard.registry.deployment('a1')!.breaker.state).toBe('open');
    const r = await postJson(url, body('a1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-model')).toBe('a2');
    expect(r.headers.get('x-switchyard-attempts')).toBe('1');
    expect(models(a)).toEqual(['a1', 'a2', 'a1', 'a2', 'a2']);
    const direct = await postJson(url, body('a2'));
    expect(direct.headers.get('x-switchyard-model')).toBe('a2');
    expect(gw!.switchyard.registry.deployment('a2')!.breaker.state).toBe('closed');
    expect(gw!.switchyard.registry.upstream('a')!.breaker.state).toBe('closed');
  });

  it('a Retry-After cools down only the model that sent it', async () => {
    a.setBehavior({ kind: 'by-model', models: { a1: { kind: 'rate-limit', retryAfter: '120' } }, otherwise: { kind: 'ok' } });
    const url = await gateway({ fallbacks: '  a1: [a2]' });
    const r = await postJson(url, body('a1'));
    expect(r.headers.get('x-switchyard-model')).toBe('a2');
    const again = await postJson(url, body('a1'));
    expect(again.headers.get('x-switchyard-model')).toBe('a2');
    expect(models(a)).toEqual(['a1', 'a2', 'a2']);
    expect(gw!.switchyard.registry.deployment('a1')!.whyUnusable()).toMatch(/a1@a: cooling down/);
    expect(gw!.switchyard.registry.deployment('a2')!.usable()).toBe(true);
  });
});

describe('context length', () => {
  it('moves along a transitive chain A -> B -> C: skips a smaller declared window, takes an undeclared one, never the same model', async () => {
    a.setBehavior({ kind: 'by-model', models: { a1: { kind: 'context-length-exceeded' } }, otherwise: { kind: 'ok' } });
    const url = await gateway({
      retry: '{ max: 3 }',
      aModels: '[{ name: a1, contextWindow: 8192 }, { name: a2, contextWindow: 4096 }, { name: a1-alias, upstreamModel: a1 }]',
      bModels: '[{ name: b1 }]',
      fallbacks: '  a1: [a2]\n  a2: [a1-alias]\n  a1-alias: [b1]',
    });
    const r = await postJson(url, body('a1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('b');
    expect(models(a)).toEqual(['a1']);
    expect(models(b)).toEqual(['b1']);
  });

  it('takes an undeclared window after an undeclared one overflowed (not known to be smaller)', async () => {
    a.setBehavior({ kind: 'context-length-exceeded' });
    const url = await gateway({ aModels: '[{ name: a1 }]', fallbacks: '  a1: [b1]' });
    const r = await postJson(url, body('a1'));
    expect(r.headers.get('x-switchyard-upstream')).toBe('b');
  });

  it('rejects a fallback cycle at config load, naming the loop', () => {
    const yaml = `
upstreams:
  - { name: u, kind: openai-compatible, baseUrl: http://127.0.0.1:1/v1, models: [{ name: x }, { name: y }, { name: z }] }
fallbacks:
  x: [y]
  y: [z]
  z: [x]
`;
    expect(() => parseConfig(yaml, {})).toThrow(/fallback chains must not loop: x -> y -> z -> x/);
  });
});
