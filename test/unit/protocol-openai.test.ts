import { describe, expect, it } from 'vitest';
import {
  canonicalToOpenAIChat,
  canonicalToOpenAICompletion,
  canonicalToOpenAIEmbedding,
  decodeBase64Floats,
  encodeBase64Floats,
  openAIChatResponseToCanonical,
  openAICompletionResponseToCanonical,
  openAIEmbeddingResponseToCanonical,
  parseOpenAIChat,
  parseOpenAICompletion,
  parseOpenAIEmbedding,
  toOpenAIChatBody,
  toOpenAICompletionBody,
  toOpenAIEmbeddingBody,
} from '../../src/protocol/openai.js';
import { fixtureJson, thrown } from './protocol-fixtures.js';

const user = (content: unknown) => ({ role: 'user', content });

describe('parseOpenAIChat', () => {
  it('joins system and developer turns and keeps the conversation order', () => {
    const req = parseOpenAIChat({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        user('Hi'),
        { role: 'assistant', content: 'Salut' },
        user([{ type: 'text', text: 'Look:' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } }]),
      ],
    });
    expect(req.operation).toBe('chat');
    expect(req.protocol).toBe('openai');
    expect(req.system).toBe('You are terse.\n\nAnswer in French.');
    expect(req.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(req.messages[2]!.content).toEqual([
      { type: 'text', text: 'Look:' },
      { type: 'image', url: 'data:image/png;base64,iVBORw0KGgo=', mediaType: 'image/png' },
    ]);
    expect(req.stream).toBe(false);
    expect(req.extra).toEqual({});
  });

  it('maps tools, tool_choice, tool calls, tool results and sampling parameters', () => {
    const req = parseOpenAIChat({
      model: 'gpt-4o',
      messages: [
        user('Weather in Paris?'),
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
      max_tokens: 50,
      max_completion_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
      stream: true,
      user: 'u-42',
      seed: 7,
      n: 1,
      logit_bias: { '50256': -100 },
      stream_options: { include_usage: true },
      parallel_tool_calls: false,
    });
    expect(req.messages[1]).toEqual({ role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] });
    expect(req.messages[2]).toEqual({ role: 'tool', content: '18C', toolCallId: 'call_1' });
    expect(req.tools).toEqual([{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }]);
    expect(req.toolChoice).toEqual({ name: 'get_weather' });
    expect(req.responseFormat).toEqual({ type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true });
    expect(req.maxTokens).toBe(100);
    expect(req.temperature).toBe(0.2);
    expect(req.topP).toBe(0.9);
    expect(req.stop).toEqual(['END']);
    expect(req.stream).toBe(true);
    expect(req.user).toBe('u-42');
    expect(req.extra).toEqual({ seed: 7, n: 1, logit_bias: { '50256': -100 }, stream_options: { include_usage: true }, parallel_tool_calls: false });
  });

  it.each([
    ['a non-object body', [], undefined],
    ['a missing model', { messages: [user('x')] }, 'model'],
    ['a non-string model', { model: 4, messages: [user('x')] }, 'model'],
    ['missing messages', { model: 'm' }, 'messages'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['only system messages', { model: 'm', messages: [{ role: 'system', content: 's' }] }, 'messages'],
    ['a bad role', { model: 'm', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    ['a missing role', { model: 'm', messages: [{ content: 'x' }] }, 'messages[0].role'],
    ['numeric content', { model: 'm', messages: [user(42)] }, 'messages[0].content'],
    ['null user content', { model: 'm', messages: [user(null)] }, 'messages[0].content'],
    ['an unknown part type', { model: 'm', messages: [user([{ type: 'input_audio', input_audio: {} }])] }, 'messages[0].content[0].type'],
    ['an image in a system turn', { model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, user('x')] }, 'messages[0].content'],
    ['a tool turn without tool_call_id', { model: 'm', messages: [user('x'), { role: 'tool', content: 'r' }] }, 'messages[1].tool_call_id'],
    ['legacy functions', { model: 'm', messages: [user('x')], functions: [] }, 'functions'],
    ['a bad tool', { model: 'm', messages: [user('x')], tools: [{ type: 'retrieval' }] }, 'tools[0]'],
    ['a bad tool_choice', { model: 'm', messages: [user('x')], tool_choice: 'sometimes' }, 'tool_choice'],
    ['a bad response_format', { model: 'm', messages: [user('x')], response_format: { type: 'yaml' } }, 'response_format.type'],
    ['a string temperature', { model: 'm', messages: [user('x')], temperature: 'hot' }, 'temperature'],
    ['a fractional max_tokens', { model: 'm', messages: [user('x')], max_tokens: 1.5 }, 'max_tokens'],
    ['a non-boolean stream', { model: 'm', messages: [user('x')], stream: 'yes' }, 'stream'],
    ['a numeric stop', { model: 'm', messages: [user('x')], stop: 3 }, 'stop'],
  ])('rejects %s with invalid_request', (_name, body, param) => {
    const err = thrown(() => parseOpenAIChat(body));
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message.length).toBeGreaterThan(10);
  });

  it('treats null optional parameters as absent', () => {
    const req = parseOpenAIChat({ model: 'm', messages: [user('x')], temperature: null, stop: null, tools: null, max_tokens: null });
    expect(req.temperature).toBeUndefined();
    expect(req.stop).toBeUndefined();
    expect(req.tools).toBeUndefined();
    expect(req.maxTokens).toBeUndefined();
  });
});

