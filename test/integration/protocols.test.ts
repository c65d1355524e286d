/**
 * OpenAI and Anthropic traffic through `switchyard serve` with the official
 * SDKs, same-protocol and across protocols, streamed and not.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

let oai: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  oai = await startFakeOpenAI();
  ant = await startFakeAnthropic();
  const env = { ...process.env, TEST_OPENAI_KEY: 'sk-test-openai', TEST_ANTHROPIC_KEY: 'sk-ant-test' };
  gw = await startGateway(
    `
upstreams:
${upstreamYaml('oai', oai.url, 'gpt-test', { apiKeyEnv: 'TEST_OPENAI_KEY' })}    embeddings: true
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', apiKeyEnv: 'TEST_ANTHROPIC_KEY' })}
tiers:
  - { name: small, models: [gpt-test] }
  - { name: frontier, models: [claude-test] }
`,
    env,
  );
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'client-key', maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await oai.close();
  await ant.close();
});

describe('OpenAI clients', () => {
  it('chat completion, non-streaming, with the upstream key (not the client key) sent upstream', async () => {
    const r = await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'ping' }] });
    expect(r.choices[0]!.message.content).toBe('echo: ping');
    expect(r.model).toBe('gpt-test');
    expect(oai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-test-openai');
  });

  it('chat completion, streaming', async () => {
    const stream = await openai.chat.completions.create({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'stream me' }] });
    let text = '';
    let finish: string | null | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('echo: stream me');
    expect(finish).toBe('stop');
  });

  it('passes tools and response_format through and returns tool calls', async () => {
    oai.setBehavior({ kind: 'ok', toolCall: { name: 'get_weather', arguments: { city: 'Paris' } } });
    const r = await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      response_format: { type: 'json_object' },
    });
    oai.setBehavior({ kind: 'ok' });
    expect(r.choices[0]!.message.tool_calls![0]!.type).toBe('function');
    const call = r.choices[0]!.message.tool_calls![0] as { function: { name: string; arguments: string } };
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    const sent = oai.requests.at(-1)!.body as Record<string, unknown>;
    expect(sent.tools).toBeDefined();
    expect(sent.response_format).toEqual({ type: 'json_object' });
  });

  it('served by an Anthropic upstream (translated both ways), non-streaming and streaming', async () => {
    const r = await openai.chat.completions.create({ model: 'claude-test', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'cross' }] });
    expect(r.choices[0]!.message.content).toBe('echo: cross');
    expect(r.model).toBe('claude-test');
    const sent = ant.requests.at(-1)!;
    expect((sent.body as Record<string, unknown>).system).toBe('be brief');
    expect((sent.body as Record<string, unknown>).max_tokens).toBeGreaterThan(0);
    expect(sent.headers['x-api-key']).toBe('sk-ant-test');
    const stream = await openai.chat.completions.create({ model: 'claude-test', stream: true, messages: [{ role: 'user', content: 'cross stream' }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('echo: cross stream');
  });

  it('sends the usage chunk an OpenAI client asked for, even from an Anthropic upstream', async () => {
    const stream = await openai.chat.completions.create({
      model: 'claude-test',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'count my tokens' }],
    });
    let usage: { completion_tokens: number } | null | undefined;
    for await (const c of stream) usage = c.usage ?? usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('legacy completions and embeddings', async () => {
    const c = await openai.completions.create({ model: 'gpt-test', prompt: 'complete this' });
    expect(c.choices[0]!.text).toContain('complete this');
    const e = await openai.embeddings.create({ model: 'gpt-test', input: ['a', 'b'] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]!.embedding.length).toBe(8);
  });

  it('lists real and virtual models', async () => {
    const list = await openai.models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-test', 'claude-test', 'switchyard/auto', 'switchyard/small', 'switchyard/frontier']));
  });

  it('routes a pinned virtual tier', async () => {
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/frontier', messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('ant');
    expect(r.headers.get('x-switchyard-route')).toBe('pinned tier frontier');
  });
});

describe('Anthropic clients', () => {
  it('messages, non-streaming and streaming', async () => {
    const m = await anthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'hello claude' }] });
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: hello claude' });
    const stream = anthropic.messages.stream({ model: 'claude-test', max_tokens: 100, messages: [{ role: 'user', content: 'stream claude' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'echo: stream claude' });
    expect(final.stop_reason).toBe('end_turn');
  });

  it('served by an OpenAI upstream, non-streaming and streaming', async () => {
    const m = await anthropic.messages.create({ model: 'gpt-test', max_tokens: 100, system: 'sys', messages: [{ role: 'user', content: 'to openai' }] });
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: to openai' });
    expect(m.usage.output_tokens).toBeGreaterThan(0);
    const sent = oai.requests.at(-1)!.body as Record<string, unknown>;
    expect((sent.messages as { role: string }[])[0]!.role).toBe('system');
    const stream = anthropic.messages.stream({ model: 'gpt-test', max_tokens: 100, messages: [{ role: 'user', content: 'to openai stream' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'echo: to openai stream' });
  });

  it('reports errors in Anthropic format on /v1/messages', async () => {
    const r = await postJson(`${gw.url}/v1/messages`, { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});
