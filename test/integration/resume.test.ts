/**
 * Mid-stream resume through `switchyard serve`: a stream that fails after
 * bytes reached the client is continued on the next candidate, and the
 * client receives the whole canonical answer exactly once, in its own
 * protocol, with usage summed and the finishing model named.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { startServer } from '../../src/cli/serve.js';
import { startGateway } from '../helpers/gateway.js';
import { ANSWER, RESUME_ENV, chatBody, metricValue, openAIStream, postRaw, resumeYaml } from '../helpers/resume.js';

let oai: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer | undefined;

beforeEach(async () => {
  oai = await startFakeOpenAI();
  ant = await startFakeAnthropic();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await oai.close();
  await ant.close();
});

async function gateway(fallbacks: string, o: { idleMs?: number; prefill?: boolean; extra?: string } = {}): Promise<string> {
  gw = await startGateway(resumeYaml({ oai: oai.url, ant: ant.url, fallbacks, ...o }), { ...process.env, ...RESUME_ENV });
  return `${gw.url}/v1/chat/completions`;
}

const tokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));
const models = (f: FakeProvider) => f.requests.map((r) => (r.body as { model?: string }).model);
/** The last message a fake received, content as plain text (string or text parts). */
function lastMessage(f: FakeProvider, i: number): { role: string; content: string } {
  const m = (f.requests[i]!.body as { messages: { role: string; content: unknown }[] }).messages.at(-1)!;
  const content = typeof m.content === 'string' ? m.content : (m.content as { text?: string }[]).map((p) => p.text ?? '').join('');
  return { role: m.role, content };
}

