import { describe, expect, it } from 'vitest';
import {
  anthropicResponseToCanonical,
  canonicalToAnthropic,
  parseAnthropicMessages,
  toAnthropicBody,
} from '../../src/protocol/anthropic.js';
import { parseOpenAIChat, toOpenAIChatBody } from '../../src/protocol/openai.js';
import { fixtureJson, thrown } from './protocol-fixtures.js';

const opts = { defaultMaxTokens: 1024 };

/** An OpenAI conversation using every feature that must survive translation. */
const openAIBody = {
  model: 'switchyard/auto',
  messages: [
    { role: 'system', content: 'You are a weather bot.' },
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome? See:' }, { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }] },
    { role: 'user', content: 'Quickly please.' },
    {
      role: 'assistant',
      content: 'Checking both.',
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_a', content: '18C sunny' },
    { role: 'tool', tool_call_id: 'call_b', content: '24C cloudy' },
    { role: 'user', content: 'Thanks! Which is warmer?' },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
  tool_choice: 'required',
  parallel_tool_calls: false,
  temperature: 1.5,
  stop: ['\n\n\n', 'END'],
  user: 'user-7',
  seed: 42,
  stream: true,
};

describe('toAnthropicBody from an OpenAI request', () => {
  const body = toAnthropicBody(parseOpenAIChat(openAIBody), 'claude-sonnet-4-5', opts);

  it('produces a valid Anthropic body', () => {
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      system: 'You are a weather bot.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather in Paris and Rome? See:' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
            { type: 'text', text: 'Quickly please.' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking both.' },
            { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_a', content: '18C sunny' },
            { type: 'tool_result', tool_use_id: 'call_b', content: '24C cloudy' },
            { type: 'text', text: 'Thanks! Which is warmer?' },
          ],
        },
      ],
      tools: [{ name: 'get_weather', description: 'Current weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      temperature: 1,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      stream: true,
    });
  });

  it('alternates roles, starting with user', () => {
    const roles = (body.messages as { role: string }[]).map((m) => m.role);
    expect(roles[0]).toBe('user');
    roles.forEach((r, i) => i > 0 && expect(r).not.toBe(roles[i - 1]));
  });

  it('round-trips back through the Anthropic parser to an equivalent OpenAI body', () => {
    const again = parseAnthropicMessages(body);
    expect(again.protocol).toBe('anthropic');
    expect(again.extra).toEqual({ parallel_tool_calls: false });
    const back = toOpenAIChatBody(again, 'gpt-4o', { streamUsage: false });
    expect(back.messages).toEqual([
      { role: 'system', content: 'You are a weather bot.' },
      { role: 'user', content: [
        { type: 'text', text: 'Weather in Paris and Rome? See:' },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
        { type: 'text', text: 'Quickly please.' },
      ] },
      { role: 'assistant', content: 'Checking both.', tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ] },
      { role: 'tool', tool_call_id: 'call_a', content: '18C sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: '24C cloudy' },
      { role: 'user', content: [{ type: 'text', text: 'Thanks! Which is warmer?' }] },
    ]);
    expect(back.tool_choice).toBe('required');
    expect(back.parallel_tool_calls).toBe(false);
    expect(back.seed).toBeUndefined();
    expect(back.stop).toEqual(['END']);
    expect(back.user).toBe('user-7');
  });

  it('turns a JSON response_format into a system instruction and defaults max_tokens', () => {
    const req = parseOpenAIChat({
      model: 'm', messages: [{ role: 'user', content: 'List 3 colours' }],
      response_format: { type: 'json_schema', json_schema: { name: 'c', schema: { type: 'object', properties: { colours: { type: 'array' } } } } },
    });
    const out = toAnthropicBody(req, 'claude', { defaultMaxTokens: 77 });
    expect(out.max_tokens).toBe(77);
    expect(out.system).toContain('JSON Schema');
    expect(out.system).toContain('"colours"');
    expect(out.response_format).toBeUndefined();
  });

  it('rejects tool-call arguments that are not a JSON object', () => {
    const req = parseOpenAIChat({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'r' },
      ],
    });
    const err = thrown(() => toAnthropicBody(req, 'claude', opts));
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('messages[1].tool_calls[0].function.arguments');
  });
});

