/**
 * Budgets cannot be poisoned (issue 12.4), through `switchyard serve` and
 * the Express face with the official SDKs: every numeric parameter outside
 * its documented range is a 400 naming it, in the caller's protocol, and
 * never reaches an upstream or a budget; a huge but valid `max_tokens`
 * reserves only what the model can write.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, startFace, until, type RunningFace } from '../helpers/either-face.js';
import { postJson, upstreamYaml } from '../helpers/gateway.js';

let up: FakeProvider;
let ant: FakeProvider;
beforeAll(async () => {
  [up, ant] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
});
afterAll(async () => {
  await Promise.all([up.close(), ant.close()]);
});

const yaml = () => `
upstreams:
${upstreamYaml('primary', up.url, 'primary-model', { retries: 0 })}
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', retries: 0, apiKeyEnv: 'TEST_ANTHROPIC_KEY' })}
`;
const env = { ...process.env, TEST_ANTHROPIC_KEY: 'sk-ant-test-numbers' };

describe.each(FACES)('numeric parameters through %s', (face) => {
  let f: RunningFace;
  beforeAll(async () => {
    f = await startFace(face, yaml(), env);
  });
  afterAll(async () => {
    await f.close();
  });

  it('OpenAI SDK: max_tokens 1e308 is a 400 with param max_tokens, and nothing is forwarded', async () => {
    const before = up.requests.length;
    const client = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const err = await client.chat.completions.create({ model: 'primary-model', max_tokens: 1e308, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.param).toBe('max_tokens');
    expect(e.message).toMatch(/max_tokens.*integer from 1 to 2147483647/);
    expect(up.requests.length).toBe(before);
  });

  it.each([
    [{ n: -1 }, 'n'],
    [{ n: 0 }, 'n'],
    [{ n: 1000 }, 'n'],
    [{ temperature: 'NaN' }, 'temperature'],
    [{ temperature: 2.5 }, 'temperature'],
    [{ top_p: -0.1 }, 'top_p'],
    [{ max_tokens: '1e308' }, 'max_tokens'],
    [{ max_tokens: 1.5 }, 'max_tokens'],
    [{ max_completion_tokens: 1e12 }, 'max_completion_tokens'],
    [{ presence_penalty: 3 }, 'presence_penalty'],
    [{ frequency_penalty: 'Infinity' }, 'frequency_penalty'],
    [{ seed: 1.5 }, 'seed'],
    [{ seed: 1e300 }, 'seed'],
    [{ top_logprobs: 50 }, 'top_logprobs'],
    [{ logprobs: 3 }, 'logprobs'],
    [{ logit_bias: { 50256: 1000 } }, 'logit_bias.50256'],
  ])('OpenAI chat %j is a 400 naming %s', async (extra, param) => {
    const before = up.requests.length;
    const r = await postJson(`${f.url}/v1/chat/completions`, { model: 'primary-model', messages: [{ role: 'user', content: 'hi' }], ...extra });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param, code: 'invalid_request' });
    expect(r.json.error.message).toContain(`\`${param}\``);
    expect(up.requests.length).toBe(before);
  });

  it('valid edge values pass', async () => {
    const r = await postJson(`${f.url}/v1/chat/completions`, {
      model: 'primary-model', messages: [{ role: 'user', content: 'edges' }],
      n: 1, temperature: 2, top_p: 0, presence_penalty: -2, frequency_penalty: 2, seed: -5, logprobs: true, top_logprobs: 20, logit_bias: { 50256: -100 },
    });
    expect(r.status).toBe(200);
  });

  it('legacy completions and embeddings check theirs too', async () => {
    const c = await postJson(`${f.url}/v1/completions`, { model: 'primary-model', prompt: 'x', best_of: 2, n: 3 });
    expect(c.status).toBe(400);
    expect(c.json.error.param).toBe('best_of');
    const l = await postJson(`${f.url}/v1/completions`, { model: 'primary-model', prompt: 'x', logprobs: 9 });
    expect(l.json.error.param).toBe('logprobs');
    const e = await postJson(`${f.url}/v1/embeddings`, { model: 'primary-model', input: 'x', dimensions: -3 });
    expect(e.status).toBe(400);
    expect(e.json.error.param).toBe('dimensions');
  });

  it('Anthropic SDK: max_tokens 1e308, top_k -1 and temperature 1.5 are 400 invalid_request_error naming the parameter', async () => {
    const before = ant.requests.length;
    // An explicit timeout: without one the SDK itself refuses a large non-streaming max_tokens before sending.
    const client = new Anthropic({ baseURL: f.url, apiKey: 'key-a', maxRetries: 0, timeout: 20_000 });
    for (const [extra, param] of [
      [{ max_tokens: 1e308 }, 'max_tokens'],
      [{ max_tokens: 10, top_k: -1 }, 'top_k'],
      [{ max_tokens: 10, temperature: 1.5 }, 'temperature'],
      [{ max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 4096 } }, 'thinking.budget_tokens'],
    ] as const) {
      const err = await client.messages.create({ model: 'claude-test', messages: [{ role: 'user', content: 'hi' }], ...(extra as { max_tokens: number }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const e = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(e.status).toBe(400);
      expect((e.error as { type: string; error: { type: string; message: string } }).error.type).toBe('invalid_request_error');
      expect((e.error as { error: { message: string } }).error.message).toContain(`\`${param}\``);
    }
    expect(ant.requests.length).toBe(before);
  });
});

describe.each(FACES)('reservations through %s', (face) => {
  let f: RunningFace;
  beforeAll(async () => {
    // $100 per 1M output tokens: 2^31 tokens would reserve ~$214,748; the capped model can write 100.
    f = await startFace(face, `
upstreams:
  - name: cloud
    kind: openai-compatible
    baseUrl: ${up.url}
    retry: { max: 0 }
    models:
      - { name: capped, maxOutputTokens: 100, inputPricePer1M: 1, outputPricePer1M: 100 }
      - { name: uncapped, contextWindow: 8192, inputPricePer1M: 1, outputPricePer1M: 100 }
      - { name: estimated, maxOutputTokens: 100000, defaultOutputTokens: 50, inputPricePer1M: 1, outputPricePer1M: 100 }
accounting:
  budgets:
    default: { dailyUsd: 0.1 }
`);
  });
  afterAll(async () => {
    await f.close();
  });
  afterEach(async () => {
    up.setBehavior({ kind: 'ok' });
    await f.switchyard.accounting.flush();
  });

  const body = (model: string, extra: Record<string, unknown>) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
  const headers = (key: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-switchyard-tenant': key });

  /**
   * Holds request A in flight (the upstream never answers it), then sends B
   * for the same tenant: B is refused only if A's reservation alone used up
   * the $0.10 cap. A is abandoned afterwards.
   */
  async function whileHeld(a: { model: string; extra: Record<string, unknown> }, key: string): Promise<number> {
    up.setBehavior([{ kind: 'hang' }, { kind: 'ok' }]);
    const before = up.requests.length;
    const ac = new AbortController();
    const held = fetch(`${f.url}/v1/chat/completions`, { method: 'POST', headers: headers(key), body: body(a.model, a.extra), signal: ac.signal }).catch(() => undefined);
    await until(() => up.requests.length > before);
    const b = await fetch(`${f.url}/v1/chat/completions`, { method: 'POST', headers: headers(key), body: body('capped', { max_tokens: 10 }) });
    await b.text();
    ac.abort();
    await held;
    return b.status;
  }

  it("reserves min(max_tokens, the model's max output): a huge valid max_tokens on a 100-token model leaves the budget open", async () => {
    expect(await whileHeld({ model: 'capped', extra: { max_tokens: 2_147_483_647 } }, `cap-${face}-1`)).toBe(200);
  });

  it('a model without maxOutputTokens is bounded by its context window: 8192 × $100/1M fills the $0.10 cap', async () => {
    expect(await whileHeld({ model: 'uncapped', extra: { max_tokens: 2_147_483_647 } }, `cap-${face}-2`)).toBe(429);
  });

  it("without max_tokens the model's own default estimate is reserved (50 tokens, not 100000), times n", async () => {
    expect(await whileHeld({ model: 'estimated', extra: {} }, `cap-${face}-3`)).toBe(200);
    expect(await whileHeld({ model: 'estimated', extra: { n: 3 } }, `cap-${face}-4`)).toBe(200);
    expect(await whileHeld({ model: 'estimated', extra: { n: 3, max_tokens: 1000 } }, `cap-${face}-5`)).toBe(429);
  });
});
