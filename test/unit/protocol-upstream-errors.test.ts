import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, redactSecrets } from '../../src/protocol/upstream-errors.js';

const openaiErr = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } });
const anthropicErr = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_011CS' });

describe('classifyUpstreamError', () => {
  it.each([
    ['OpenAI context_length_exceeded code', 400, openaiErr("This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.", 'invalid_request_error', 'context_length_exceeded', 'messages'), 'openai'],
    ['vLLM maximum context length message', 400, JSON.stringify({ object: 'error', message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens", type: 'BadRequestError', code: 400 }), 'openai'],
    ['llama.cpp exceed_context_size_error', 400, JSON.stringify({ error: { code: 400, message: 'the request exceeds the available context size, try increasing it', type: 'exceed_context_size_error' } }), 'openai'],
    ['Anthropic prompt is too long', 400, anthropicErr('invalid_request_error', 'prompt is too long: 208310 tokens > 200000 maximum'), 'anthropic'],
  ] as const)('recognises %s', (_n, status, body, protocol) => {
    const c = classifyUpstreamError(status, body, protocol);
    expect(c).toMatchObject({ code: 'context_length_exceeded', retryable: false, status: 400 });
  });

  it.each([
    ['OpenAI content_policy_violation', openaiErr('Your request was rejected as a result of our safety system.', 'invalid_request_error', 'content_policy_violation')],
    ['Azure content_filter', JSON.stringify({ error: { message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", type: null, param: 'prompt', code: 'content_filter', status: 400 } })],
  ])('recognises %s', (_n, body) => {
    expect(classifyUpstreamError(400, body, 'openai')).toMatchObject({ code: 'content_policy_violation', retryable: false });
  });

  it.each([
    [401, 'authentication_error', false],
    [403, 'authentication_error', false],
    [408, 'upstream_timeout', true],
    [429, 'rate_limited', true],
    [500, 'upstream_unavailable', true],
    [502, 'upstream_unavailable', true],
    [503, 'upstream_unavailable', true],
    [504, 'upstream_timeout', true],
    [529, 'upstream_unavailable', true],
  ] as const)('maps HTTP %i to %s (retryable %s)', (status, code, retryable) => {
    expect(classifyUpstreamError(status, anthropicErr('api_error', 'x'), 'anthropic')).toMatchObject({ code, retryable });
  });

  it('does not retry an exhausted quota', () => {
    const c = classifyUpstreamError(429, openaiErr('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'), 'openai');
    expect(c).toMatchObject({ code: 'rate_limited', retryable: false });
  });

  it('keeps the status of other 4xx as upstream_client_error, not retryable', () => {
    const c = classifyUpstreamError(404, openaiErr('The model `gpt-9` does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found'), 'openai');
    expect(c).toEqual({ code: 'upstream_client_error', retryable: false, status: 404, message: expect.stringContaining('gpt-9') });
    expect(classifyUpstreamError(422, '{}', 'openai')).toMatchObject({ code: 'upstream_client_error', status: 422 });
  });

  it('never passes an upstream API key back to the client', () => {
    const body = openaiErr('Incorrect API key provided: sk-proj-AbCdEf1234567890XyZ. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    const c = classifyUpstreamError(401, body, 'openai');
    expect(c.code).toBe('authentication_error');
    expect(c.message).not.toContain('AbCdEf1234567890XyZ');
    expect(c.message).toContain('[redacted]');
    const a = classifyUpstreamError(401, anthropicErr('authentication_error', 'invalid x-api-key: sk-ant-api03-SECRETSECRETSECRET'), 'anthropic');
    expect(a.message).not.toContain('SECRETSECRET');
  });

  it('does not echo HTML error pages and caps message length', () => {
    const c = classifyUpstreamError(502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'openai');
    expect(c.message).toBe('upstream openai error (HTTP 502)');
    expect(classifyUpstreamError(400, openaiErr('y'.repeat(5000), 'x', null), 'openai').message.length).toBeLessThanOrEqual(500);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def', 'eyJhbGci'],
    ['api_key=abcdef123456', 'abcdef123456'],
    ['"x-api-key": "k-123456789"', 'k-123456789'],
    ['key AIzaSyD-1234567890abcdefghijklmnopq', 'AIzaSyD'],
  ])('redacts %s', (text, secret) => {
    expect(redactSecrets(text)).not.toContain(secret);
  });

  it('leaves ordinary text alone', () => {
    expect(redactSecrets('prompt is too long: 208310 tokens > 200000 maximum')).toBe('prompt is too long: 208310 tokens > 200000 maximum');
  });
});
