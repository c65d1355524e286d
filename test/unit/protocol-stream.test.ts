import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { CanonicalResponse, StreamEvent } from '../../src/protocol/canonical.js';
import { StreamAccumulator, replayEvents } from '../../src/protocol/accumulate.js';
import { AnthropicStreamDecoder, AnthropicStreamEncoder } from '../../src/protocol/anthropic-stream.js';
import { OpenAIStreamDecoder, OpenAIStreamEncoder } from '../../src/protocol/openai-stream.js';
import { fixtureText, sseEvents } from './protocol-fixtures.js';

function decodeOpenAI(text: string): StreamEvent[] {
  const d = new OpenAIStreamDecoder();
  return sseEvents(text).flatMap((e) => d.push(e.data));
}

function decodeAnthropic(text: string): StreamEvent[] {
  const d = new AnthropicStreamDecoder();
  return sseEvents(text).flatMap((e) => d.push(e.event, e.data));
}

function accumulate(events: readonly StreamEvent[]): { response: CanonicalResponse; complete: boolean } {
  const acc = new StreamAccumulator();
  for (const ev of events) acc.push(ev);
  return acc.result();
}

function encodeAll(enc: { encode(ev: StreamEvent): string }, events: readonly StreamEvent[]): string {
  return events.map((ev) => enc.encode(ev)).join('');
}

const sseResponse = (text: string) => async () =>
  new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });

/** Runs SSE text through the official OpenAI SDK's stream helper, which throws on an invalid chunk sequence. */
async function openAISdkFinal(text: string) {
  const client = new OpenAI({ apiKey: 'test', baseURL: 'http://sdk.test/v1', maxRetries: 0, fetch: sseResponse(text) });
  return client.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).finalChatCompletion();
}

