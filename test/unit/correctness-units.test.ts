/**
 * Unit-level pins for the correctness rules: numeric ranges, completeness
 * marks on upstream answers, what the cache may store, the question split,
 * and client-facing redaction.
 */
import { describe, expect, it } from 'vitest';
import { isStorable } from '../../src/cache/index.js';
import { exactKey, partitionOf, splitQuestion } from '../../src/cache/key.js';
import { errorBody, SwitchyardError } from '../../src/errors.js';
import { addKnownSecrets, addSecretHeaders, redactForClient } from '../../src/observability/known-secrets.js';
import { anthropicResponseToCanonical } from '../../src/protocol/anthropic-response.js';
import type { CanonicalRequest, CanonicalResponse } from '../../src/protocol/canonical.js';
import { OpenAIStreamDecoder, OpenAIStreamEncoder } from '../../src/protocol/openai-stream.js';
import { AnthropicStreamDecoder, AnthropicStreamEncoder } from '../../src/protocol/anthropic-stream.js';
import { StreamAccumulator } from '../../src/protocol/accumulate.js';
import { openAIChatResponseToCanonical } from '../../src/protocol/openai-response.js';
import { checkNumbers, OPENAI_CHAT_NUMBERS } from '../../src/protocol/numeric-params.js';
import { parseAnthropicMessages } from '../../src/protocol/anthropic.js';

describe('checkNumbers', () => {
  const bad = (b: Record<string, unknown>) => {
    try {
      checkNumbers(b, OPENAI_CHAT_NUMBERS);
    } catch (e) {
      return (e as SwitchyardError).param;
    }
    return undefined;
  };
  it('names the first parameter at fault and accepts null as absent', () => {
    expect(bad({ max_tokens: 1e308 })).toBe('max_tokens');
    expect(bad({ max_tokens: Number.NaN })).toBe('max_tokens');
    expect(bad({ temperature: '0.5' })).toBe('temperature');
    expect(bad({ n: 2.5 })).toBe('n');
    expect(bad({ logit_bias: { '1': null } })).toBe('logit_bias.1');
    expect(bad({ logit_bias: [1] })).toBe('logit_bias');
    expect(bad({ max_tokens: null, temperature: null, n: null })).toBeUndefined();
    expect(bad({ max_tokens: 2_147_483_647, n: 128, seed: Number.MAX_SAFE_INTEGER })).toBeUndefined();
  });

  it('takes any 64-bit seed (providers accept int64), and nothing past it', () => {
    expect(bad(JSON.parse('{"seed": 9223372036854775807}'))).toBeUndefined();
    expect(bad(JSON.parse('{"seed": -9223372036854775808}'))).toBeUndefined();
    expect(bad(JSON.parse('{"seed": 18446744073709551615}'))).toBe('seed');
  });

  it('Anthropic: thinking.budget_tokens must be at least 1024 and below max_tokens', () => {
    const parse = (thinking: unknown) => () => parseAnthropicMessages({ model: 'm', max_tokens: 4096, thinking, messages: [{ role: 'user', content: 'hi' }] });
    expect(parse({ type: 'enabled', budget_tokens: 2048 })).not.toThrow();
    expect(parse({ type: 'enabled', budget_tokens: 512 })).toThrow(/budget_tokens/);
    expect(parse({ type: 'enabled', budget_tokens: 4096 })).toThrow(/less than `max_tokens`/);
    expect(parse({ type: 'enabled' })).toThrow(/required/);
    expect(parse({ type: 'disabled' })).not.toThrow();
  });
});

describe('completeness of an upstream JSON answer', () => {
  const oa = (finish: unknown, n = 1) =>
    openAIChatResponseToCanonical({ id: 'x', choices: Array.from({ length: n }, (_, index) => ({ index, message: { content: 'a' }, finish_reason: finish })) });
  it('OpenAI: null, absent and unknown finishes are marked; several choices are counted', () => {
    expect(oa('stop').finishUnknown).toBeUndefined();
    expect(oa(null).finishUnknown).toBe(true);
    expect(oa(undefined).finishUnknown).toBe(true);
    expect(oa('weird').finishUnknown).toBe(true);
    expect(oa('stop', 3).choices).toBe(3);
    expect(oa('stop').choices).toBeUndefined();
  });
  it('Anthropic: pause_turn and null stop reasons are marked', () => {
    const an = (stop: unknown) => anthropicResponseToCanonical({ id: 'm', content: [{ type: 'text', text: 'a' }], stop_reason: stop });
    expect(an('end_turn').finishUnknown).toBeUndefined();
    expect(an('stop_sequence').finishUnknown).toBeUndefined();
    expect(an('pause_turn').finishUnknown).toBe(true);
    expect(an(null).finishUnknown).toBe(true);
  });
});

