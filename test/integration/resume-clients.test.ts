/**
 * Mid-stream resume seen by the official streaming clients (`openai`,
 * `@anthropic-ai/sdk`), through `serve` and through the Express face, within
 * a protocol and across protocols: each gets the whole canonical answer,
 * once, in one stream of its own protocol, with usage summed.
 */
import Anthropic from '@anthropic-ai/sdk';
import express from 'express';
import type { Server } from 'node:http';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { switchyard } from '../../src/adapters/express/index.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startGateway } from '../helpers/gateway.js';
import { ANSWER, RESUME_ENV, resumeYaml } from '../helpers/resume.js';

let oai: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer | undefined;
let server: Server | undefined;
let closeMw: (() => Promise<void>) | undefined;

beforeEach(async () => {
  oai = await startFakeOpenAI();
  ant = await startFakeAnthropic();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
    server = undefined;
  }
  await closeMw?.();
  closeMw = undefined;
  await oai.close();
  await ant.close();
});

const env = () => ({ ...process.env, ...RESUME_ENV });
const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));
const messages = [{ role: 'user' as const, content: 'Tell me about the fox.' }];

async function serve(fallbacks: string): Promise<string> {
  gw = await startGateway(resumeYaml({ oai: oai.url, ant: ant.url, fallbacks }), env());
  return gw.url;
}

async function viaExpress(fallbacks: string): Promise<string> {
  const config = parse(resumeYaml({ oai: oai.url, ant: ant.url, fallbacks, extra: 'cache: { enabled: false }' })) as Record<string, unknown>;
  const mw = switchyard({ config, env: env() });
  closeMw = () => mw.close();
  const app = express();
  app.use(mw);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function openAIText(base: string, model: string): Promise<{ text: string; models: string[]; usage: OpenAI.CompletionUsage | undefined | null }> {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'key-a', maxRetries: 0 });
  const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
  let text = '';
  const models: string[] = [];
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.choices.length > 0) models.push(chunk.model);
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, models, usage };
}

describe('openai SDK, streaming', () => {
  for (const [face, start] of [['serve', serve], ['Express', viaExpress]] as const) {
    it(`${face}: a cut on gpt-4o is finished by a fresh gpt-4o-mini generation on the same upstream`, async () => {
      oai.setBehavior({
        kind: 'by-model',
        models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 3, answer: ANSWER }, 'gpt-4o-mini': { kind: 'ok', answer: ANSWER } },
      });
      const base = await start('  gpt-4o: [gpt-4o-mini]');
      const r = await openAIText(base, 'gpt-4o');
      expect(r.text).toBe(ANSWER);
      expect(r.models.at(-1)).toBe('gpt-4o-mini');
      expect(r.usage?.completion_tokens).toBe(tokens('The quick brown ') + tokens(ANSWER));
      expect(oai.requests.map((q) => (q.body as { model: string }).model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    });
  }

  it('across protocols: an OpenAI client, a cut OpenAI upstream, an Anthropic fallback continuing the prefill', async () => {
    oai.setBehavior({ kind: 'cut-mid-stream', afterChunks: 4, answer: ANSWER });
    ant.setBehavior({ kind: 'ok', answer: ANSWER, continuePrefill: true });
    const r = await openAIText(await serve('  gpt-4o: [claude-sonnet]'), 'gpt-4o');
    expect(r.text).toBe(ANSWER);
    expect(r.models.at(-1)).toBe('claude-sonnet');
    const cont = ANSWER.slice('The quick brown fox'.length);
    expect(r.usage?.completion_tokens).toBe(tokens('The quick brown fox ') + tokens(cont));
  });
});

describe('@anthropic-ai/sdk, streaming', () => {
  const ask = async (base: string, model: string) => {
    const client = new Anthropic({ baseURL: base, apiKey: 'key-a', maxRetries: 0 });
    const stream = client.messages.stream({ model, max_tokens: 200, messages });
    let deltas = '';
    stream.on('text', (t) => (deltas += t));
    const msg = await stream.finalMessage();
    return { msg, deltas };
  };

  for (const [face, start] of [['serve', serve], ['Express', viaExpress]] as const) {
    it(`${face}: a cut Anthropic stream (relayed verbatim) continues in the same text block on another Claude model`, async () => {
      ant.setBehavior({
        kind: 'by-model',
        models: { 'claude-sonnet': { kind: 'cut-mid-stream', afterChunks: 5, answer: ANSWER }, 'claude-haiku': { kind: 'ok', answer: ANSWER, continuePrefill: true } },
      });
      const { msg, deltas } = await ask(await start('  claude-sonnet: [claude-haiku]'), 'claude-sonnet');
      expect(deltas).toBe(ANSWER);
      expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: ANSWER })]);
      expect(msg.stop_reason).toBe('end_turn');
      const cont = ANSWER.slice('The quick brown fox jumps'.length);
      expect(msg.usage.output_tokens).toBe(tokens('The quick brown fox jumps ') + tokens(cont));
      expect(ant.requests.map((q) => (q.body as { model: string }).model)).toEqual(['claude-sonnet', 'claude-haiku']);
    });
  }

  it('across protocols: an Anthropic client, a cut Anthropic upstream, an OpenAI fallback generating afresh', async () => {
    ant.setBehavior({ kind: 'cut-mid-stream', afterChunks: 2, answer: ANSWER });
    oai.setBehavior({ kind: 'ok', answer: ANSWER });
    const { msg, deltas } = await ask(await serve('  claude-sonnet: [gpt-4o-mini]'), 'claude-sonnet');
    expect(deltas).toBe(ANSWER);
    expect(msg.content).toEqual([expect.objectContaining({ type: 'text', text: ANSWER })]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(oai.requests).toHaveLength(1);
    const last = (oai.requests[0]!.body as { messages: { role: string }[] }).messages.at(-1)!;
    expect(last.role).toBe('user');
  });
});