describe('a stream cut mid-answer (OpenAI client)', () => {
  it('fresh generation on another model of the same upstream: only the remainder is sent', async () => {
    oai.setBehavior({
      kind: 'by-model',
      models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 3, answer: ANSWER }, 'gpt-4o-mini': { kind: 'ok', answer: ANSWER } },
    });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]');
    const r = await postRaw(url, chatBody('gpt-4o', { stream_options: { include_usage: true } }));
    expect(r.status).toBe(200);
    const s = openAIStream(r.text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(s.error).toBeUndefined();
    expect(models(oai)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    // No prefill for an OpenAI-compatible upstream not marked `prefill: true`: the original request again.
    expect(lastMessage(oai, 1).role).toBe('user');
    const withChoices = s.chunks.filter((c) => c['choices'].length > 0);
    expect(withChoices.at(-1)!['model']).toBe('gpt-4o-mini');
    expect(withChoices.at(-1)!['choices'][0]['finish_reason']).toBe('stop');
    // Usage: the cut attempt (estimated from what it produced) plus the fresh one.
    const usage = s.chunks.at(-1)!['usage'];
    const fresh = oai.requests[1]!;
    const input = tokens(JSON.stringify((fresh.body as { messages: unknown }).messages));
    expect(usage).toEqual({ prompt_tokens: 2 * input, completion_tokens: tokens('The quick brown ') + tokens(ANSWER), total_tokens: 2 * input + tokens('The quick brown ') + tokens(ANSWER) });
    expect(r.headers['x-switchyard-attempts']).toBe('1');
    expect(r.trailers['x-switchyard-attempts']).toBe('2');
    expect(r.trailers['x-switchyard-model']).toBe('gpt-4o-mini');
    expect(await metricValue(gw!, 'switchyard_stream_resumes_total', 'outcome="fresh"')).toBe(1);
  });

  it('prefill on an Anthropic fallback that continues it: the continuation is appended', async () => {
    oai.setBehavior({ kind: 'cut-mid-stream', afterChunks: 4, answer: ANSWER });
    ant.setBehavior({ kind: 'ok', answer: ANSWER, continuePrefill: true });
    const url = await gateway('  gpt-4o: [claude-sonnet]');
    const r = await postRaw(url, chatBody('gpt-4o'));
    const s = openAIStream(r.text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(ant.requests).toHaveLength(1);
    // The delivered text, trailing whitespace trimmed (Anthropic rejects it), as the final assistant turn.
    expect(lastMessage(ant, 0)).toEqual({ role: 'assistant', content: 'The quick brown fox' });
    expect(s.chunks.at(-1)!['model']).toBe('claude-sonnet');
    expect(r.trailers['x-switchyard-upstream']).toBe('anthropic');
    expect(await metricValue(gw!, 'switchyard_stream_resumes_total', 'outcome="prefill"')).toBe(1);
  });

  it('prefill on a fallback that restarts from the beginning: the repeated text is dropped', async () => {
    oai.setBehavior({ kind: 'cut-mid-stream', afterChunks: 5, answer: ANSWER });
    ant.setBehavior({ kind: 'ok', answer: ANSWER });
    const url = await gateway('  gpt-4o: [claude-sonnet]');
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(lastMessage(ant, 0).role).toBe('assistant');
    expect(await metricValue(gw!, 'switchyard_stream_resumes_total', 'outcome="restart"')).toBe(1);
  });

  it('a fallback that rejects the prefill with a 400 generates afresh, spliced', async () => {
    oai.setBehavior({
      kind: 'by-model',
      models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 2, answer: ANSWER }, 'gpt-4o-mini': { kind: 'reject-prefill', answer: ANSWER } },
    });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]', { prefill: true });
    const r = await postRaw(url, chatBody('gpt-4o'));
    const s = openAIStream(r.text);
    expect(s.text).toBe(ANSWER);
    expect(models(oai)).toEqual(['gpt-4o', 'gpt-4o-mini', 'gpt-4o-mini']);
    expect(lastMessage(oai, 1)).toEqual({ role: 'assistant', content: 'The quick' });
    expect(lastMessage(oai, 2).role).toBe('user');
    expect(r.trailers['x-switchyard-attempts']).toBe('3');
  });

  it('a stall past the idle timeout is resumed the same way', async () => {
    oai.setBehavior({ kind: 'stall', afterChunks: 3, answer: ANSWER });
    ant.setBehavior({ kind: 'ok', answer: ANSWER, continuePrefill: true });
    const url = await gateway('  gpt-4o: [claude-sonnet]', { idleMs: 300 });
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
  });

  it('a fresh generation that does not begin with the delivered text ends in the in-band error, text never doubled', async () => {
    oai.setBehavior({
      kind: 'by-model',
      models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 3, answer: ANSWER }, 'gpt-4o-mini': { kind: 'ok', answer: 'A different answer entirely.' } },
    });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]');
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.text).toBe('The quick brown ');
    expect(s.done).toBe(false);
    expect(s.error!['code']).toBe('stream_interrupted');
    expect(await metricValue(gw!, 'switchyard_stream_resumes_total', 'outcome="not_spliceable"')).toBe(1);
  });

  it('with no fallback left it ends in the in-band error, as before', async () => {
    oai.setBehavior({ kind: 'cut-mid-stream', afterChunks: 2, answer: ANSWER });
    const url = await gateway('  {}');
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.text).toBe('The quick ');
    expect(s.done).toBe(false);
    expect(s.error!['code']).toBe('stream_interrupted');
    expect(await metricValue(gw!, 'switchyard_stream_resumes_total', 'outcome="no_candidate"')).toBe(1);
  });

  it('a re-encoded stream (OpenAI client, Anthropic upstream) cut mid-answer is continued in the same chunk stream', async () => {
    ant.setBehavior({
      kind: 'by-model',
      models: { 'claude-sonnet': { kind: 'cut-mid-stream', afterChunks: 3, answer: ANSWER }, 'claude-haiku': { kind: 'ok', answer: ANSWER, continuePrefill: true } },
    });
    const url = await gateway('  claude-sonnet: [claude-haiku]');
    const r = await postRaw(url, chatBody('claude-sonnet', { stream_options: { include_usage: true } }));
    const s = openAIStream(r.text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    // One role chunk, one id throughout, the finishing model named at the end.
    expect(s.chunks.filter((c) => c['choices'][0]?.delta?.role === 'assistant')).toHaveLength(1);
    expect(new Set(s.chunks.map((c) => c['id'])).size).toBe(1);
    expect(s.chunks.filter((c) => c['choices'].length > 0).at(-1)!['model']).toBe('claude-haiku');
    expect(lastMessage(ant, 1)).toEqual({ role: 'assistant', content: 'The quick brown' });
    const cont = ANSWER.slice('The quick brown'.length);
    expect(s.chunks.at(-1)!['usage']['completion_tokens']).toBe(tokens('The quick brown ') + tokens(cont));
  });

  it('resume.maxResumes: 0 keeps the in-band error', async () => {
    oai.setBehavior({ kind: 'by-model', models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 2, answer: ANSWER } }, otherwise: { kind: 'ok', answer: ANSWER } });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]', { extra: 'resume: { maxResumes: 0 }' });
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.error!['code']).toBe('stream_interrupted');
    expect(models(oai)).toEqual(['gpt-4o']);
  });

  it('a continuation that fails too is resumed again while resumes remain (A → B → C)', async () => {
    oai.setBehavior({
      kind: 'by-model',
      models: {
        'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 2, answer: ANSWER },
        'gpt-4o-mini': { kind: 'cut-mid-stream', afterChunks: 6, answer: ANSWER },
      },
    });
    ant.setBehavior({ kind: 'ok', answer: ANSWER, continuePrefill: true });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]\n  gpt-4o-mini: [claude-sonnet]', { extra: 'resume: { maxResumes: 2 }' });
    const r = await postRaw(url, chatBody('gpt-4o'));
    const s = openAIStream(r.text);
    expect(s.text).toBe(ANSWER);
    expect(models(oai)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(lastMessage(ant, 0)).toEqual({ role: 'assistant', content: 'The quick brown fox jumps over' });
    expect(r.trailers['x-switchyard-attempts']).toBe('3');
  });
});