describe('completeness of a streamed answer', () => {
  const oaStream = (finish: string) => {
    const d = new OpenAIStreamDecoder();
    const acc = new StreamAccumulator();
    for (const data of [
      JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
      JSON.stringify({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: finish }] }),
      '[DONE]',
    ]) for (const ev of d.push(data)) acc.push(ev);
    return acc.result();
  };
  it('an unknown finish reason in a stream is complete for the client but never storable', () => {
    expect(isStorable(oaStream('stop').response, false)).toBe(true);
    const odd = oaStream('abort');
    expect(odd.complete).toBe(true);
    expect(odd.response.finishUnknown).toBe(true);
    expect(isStorable(odd.response, false)).toBe(false);
  });
  it('Anthropic pause_turn in a stream is never storable', () => {
    const d = new AnthropicStreamDecoder();
    const acc = new StreamAccumulator();
    const frames: [string, unknown][] = [
      ['message_start', { type: 'message_start', message: { id: 'm', model: 'c', usage: { input_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'pause_turn' }, usage: { output_tokens: 1 } }],
      ['message_stop', { type: 'message_stop' }],
    ];
    for (const [event, data] of frames) for (const ev of d.push(event, JSON.stringify(data))) acc.push(ev);
    expect(acc.result().response.text).toBe('Hi');
    expect(isStorable(acc.result().response, false)).toBe(false);
  });
});

describe('isStorable', () => {
  const r = (o: Partial<CanonicalResponse>): CanonicalResponse => ({ id: 'x', model: 'm', created: 1, text: 'answer', finishReason: 'stop', ...o });
  it('stores only a complete single-choice stop (or a tool turn when allowed)', () => {
    expect(isStorable(r({}), false)).toBe(true);
    expect(isStorable(r({ finishReason: 'length' }), false)).toBe(false);
    expect(isStorable(r({ finishReason: 'content_filter' }), false)).toBe(false);
    expect(isStorable(r({ finishReason: 'error' }), false)).toBe(false);
    expect(isStorable(r({ finishUnknown: true }), false)).toBe(false);
    expect(isStorable(r({ choices: 2 }), false)).toBe(false);
    const tool = r({ text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }] });
    expect(isStorable(tool, false)).toBe(false);
    expect(isStorable(tool, true)).toBe(true);
  });
});

describe('splitQuestion', () => {
  it('keeps fences and blank lines after the question with it', () => {
    const ctx = 'Some context line that is long enough. '.repeat(20);
    const s = splitQuestion(`${ctx}\nWhy does this fail?\n\`\`\`\n\n`, 200);
    expect(s.question).toBe('Why does this fail?\n```\n\n');
  });
  it('falls back to the last characters from a word boundary when there is no line or sentence break', () => {
    const s = splitQuestion(`${'word '.repeat(100)}end`, 64);
    expect(s.question.length).toBeLessThanOrEqual(64);
    expect(s.question.startsWith('word')).toBe(true);
    expect(s.question.endsWith('end')).toBe(true);
  });
  it('the context before the question is part of the partition', () => {
    const req = (text: string): CanonicalRequest => ({ operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: text }], stream: false, extra: {} });
    const ctx = 'Context sentence number one. '.repeat(30);
    const p = (text: string) => partitionOf({ tenant: 't', modelGroup: 'g', req: req(text) }).id;
    expect(p(`${ctx}\nQ1?`)).toBe(p(`${ctx}\nQ2?`));
    expect(p(`${ctx}\nQ1?`)).not.toBe(p(`${ctx.replace('one', 'two')}\nQ1?`));
    expect(p('Short question one?')).toBe(p('Short question two?'));
    const key = (text: string) => exactKey(req(text), partitionOf({ tenant: 't', modelGroup: 'g', req: req(text) }));
    expect(key(`${ctx}\nQ1?`)).toBe(key(`${ctx}\nQ1?`));
    expect(key(`${ctx}\nQ1?`)).not.toBe(key(`${ctx}\nQ2?`));
    expect(key(`${ctx}\nQ1?`)).not.toBe(key(`${ctx.replace('one', 'two')}\nQ1?`));
  });
});

describe('redactForClient', () => {
  it('removes registered values by exact value, longest first, and credential-named header values', () => {
    addKnownSecrets(['zz-unit-live-0123456789', 'zz-unit-live-0123456789-extended', 'short']);
    addSecretHeaders({ Authorization: 'Bearer hdr-unit-token-abcdef12', 'anthropic-version': '2023-06-01' });
    expect(redactForClient('a zz-unit-live-0123456789-extended b zz-unit-live-0123456789 c')).toBe('a [redacted] b [redacted] c');
    expect(redactForClient('token hdr-unit-token-abcdef12 here')).toBe('token [redacted] here');
    expect(redactForClient('version 2023-06-01 and short')).toBe('version 2023-06-01 and short');
    expect(redactForClient('key sk-proj-abcdef123456')).toBe('key [redacted]');
  });
  it('applies to every rendered error and stream error event', () => {
    addKnownSecrets(['zz-unit-render-98765432']);
    const err = new SwitchyardError('upstream_unavailable', 'echo zz-unit-render-98765432');
    expect(JSON.stringify(errorBody(err, 'openai'))).not.toContain('zz-unit-render');
    expect(JSON.stringify(errorBody(err, 'anthropic'))).not.toContain('zz-unit-render');
    const ev = { type: 'error' as const, message: 'echo zz-unit-render-98765432', code: 'stream_interrupted' };
    expect(new OpenAIStreamEncoder({ model: 'm', object: 'chat.completion.chunk' }).encode(ev)).not.toContain('zz-unit-render');
    expect(new AnthropicStreamEncoder({ model: 'm' }).encode(ev)).not.toContain('zz-unit-render');
  });
});