describe('toOpenAIChatBody', () => {
  const body = {
    model: 'switchyard/auto',
    messages: [
      { role: 'system', content: 'Be brief.' },
      user('Weather?'),
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ],
    tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object', properties: {} } } }],
    tool_choice: 'auto',
    max_tokens: 64,
    stream: true,
    seed: 3,
  };

  it('round-trips an OpenAI request with extras and the upstream model', () => {
    const out = toOpenAIChatBody(parseOpenAIChat(body), 'gpt-4o-mini', { streamUsage: false });
    expect(out).toEqual({ ...body, model: 'gpt-4o-mini' });
  });

  it('asks for stream usage unless the client set stream_options, and never when not streaming', () => {
    const req = parseOpenAIChat(body);
    expect(toOpenAIChatBody(req, 'x', { streamUsage: true }).stream_options).toEqual({ include_usage: true });
    const own = parseOpenAIChat({ ...body, stream_options: { include_usage: false } });
    expect(toOpenAIChatBody(own, 'x', { streamUsage: true }).stream_options).toEqual({ include_usage: false });
    const still = parseOpenAIChat({ ...body, stream: false, stream_options: { include_usage: true } });
    const out = toOpenAIChatBody(still, 'x', { streamUsage: true });
    expect(out.stream_options).toBeUndefined();
    expect(out.stream).toBeUndefined();
  });

  it('can write the limit as max_completion_tokens', () => {
    const out = toOpenAIChatBody(parseOpenAIChat(body), 'o3-mini', { streamUsage: false, maxTokensField: 'max_completion_tokens' });
    expect(out.max_completion_tokens).toBe(64);
    expect(out.max_tokens).toBeUndefined();
  });

  it('does not forward another protocol\'s extras', () => {
    const req = { ...parseOpenAIChat(body), protocol: 'anthropic' as const, extra: { top_k: 5, parallel_tool_calls: false } };
    const out = toOpenAIChatBody(req, 'x', { streamUsage: false });
    expect(out.top_k).toBeUndefined();
    expect(out.seed).toBeUndefined();
    expect(out.parallel_tool_calls).toBe(false);
  });
});

describe('OpenAI chat responses', () => {
  it('reads a tool-call response fixture and renders it back', () => {
    const fixture = fixtureJson('openai-chat-response.json') as Record<string, unknown>;
    const resp = openAIChatResponseToCanonical(fixture);
    expect(resp).toMatchObject({
      id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
      model: 'gpt-4o-2024-08-06',
      created: 1741570283,
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'call_12345xyz', name: 'get_weather', arguments: '{"location":"Paris, France"}' }],
      usage: { inputTokens: 1117, outputTokens: 46 },
    });
    const back = canonicalToOpenAIChat(resp);
    expect(back).toEqual({
      id: fixture.id,
      object: 'chat.completion',
      created: 1741570283,
      model: 'gpt-4o-2024-08-06',
      choices: [{
        index: 0,
        message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_12345xyz', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris, France"}' } }] },
        logprobs: null,
        finish_reason: 'tool_calls',
      }],
      usage: { prompt_tokens: 1117, completion_tokens: 46, total_tokens: 1163 },
    });
  });

  it('rejects a body without choices as a malformed upstream answer', () => {
    expect(thrown(() => openAIChatResponseToCanonical({ id: 'x' })).code).toBe('upstream_unavailable');
  });

  it('always renders usage, zeros when unknown', () => {
    const out = canonicalToOpenAIChat({ id: 'a', model: 'm', created: 1, text: 'hi', finishReason: 'stop' });
    expect(out.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });
});