/** Runs SSE text through the official Anthropic SDK's MessageStream. */
async function anthropicSdkFinal(text: string) {
  const client = new Anthropic({ apiKey: 'test', baseURL: 'http://sdk.test', maxRetries: 0, fetch: sseResponse(text) });
  return client.messages.stream({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
}

/** Checks the Anthropic event grammar: one message_start, blocks opened/closed in index order, deltas of the block's kind, message_delta then message_stop last. */
function assertAnthropicGrammar(text: string): void {
  const evs = sseEvents(text).map((e) => ({ name: e.event, json: JSON.parse(e.data) as Record<string, any> }));
  expect(evs[0]?.name).toBe('message_start');
  let next = 0;
  let open: { index: number; kind: string } | null = null;
  let sawDelta = false;
  evs.forEach(({ name, json }, i) => {
    expect(json.type, `event ${i}`).toBe(name);
    if (i > 0) expect(name).not.toBe('message_start');
    switch (name) {
      case 'content_block_start':
        expect(open).toBeNull();
        expect(json.index).toBe(next);
        open = { index: next++, kind: json.content_block.type };
        break;
      case 'content_block_delta':
        expect(open).not.toBeNull();
        expect(json.index).toBe(open!.index);
        expect(json.delta.type).toBe(open!.kind === 'text' ? 'text_delta' : 'input_json_delta');
        break;
      case 'content_block_stop':
        expect(json.index).toBe(open?.index);
        open = null;
        break;
      case 'message_delta':
        expect(open).toBeNull();
        sawDelta = true;
        break;
      case 'message_stop':
        expect(sawDelta).toBe(true);
        expect(i).toBe(evs.length - 1);
        break;
    }
  });
}

describe('OpenAIStreamDecoder', () => {
  it('decodes a text stream with a final usage chunk', () => {
    const events = decodeOpenAI(fixtureText('openai-chat-text.sse'));
    expect(events).toEqual([
      { type: 'start', id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT', model: 'gpt-4o-2024-08-06', created: 1741569952 },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: '! How can I' },
      { type: 'text', text: ' help you today? 😊' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { inputTokens: 19, outputTokens: 10 } },
      { type: 'done' },
    ]);
    expect(accumulate(events)).toMatchObject({ complete: true, response: { text: 'Hello! How can I help you today? 😊', finishReason: 'stop' } });
  });

  it('decodes parallel tool-call deltas', () => {
    const { response, complete } = accumulate(decodeOpenAI(fixtureText('openai-chat-tools.sse')));
    expect(complete).toBe(true);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.toolCalls).toEqual([
      { id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', arguments: '{"location":"Paris, France"}' },
      { id: 'call_Jx2mK8vQ0a1sT5nR7pL3eW9y', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
    ]);
  });

  it('reports a chunk that is not JSON as malformed_chunk, and an in-band error', () => {
    const d = new OpenAIStreamDecoder();
    expect(d.push('{"id":"x","choices":[{"index":0,"delta":{"content":"Hel')).toEqual([
      expect.objectContaining({ type: 'error', code: 'malformed_chunk' }),
    ]);
    expect(d.push('{"error":{"message":"The server had an error","type":"server_error","code":null}}')).toEqual([
      { type: 'error', message: 'The server had an error', code: 'server_error' },
    ]);
  });

  it('reads text_completion chunks', () => {
    const d = new OpenAIStreamDecoder();
    const evs = d.push('{"id":"cmpl-7","object":"text_completion","created":5,"choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":"length"}],"model":"gpt-3.5-turbo-instruct"}');
    expect(evs.map((e) => e.type)).toEqual(['start', 'text', 'finish']);
  });
});

describe('AnthropicStreamDecoder', () => {
  it('decodes text and tool_use blocks, stop reason and usage', () => {
    const events = decodeAnthropic(fixtureText('anthropic-tools.sse'));
    expect(events).toEqual([
      { type: 'start', id: 'msg_014p7gG3wDgGV9EUtLvnow3U', model: 'claude-sonnet-4-5-20250929', created: expect.any(Number) },
      { type: 'text', text: 'Okay' },
      { type: 'text', text: ", let's check the weather for San Francisco, CA:" },
      { type: 'tool', index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather' },
      { type: 'tool', index: 0, argumentsDelta: '{"location":' },
      { type: 'tool', index: 0, argumentsDelta: ' "San Francisco, CA"' },
      { type: 'tool', index: 0, argumentsDelta: ', "unit": "fahrenheit"}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 472, outputTokens: 89 } },
      { type: 'done' },
    ]);
  });

  it('skips thinking blocks and counts cache reads as input', () => {
    const { response, complete } = accumulate(decodeAnthropic(fixtureText('anthropic-thinking.sse')));
    expect(complete).toBe(true);
    expect(response.text).toBe('27 × 453 = **12,231**');
    expect(response.usage).toEqual({ inputTokens: 1236, outputTokens: 74 });
  });

  it('turns an error event into an error and ignores pings', () => {
    const d = new AnthropicStreamDecoder();
    expect(d.push('ping', '{"type":"ping"}')).toEqual([]);
    expect(d.push('error', '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toEqual([
      { type: 'error', message: 'Overloaded', code: 'overloaded_error' },
    ]);
    expect(d.push('content_block_delta', '{not json')).toEqual([expect.objectContaining({ code: 'malformed_chunk' })]);
  });
});

describe('cross-protocol stream translation', () => {
  it('Anthropic upstream → OpenAI client SSE that the OpenAI SDK accepts', async () => {
    const events = decodeAnthropic(fixtureText('anthropic-tools.sse'));
    const sse = encodeAll(new OpenAIStreamEncoder({ model: 'switchyard/auto', object: 'chat.completion.chunk', includeUsage: true }), events);
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    const final = await openAISdkFinal(sse);
    expect(final.model).toBe('claude-sonnet-4-5-20250929');
    expect(final.choices[0]!.message.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual([
      { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}' } },
    ]);
    // Decoding our own output gives back the same answer.
    const again = accumulate(decodeOpenAI(sse));
    expect(again.complete).toBe(true);
    expect(again.response).toEqual({ ...accumulate(events).response, id: again.response.id, created: again.response.created });
  });

  it('OpenAI upstream → Anthropic client SSE that follows the event grammar and the Anthropic SDK accepts', async () => {
    const events = decodeOpenAI(fixtureText('openai-chat-tools.sse'));
    const sse = encodeAll(new AnthropicStreamEncoder({ model: 'claude-proxy' }), events);
    assertAnthropicGrammar(sse);
    const final = await anthropicSdkFinal(sse);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'tool_use', id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA', name: 'get_weather', input: { location: 'Paris, France' } },
      { type: 'tool_use', id: 'call_Jx2mK8vQ0a1sT5nR7pL3eW9y', name: 'get_time', input: { tz: 'Europe/Paris' } },
    ]);
  });

  it('OpenAI text with usage → Anthropic SSE carries usage in message_delta', async () => {
    const sse = encodeAll(new AnthropicStreamEncoder({ model: 'm' }), decodeOpenAI(fixtureText('openai-chat-text.sse')));
    assertAnthropicGrammar(sse);
    const final = await anthropicSdkFinal(sse);
    expect(final.content).toMatchObject([{ type: 'text', text: 'Hello! How can I help you today? 😊' }]);
    expect(final.usage).toMatchObject({ input_tokens: 19, output_tokens: 10 });
    expect(final.stop_reason).toBe('end_turn');
  });

  it('an error mid-stream ends OpenAI SSE with an error object and no [DONE]', async () => {
    const enc = new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk' });
    const sse = encodeAll(enc, [
      { type: 'start', id: 'c1', model: 'm', created: 1 },
      { type: 'text', text: 'partial' },
      { type: 'error', message: 'upstream went away', code: 'stream_interrupted' },
      { type: 'done' },
    ]);
    const last = sseEvents(sse).at(-1)!;
    expect(JSON.parse(last.data)).toEqual({ error: { message: 'upstream went away', type: 'api_error', param: null, code: 'stream_interrupted' } });
    expect(sse).not.toContain('[DONE]');
    await expect(openAISdkFinal(sse)).rejects.toThrow(/upstream went away/);
  });

  it('an error mid-stream ends Anthropic SSE with event: error and no message_stop', async () => {
    const enc = new AnthropicStreamEncoder({ model: 'm' });
    const sse = encodeAll(enc, [{ type: 'text', text: 'partial' }, { type: 'error', message: 'boom', code: 'upstream_unavailable' }, { type: 'done' }]);
    const last = sseEvents(sse).at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
    expect(sse).not.toContain('message_stop');
    await expect(anthropicSdkFinal(sse)).rejects.toThrow(/boom/);
  });

  it('Anthropic encoder closes each block before the next (text, tool, text)', async () => {
    const sse = encodeAll(new AnthropicStreamEncoder({ model: 'm' }), [
      { type: 'text', text: 'Before. ' },
      { type: 'tool', index: 0, id: 'call_1', name: 'f', argumentsDelta: '{"a":' },
      { type: 'tool', index: 0, argumentsDelta: '1}' },
      { type: 'text', text: 'After.' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'done' },
    ]);
    assertAnthropicGrammar(sse);
    const final = await anthropicSdkFinal(sse);
    expect(final.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'text']);
    expect(final.content[1]).toMatchObject({ input: { a: 1 } });
  });

  it('renders a bare error (no start) in both protocols', () => {
    expect(new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk' }).encode({ type: 'error', message: 'x' })).toMatch(/^data: \{"error"/);
    expect(new AnthropicStreamEncoder({ model: 'm' }).encode({ type: 'error', message: 'x' })).toMatch(/^event: error\n/);
  });

  it('emits the usage chunk only when asked', () => {
    const events = decodeOpenAI(fixtureText('openai-chat-text.sse'));
    const without = encodeAll(new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk' }), events);
    expect(without).not.toContain('"usage"');
    const withUsage = encodeAll(new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk', includeUsage: true }), events);
    expect(withUsage).toContain('"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29}');
  });

  it('encodes text_completion chunks', () => {
    const sse = encodeAll(new OpenAIStreamEncoder({ id: 'cmpl-1', model: 'i', created: 9, object: 'text_completion' }), [
      { type: 'start', id: 'x', model: 'instruct', created: 1 },
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'length' },
      { type: 'done' },
    ]);
    expect(sseEvents(sse).map((e) => e.data)).toEqual([
      '{"id":"cmpl-1","object":"text_completion","created":9,"model":"instruct","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}]}',
      '{"id":"cmpl-1","object":"text_completion","created":9,"model":"instruct","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}',
      '[DONE]',
    ]);
  });
});

describe('StreamAccumulator', () => {
  const full = decodeOpenAI(fixtureText('openai-chat-text.sse'));

  it('is complete with a finish reason and done and no error', () => {
    expect(accumulate(full).complete).toBe(true);
  });

  it('is incomplete without [DONE]', () => {
    expect(accumulate(full.filter((e) => e.type !== 'done')).complete).toBe(false);
  });

  it('is incomplete without a finish reason', () => {
    const r = accumulate(full.filter((e) => e.type !== 'finish'));
    expect(r.complete).toBe(false);
    expect(r.response.finishReason).toBe('error');
  });

  it('is incomplete without message_stop', () => {
    const text = fixtureText('anthropic-tools.sse').replace(/event: message_stop\ndata: .*\n\n/, '');
    expect(accumulate(decodeAnthropic(text)).complete).toBe(false);
  });

  it('is incomplete after a malformed chunk even if [DONE] follows', () => {
    const text = fixtureText('openai-chat-text.sse').replace('{"content":"Hello"}', '{"content":"Hello"');
    const r = accumulate(decodeOpenAI(text));
    expect(r.complete).toBe(false);
    expect(r.response.finishReason).toBe('error');
  });

  it('is incomplete after an error event', () => {
    const text = fixtureText('anthropic-tools.sse').replace(
      'event: message_delta',
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\nevent: message_delta',
    );
    expect(accumulate(decodeAnthropic(text)).complete).toBe(false);
  });
});

describe('replayEvents', () => {
  const stored: CanonicalResponse = {
    id: 'chatcmpl-stored', model: 'gpt-4o', created: 1700000000, text: 'Sure — calling it.',
    toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' }],
    finishReason: 'tool_calls', usage: { inputTokens: 12, outputTokens: 5 },
  };

  it('replays an answer that accumulates back to itself', () => {
    const events = replayEvents(stored);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'tool', 'finish', 'usage', 'done']);
    expect(accumulate(events)).toEqual({ response: stored, complete: true });
  });

  it('replays as valid OpenAI and Anthropic SSE', async () => {
    const oa = await openAISdkFinal(encodeAll(new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk' }), replayEvents(stored)));
    expect(oa.id).toBe('chatcmpl-stored');
    expect(oa.choices[0]!.message.tool_calls![0]!.function.arguments).toBe('{"q":"x"}');
    const anSse = encodeAll(new AnthropicStreamEncoder({ model: 'm' }), replayEvents(stored));
    assertAnthropicGrammar(anSse);
    const an = await anthropicSdkFinal(anSse);
    expect(an.content).toMatchObject([
      { type: 'text', text: 'Sure — calling it.' },
      { type: 'tool_use', id: 'call_9', name: 'lookup', input: { q: 'x' } },
    ]);
    expect(an.usage).toMatchObject({ input_tokens: 12, output_tokens: 5 });
  });
});
