/**
 * Shadow tests through `switchyard serve` against fake upstreams over HTTP,
 * results in real Redis: the cheap tier's agreement and disagreement are
 * detected (similarity and judge), the user's answer never waits for the
 * shadow call, a failing shadow target is recorded without touching the
 * user's answer or the breaker, and the automatic mode feeds routing's
 * learned quality.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import type { ShadowResult } from '../../src/shadow/result.js';
import { createGate } from '../fixtures/fake-common.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { chatCalls, dropStream, freshStream, readStream, shadowYaml } from '../helpers/shadow-fixtures.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

let cheap: FakeProvider;
let strong: FakeProvider;
let embed: FakeProvider;
let judge: FakeProvider;
const streams: string[] = [];
const gateways: RunningServer[] = [];

beforeAll(async () => {
  [cheap, strong, embed, judge] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(async () => {
  for (const gw of gateways) await gw.close();
  for (const s of streams) await dropStream(s);
  await Promise.all([cheap, strong, embed, judge].map((f) => f.close()));
});

async function gateway(extra: { shadow?: string; routing?: string; judge?: boolean } = {}): Promise<{ gw: RunningServer; stream: string }> {
  const stream = freshStream();
  streams.push(stream);
  const gw = await startGateway(
    shadowYaml({
      cheapUrl: cheap.url,
      strongUrl: strong.url,
      embedUrl: embed.url,
      ...(extra.judge === false ? {} : { judgeUrl: judge.url }),
      stream,
      ...(extra.shadow ? { shadow: extra.shadow } : {}),
      ...(extra.routing ? { routing: extra.routing } : {}),
      cheapFirstTokenMs: 4000,
    }),
  );
  gateways.push(gw);
  return { gw, stream };
}

const ask = (gw: RunningServer, text: string, extra: Record<string, unknown> = {}) =>
  postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: text }], ...extra });

describe.skipIf(SKIP !== undefined)('shadow tests through serve', () => {
  it('detects agreement: the cheap tier answers the same text, the judge passes it; the record lands in the Redis stream', async () => {
    const { gw, stream } = await gateway();
    cheap.setBehavior({ kind: 'ok' });
    judge.setBehavior({ kind: 'ok', answer: '{"score": 9}' });
    const prompt = 'Summarize this paragraph in two sentences: revenue grew 12 percent on cloud services while hardware sales declined.';
    const r = await ask(gw, prompt);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-tier')).toBe('HIGH');
    expect(r.json.choices[0].message.content).toBe(`echo: ${prompt}`);
    await gw.switchyard.shadow.drain();

    const [rec] = await readStream(stream);
    expect(rec).toMatchObject({
      v: 1,
      id: r.headers.get('x-switchyard-request-id'),
      task: 'summarization',
      byComplexity: true,
      tier: 'HIGH',
      model: 'strong-model',
      shadowTier: 'LOW',
      shadowModel: 'cheap-model',
      similarity: 1,
      judge: 9,
      agreed: true,
    });
    expect(rec!.complexity).toBeGreaterThan(0.05);
    expect(rec!.cost).toBeGreaterThan(rec!.shadowCost);
    expect(rec!.shadowCost).toBeGreaterThan(0);
    expect(rec!.error).toBeUndefined();
    // The judge saw the request and both answers, through the openai SDK.
    const asked = judge.requests.at(-1)!.body as { model: string; messages: { role: string; content: string }[] };
    expect(asked.model).toBe('fake-judge');
    expect(asked.messages[1]!.content).toContain(prompt);
    expect(gw.switchyard.shadow.stats()).toMatchObject({ sampled: 1, started: 1, completed: 1, failed: 0 });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('switchyard_shadow_tests{outcome="completed"} 1');
  });

  it('detects disagreement: a different cheap answer scores low similarity and a failing judge score', async () => {
    const { gw, stream } = await gateway();
    cheap.setBehavior({ kind: 'ok', answer: 'I am not sure what you mean.' });
    judge.setBehavior({ kind: 'ok', answer: 'Score: 2/10. The candidate ignores the request.' });
    const r = await ask(gw, 'Write a python function that parses a CSV file and returns the rows as dictionaries.');
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toMatch(/^echo: Write a python/);
    await gw.switchyard.shadow.drain();
    const [rec] = await readStream(stream);
    expect(rec).toMatchObject({ task: 'code', judge: 2, agreed: false });
    expect(rec!.similarity).toBeLessThan(0.85);
    // Embedded through the configured embedder (the cache is off: the shadow built its own, once).
    expect(embed.requests.some((q) => q.path === '/v1/embeddings')).toBe(true);
  });

  it('never delays the user: a held shadow target is still running when the (streamed) answer has been fully read', async () => {
    const { gw, stream } = await gateway({ judge: false });
    // The cheap tier holds the shadow call's answer until the test opens the gate: no clock involved.
    const gate = createGate();
    cheap.setBehavior({ kind: 'gated', gate: gate.promise });
    const seen: ShadowResult[] = [];
    gw.switchyard.shadow.onResult((x) => seen.push(x));
    const before = chatCalls(cheap);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'switchyard/auto', stream: true, messages: [{ role: 'user', content: 'Summarize the key points of the meeting: ship Friday, Bob owns notes.' }] }),
    });
    const body = await res.text();
    expect(body).toContain('data: [DONE]');
    // The answer was complete while the shadow call was still held.
    expect(seen).toHaveLength(0);
    expect(gw.switchyard.shadow.stats().inFlight).toBe(1);
    gate.open();
    await gw.switchyard.shadow.drain();
    expect(chatCalls(cheap)).toBe(before + 1);
    expect(seen).toHaveLength(1);
    // The shadow request was sent non-streamed, whatever the user asked for.
    expect((cheap.requests.at(-1)!.body as { stream?: boolean }).stream).toBeUndefined();
    expect((await readStream(stream))[0]).toMatchObject({ agreed: true, similarity: 1 });
  });

  it('records a failing shadow target as an error sample; the user gets the answer and the breaker stays closed', async () => {
    const { gw, stream } = await gateway({ judge: false });
    cheap.setBehavior({ kind: 'status', status: 500 });
    const r = await ask(gw, 'Summarize: the launch moved to May because the vendor was late.');
    expect(r.status).toBe(200);
    await gw.switchyard.shadow.drain();
    const [rec] = await readStream(stream);
    expect(rec!.error).toBeTruthy();
    expect(rec!.agreed).toBeUndefined();
    expect(gw.switchyard.shadow.stats()).toMatchObject({ failed: 1, completed: 1 });
    expect(gw.switchyard.registry.upstream('cheap')!.breaker.state).toBe('closed');
    cheap.setBehavior({ kind: 'ok' });
  });

  it('samples deterministically by request id and per task rate; off by default', async () => {
    const { gw } = await gateway({ judge: false, shadow: '  taskRates: { code: 0 }\n' });
    cheap.setBehavior({ kind: 'ok' });
    await ask(gw, 'Write a typescript function that reverses a string.');
    await gw.switchyard.shadow.drain();
    expect(gw.switchyard.shadow.stats().sampled).toBe(0);
    await ask(gw, 'Summarize: costs fell and margins rose.');
    await gw.switchyard.shadow.drain();
    expect(gw.switchyard.shadow.stats().sampled).toBe(1);

    const off = await startGateway(shadowYaml({ cheapUrl: cheap.url, strongUrl: strong.url, embedUrl: embed.url, stream: freshStream() }).replace('enabled: true', 'enabled: false'));
    gateways.push(off);
    const n = chatCalls(cheap);
    await ask(off, 'Summarize: nothing happened today.');
    await off.switchyard.shadow.drain();
    expect(off.switchyard.shadow.stats().sampled).toBe(0);
    expect(chatCalls(cheap)).toBe(n);
  });

  it('automatic mode feeds the verdicts to routing learning, which moves the task threshold only within its guard rail', async () => {
    const { gw } = await gateway({ judge: false, shadow: '  auto: { enabled: true }\n', routing: '  learning: { guardRail: 0.05, gain: 1, minSamples: 1 }\n' });
    cheap.setBehavior({ kind: 'ok' });
    for (let i = 0; i < 12; i++) {
      await ask(gw, `Summarize note ${i}: the team agreed on the plan and the budget.`);
      await gw.switchyard.shadow.drain();
    }
    expect(gw.switchyard.router.thresholdsFor('summarization')).toEqual([0.1]);
    expect(gw.switchyard.router.thresholdsFor('code')).toEqual([0.05]);
  });

  it('refuses a config whose shadow section names an unknown tier, at start and on reload', async () => {
    const yaml = shadowYaml({ cheapUrl: cheap.url, strongUrl: strong.url, embedUrl: embed.url, stream: freshStream(), shadow: '  target: { tier: NOPE }\n' });
    await expect(startGateway(yaml)).rejects.toThrow(/shadow\.target\.tier.*NOPE/s);
    const { gw } = await gateway({ judge: false });
    const before = gw.switchyard.config;
    expect(() => gw.switchyard.reload(parseConfig(yaml))).toThrow(/shadow\.target\.tier.*NOPE/s);
    expect(gw.switchyard.config).toBe(before);
  });
});