describe('parseAnthropicMessages', () => {
  const native = {
    model: 'claude-sonnet-4-5',
    max_tokens: 512,
    system: [{ type: 'text', text: 'Rule one.' }, { type: 'text', text: 'Rule two.', cache_control: { type: 'ephemeral' } }],
    messages: [
      { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }, { type: 'text', text: 'What is this?' }] },
      { role: 'assistant', content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'cat' } },
        { type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { q: 'dog' } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: 'a cat' },
        { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'not found' }], is_error: true },
        { type: 'text', text: 'So?' },
      ] },
    ],
    tools: [{ name: 'lookup', description: 'Look up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
    tool_choice: { type: 'tool', name: 'lookup' },
    stop_sequences: ['STOP'],
    temperature: 0.3,
    top_k: 40,
    metadata: { user_id: 'abc' },
    stream: true,
  };

  it('maps system blocks, images, tool_use and tool_result (one tool message per result, in order)', () => {
    const req = parseAnthropicMessages(native);
    expect(req.system).toBe('Rule one.\n\nRule two.');
    expect(req.maxTokens).toBe(512);
    expect(req.messages).toEqual([
      { role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }, { type: 'text', text: 'What is this?' }] },
      { role: 'assistant', content: 'Let me look.', toolCalls: [
        { id: 'toolu_1', name: 'lookup', arguments: '{"q":"cat"}' },
        { id: 'toolu_2', name: 'lookup', arguments: '{"q":"dog"}' },
      ] },
      { role: 'tool', content: 'a cat', toolCallId: 'toolu_1' },
      { role: 'tool', content: [{ type: 'text', text: 'not found' }], toolCallId: 'toolu_2', isError: true },
      { role: 'user', content: [{ type: 'text', text: 'So?' }] },
    ]);
    expect(req.tools).toEqual([{ name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } } } }]);
    expect(req.toolChoice).toEqual({ name: 'lookup' });
    expect(req.stop).toEqual(['STOP']);
    expect(req.user).toBe('abc');
    expect(req.extra).toEqual({ top_k: 40 });
    expect(req.stream).toBe(true);
  });

  it('renders a native request back with its extras', () => {
    const out = toAnthropicBody(parseAnthropicMessages(native), 'claude-opus-4-1', opts);
    expect(out.top_k).toBe(40);
    expect(out.model).toBe('claude-opus-4-1');
    expect(out.tool_choice).toEqual({ type: 'tool', name: 'lookup' });
    expect((out.messages as { content: unknown[] }[])[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'a cat' },
      { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'not found' }], is_error: true },
      { type: 'text', text: 'So?' },
    ]);
  });

  it.each([
    ['missing max_tokens', { model: 'c', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
    ['zero max_tokens', { model: 'c', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, 'max_tokens'],
    ['missing model', { max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 'model'],
    ['empty messages', { model: 'c', max_tokens: 5, messages: [] }, 'messages'],
    ['a tool role', { model: 'c', max_tokens: 5, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    ['numeric content', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    ['a document block', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 'messages[0].content[0].type'],
    ['tool_use in a user turn', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'messages[0].content[0].type'],
    ['a bad image source', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'messages[0].content[0].source'],
    ['a tool without input_schema', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 't' }] }, 'tools[0].input_schema'],
    ['a server tool', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
    ['a bad tool_choice', { model: 'c', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'maybe' } }, 'tool_choice'],
    ['a bad system', { model: 'c', max_tokens: 5, system: 7, messages: [{ role: 'user', content: 'x' }] }, 'system'],
  ])('rejects %s with invalid_request', (_n, body, param) => {
    const err = thrown(() => parseAnthropicMessages(body));
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe(param);
  });
});

describe('Anthropic responses', () => {
  it('reads a message fixture (thinking dropped, cache reads counted as input)', () => {
    const resp = anthropicResponseToCanonical(fixtureJson('anthropic-response.json'));
    expect(resp).toMatchObject({
      id: 'msg_01Aq9w938a90dw8q',
      model: 'claude-sonnet-4-5-20250929',
      text: "I'll check the current weather in San Francisco for you.",
      toolCalls: [{ id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 2195, outputTokens: 503 },
    });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ] as const)('maps finish %s to stop_reason %s', (finish, stop) => {
    const out = canonicalToAnthropic({ id: 'msg_1', model: 'm', created: 1, text: 'x', finishReason: finish, usage: { inputTokens: 3, outputTokens: 4 } });
    expect(out.stop_reason).toBe(stop);
    expect(out.usage).toEqual({ input_tokens: 3, output_tokens: 4 });
  });

  it('renders an OpenAI answer as an Anthropic message with parsed tool input', () => {
    const out = canonicalToAnthropic({
      id: 'chatcmpl-1', model: 'gpt-4o', created: 1, text: 'On it.', finishReason: 'tool_calls',
      toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"x":1}' }],
    });
    expect(out).toEqual({
      id: 'chatcmpl-1', type: 'message', role: 'assistant', model: 'gpt-4o',
      content: [{ type: 'text', text: 'On it.' }, { type: 'tool_use', id: 'call_1', name: 'f', input: { x: 1 } }],
      stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 },
    });
  });

  it('rejects a body without content as a malformed upstream answer', () => {
    expect(thrown(() => anthropicResponseToCanonical({ type: 'error', error: { type: 'api_error', message: 'x' } })).code).toBe('upstream_unavailable');
  });
});
