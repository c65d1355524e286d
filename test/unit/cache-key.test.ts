import { describe, expect, it } from 'vitest';
import { exactKey, partitionOf, partitionPrefix, questionText, temperatureClass } from '../../src/cache/key.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';

function req(over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    operation: 'chat',
    protocol: 'openai',
    model: 'gpt-x',
    system: 'You are terse.',
    messages: [{ role: 'user', content: 'Why is the sky blue?' }],
    stream: false,
    extra: {},
    ...over,
  };
}

const base = { tenant: 'acme', modelGroup: 'fast' };
const pid = (r: CanonicalRequest, o: Partial<typeof base> = {}) => partitionOf({ ...base, ...o, req: r }).id;

describe('partitionOf', () => {
  it('is stable for the same request', () => {
    expect(pid(req())).toBe(pid(req()));
  });

  it('separates tenants and model groups', () => {
    expect(pid(req(), { tenant: 'other' })).not.toBe(pid(req()));
    expect(pid(req(), { modelGroup: 'smart' })).not.toBe(pid(req()));
  });

  it('separates system prompts, tools, tool_choice, response_format and temperature classes', () => {
    const p = pid(req());
    expect(pid(req({ system: 'You are verbose.' }))).not.toBe(p);
    expect(pid(req({ system: undefined }))).not.toBe(p);
    expect(pid(req({ tools: [{ name: 'f', parameters: { type: 'object' } }] }))).not.toBe(p);
    expect(pid(req({ toolChoice: 'required' }))).not.toBe(p);
    expect(pid(req({ responseFormat: { type: 'json_object' } }))).not.toBe(p);
    expect(pid(req({ temperature: 0 }))).not.toBe(pid(req({ temperature: 0.7 })));
    expect(pid(req({ maxTokens: 10 }))).not.toBe(p);
    expect(pid(req({ topP: 0.5 }))).not.toBe(p);
    expect(pid(req({ stop: ['\n'] }))).not.toBe(p);
    expect(pid(req({ extra: { seed: 1 } }))).not.toBe(pid(req({ extra: { seed: 2 } })));
    expect(pid(req({ operation: 'completion' }))).not.toBe(p);
  });

  it('keeps sampled temperatures in one class, and ignores protocol, stream and neutral extras', () => {
    expect(temperatureClass(0)).toBe('greedy');
    expect(temperatureClass(undefined)).toBe('sampled');
    expect(pid(req({ temperature: 0.2 }))).toBe(pid(req({ temperature: 1 })));
    expect(pid(req({ protocol: 'anthropic', stream: true }))).toBe(pid(req()));
    expect(pid(req({ extra: { stream_options: { include_usage: true }, metadata: { a: 1 } } }))).toBe(pid(req()));
  });

  it('holds the earlier conversation, so a follow-up in two conversations lands in two partitions', () => {
    const followUp = { role: 'user' as const, content: 'and in French?' };
    const a = req({ messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', content: 'Hello!' }, followUp] });
    const b = req({ messages: [{ role: 'user', content: 'Say goodbye.' }, { role: 'assistant', content: 'Goodbye!' }, followUp] });
    expect(pid(a)).not.toBe(pid(b));
    // The question itself is not in the partition.
    const c = req({ messages: [...a.messages.slice(0, 2), { role: 'user', content: 'and in German?' }] });
    expect(pid(c)).toBe(pid(a));
  });

  it('does not depend on the key order of JSON tool arguments, schemas or extras, nor on tool-call ids', () => {
    const conv = (args: string, id: string): CanonicalRequest =>
      req({
        tools: [{ name: 'get', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'string' } } } }],
        extra: { seed: 1, logprobs: true },
        messages: [
          { role: 'user', content: 'Look it up' },
          { role: 'assistant', content: '', toolCalls: [{ id, name: 'get', arguments: args }] },
          { role: 'tool', content: '42', toolCallId: id },
          { role: 'user', content: 'Thanks, and now?' },
        ],
      });
    const reordered = req({
      ...conv('{"b":"x","a":1}', 'call_2'),
      tools: [{ name: 'get', parameters: { properties: { b: { type: 'string' }, a: { type: 'number' } }, type: 'object' } }],
      extra: { logprobs: true, seed: 1 },
    });
    expect(pid(conv('{"a":1,"b":"x"}', 'call_1'))).toBe(pid(reordered));
    expect(pid(conv('{"a":2,"b":"x"}', 'call_1'))).not.toBe(pid(conv('{"a":1,"b":"x"}', 'call_1')));
  });

  it('starts with the tenant and model-group prefix that purges select', () => {
    const id = pid(req());
    expect(id.startsWith(partitionPrefix({ tenant: 'acme' }))).toBe(true);
    expect(id.startsWith(partitionPrefix({ tenant: 'acme', modelGroup: 'fast' }))).toBe(true);
    expect(id.startsWith(partitionPrefix({ tenant: 'acme', modelGroup: 'smart' }))).toBe(false);
    expect(id).toMatch(/^[0-9a-f]{16}:[0-9a-f]{16}:[0-9a-f]{32}$/);
  });
});

describe('exactKey', () => {
  it('adds the question to the partition', () => {
    const p = partitionOf({ ...base, req: req() });
    const k1 = exactKey(req(), p);
    expect(k1.startsWith(`${p.id}:`)).toBe(true);
    const other = req({ messages: [{ role: 'user', content: 'Why is grass green?' }] });
    expect(exactKey(other, partitionOf({ ...base, req: other }))).not.toBe(k1);
    // One text part is the same prompt as a string.
    const parts = req({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Why is the sky blue?' }] }] });
    expect(exactKey(parts, partitionOf({ ...base, req: parts }))).toBe(k1);
  });

  it('includes images of the question', () => {
    const img = (url: string) => req({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', url }] }] });
    const a = img('https://x/1.png');
    const b = img('https://x/2.png');
    expect(exactKey(a, partitionOf({ ...base, req: a }))).not.toBe(exactKey(b, partitionOf({ ...base, req: b })));
  });
});

describe('questionText', () => {
  it('is the last user turn when it is text only', () => {
    expect(questionText(req())).toBe('Why is the sky blue?');
    expect(questionText(req({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image', url: 'https://x/1.png' }] }] }))).toBeUndefined();
    expect(questionText(req({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'prefill' }] }))).toBeUndefined();
    expect(questionText(req({ messages: [{ role: 'user', content: '   ' }] }))).toBeUndefined();
  });
});