describe('cache', () => {
  const cut = { kind: 'by-model', models: { 'gpt-4o': { kind: 'cut-mid-stream', afterChunks: 3, answer: ANSWER } }, otherwise: { kind: 'ok', answer: ANSWER } } as const;
  const ask = (url: string, text: string) => postRaw(url, { ...chatBody('gpt-4o'), messages: [{ role: 'user', content: text }] });
  async function untilHit(url: string, text: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await ask(url, text)).headers['x-switchyard-cache'] === 'hit-exact') return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('never cached');
  }

  it('does not cache a resumed answer by default', async () => {
    oai.setBehavior(cut);
    const url = await gateway('  gpt-4o: [gpt-4o-mini]', { extra: 'cache: { semantic: { enabled: false } }' });
    expect(openAIStream((await ask(url, 'resumed')).text).text).toBe(ANSWER);
    // A plain answer written after it is cached; the resumed one still is not.
    oai.setBehavior({ kind: 'ok', answer: ANSWER });
    await ask(url, 'plain');
    await untilHit(url, 'plain');
    const again = await ask(url, 'resumed');
    expect(again.headers['x-switchyard-cache']).toBe('miss');
  });

  it('caches it with resume.cacheResumed', async () => {
    oai.setBehavior(cut);
    const url = await gateway('  gpt-4o: [gpt-4o-mini]', { extra: 'cache: { semantic: { enabled: false } }\nresume: { cacheResumed: true }' });
    expect(openAIStream((await ask(url, 'resumed')).text).text).toBe(ANSWER);
    await untilHit(url, 'resumed');
    const hit = await ask(url, 'resumed');
    expect(openAIStream(hit.text).text).toBe(ANSWER);
  });
});

describe('tolerant decoding', () => {
  it('skips one malformed event, relays the rest, counts it, and does not cache the answer', async () => {
    oai.setBehavior({ kind: 'malformed-chunk', afterChunks: 2, answer: ANSWER });
    const url = await gateway('  {}', { extra: 'cache: { semantic: { enabled: false } }' });
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o'))).text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(oai.requests).toHaveLength(1);
    expect(await metricValue(gw!, 'switchyard_stream_malformed_events_total', 'upstream="openai"')).toBe(1);
    oai.setBehavior({ kind: 'ok', answer: ANSWER });
    const again = await postRaw(url, chatBody('gpt-4o'));
    expect(again.headers['x-switchyard-cache']).toBe('miss');
    expect(oai.requests).toHaveLength(2);
  });

  it('logs the skipped event without its content', async () => {
    oai.setBehavior({ kind: 'malformed-chunk', afterChunks: 2, answer: ANSWER });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const env = { ...process.env, ...RESUME_ENV };
    gw = await startServer({ config: parseConfig(resumeYaml({ oai: oai.url, ant: ant.url, fallbacks: '  {}' }), env), port: 0, host: '127.0.0.1', env, logger });
    expect(openAIStream((await postRaw(`${gw.url}/v1/chat/completions`, chatBody('gpt-4o'))).text).text).toBe(ANSWER);
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'skipped an unparsable upstream stream event');
    expect(warn).toMatchObject({ upstream: 'openai', model: 'gpt-4o' });
    expect(lines.join('\n')).not.toContain('oops');
  });

  it('completes a stream that ended cleanly after its finish reason without [DONE], usage passed through', async () => {
    oai.setBehavior({ kind: 'no-done', answer: ANSWER });
    const url = await gateway('  {}');
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o', { stream_options: { include_usage: true } }))).text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(s.chunks.at(-1)!['usage']['completion_tokens']).toBe(tokens(ANSWER));
  });

  it('takes a stream cut after its finish reason as complete: the terminator is added, nothing resumed', async () => {
    oai.setBehavior({ kind: 'by-model', models: { 'gpt-4o': { kind: 'cut-after-finish', answer: ANSWER } }, otherwise: { kind: 'ok', answer: 'never used' } });
    const url = await gateway('  gpt-4o: [gpt-4o-mini]');
    const s = openAIStream((await postRaw(url, chatBody('gpt-4o', { stream_options: { include_usage: true } }))).text);
    expect(s.text).toBe(ANSWER);
    expect(s.done).toBe(true);
    expect(s.chunks.at(-1)!['usage']['completion_tokens']).toBe(tokens(ANSWER));
    expect(models(oai)).toEqual(['gpt-4o']);
  });

  it('completes an Anthropic stream without message_stop (Anthropic client, same protocol)', async () => {
    ant.setBehavior({ kind: 'no-done', answer: ANSWER });
    await gateway('  {}');
    const r = await postRaw(`${gw!.url}/v1/messages`, { model: 'claude-sonnet', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.text.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true);
  });
});