describe('legacy completions', () => {
  it('parses a prompt into one user message', () => {
    const req = parseOpenAICompletion({ model: 'gpt-3.5-turbo-instruct', prompt: ['Say this is a test'], max_tokens: 7, echo: true });
    expect(req.operation).toBe('completion');
    expect(req.messages).toEqual([{ role: 'user', content: 'Say this is a test' }]);
    expect(req.maxTokens).toBe(7);
    expect(req.extra).toEqual({ echo: true });
    expect(toOpenAICompletionBody(req, 'davinci-002')).toEqual({ model: 'davinci-002', prompt: 'Say this is a test', max_tokens: 7, echo: true });
  });

  it.each([
    [{ model: 'm' }, 'prompt'],
    [{ model: 'm', prompt: [1, 2, 3] }, 'prompt'],
    [{ model: 'm', prompt: ['a', 'b'] }, 'prompt'],
    [{ prompt: 'x' }, 'model'],
  ])('rejects %j', (body, param) => {
    const err = thrown(() => parseOpenAICompletion(body));
    expect([err.code, err.param]).toEqual(['invalid_request', param]);
  });

  it('reads and renders a text_completion', () => {
    const resp = openAICompletionResponseToCanonical({
      id: 'cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7', object: 'text_completion', created: 1589478378, model: 'gpt-3.5-turbo-instruct',
      choices: [{ text: '\n\nThis is indeed a test', index: 0, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
    expect(resp).toMatchObject({ text: '\n\nThis is indeed a test', finishReason: 'length', usage: { inputTokens: 5, outputTokens: 7 } });
    expect(canonicalToOpenAICompletion(resp)).toMatchObject({
      object: 'text_completion',
      choices: [{ text: '\n\nThis is indeed a test', index: 0, logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
  });
});

describe('embeddings', () => {
  it('parses string and array inputs and keeps encoding options in extra', () => {
    expect(parseOpenAIEmbedding({ model: 'e', input: 'hello' }).input).toEqual(['hello']);
    const req = parseOpenAIEmbedding({ model: 'e', input: ['a', 'b'], encoding_format: 'base64', dimensions: 256 });
    expect(req.operation).toBe('embedding');
    expect(req.input).toEqual(['a', 'b']);
    expect(toOpenAIEmbeddingBody(req, 'text-embedding-3-small')).toEqual({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'base64', dimensions: 256 });
  });

  it.each([
    [{ model: 'e', input: [1, 2, 3] }, 'token-array'],
    [{ model: 'e', input: [[1, 2]] }, 'token-array'],
    [{ model: 'e' }, 'required'],
    [{ model: 'e', input: [] }, 'non-empty'],
    [{ model: 'e', input: ['ok', ''] }, 'empty'],
  ])('rejects %j', (body, words) => {
    const err = thrown(() => parseOpenAIEmbedding(body));
    expect([err.code, err.param]).toEqual(['invalid_request', 'input']);
    expect(err.message).toContain(words);
  });

  it('decodes float and base64 vectors in index order and renders either form', () => {
    const b64 = encodeBase64Floats([0.5, -1.25]);
    const resp = openAIEmbeddingResponseToCanonical({
      object: 'list',
      data: [
        { object: 'embedding', index: 1, embedding: b64 },
        { object: 'embedding', index: 0, embedding: [0.1, 0.2] },
      ],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(resp.vectors).toEqual([[0.1, 0.2], [0.5, -1.25]]);
    expect(resp.usage).toEqual({ inputTokens: 8, outputTokens: 0 });
    const floats = canonicalToOpenAIEmbedding(resp);
    expect(floats).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: [0.5, -1.25] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    const base64 = canonicalToOpenAIEmbedding(resp, { encodingFormat: 'base64' }) as { data: { embedding: string }[] };
    expect(decodeBase64Floats(base64.data[1]!.embedding)).toEqual([0.5, -1.25]);
  });
});
