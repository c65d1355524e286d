/** The per-stream state machine and the message builders, without gRPC. */
import { describe, expect, it } from 'vitest';
import { StreamProcessor } from '../../src/adapters/envoy/processor.js';
import { headerBag, setHeaders } from '../../src/adapters/envoy/headers.js';
import { immediate } from '../../src/adapters/envoy/mutations.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { mutationRecord, requestBody, requestHeaders, responseBody, responseHeaders } from '../fixtures/envoy-client.js';
import type { ProcessingRequest } from '../../src/adapters/envoy/wire.js';

function core(baseUrl = 'http://127.0.0.1:9/v1'): Switchyard {
  return new Switchyard(
    parseConfig(`
upstreams:
  - name: up
    kind: openai-compatible
    baseUrl: ${baseUrl}
    models: [{ name: m, upstreamModel: real-m }]
defaultModel: m
cache: { enabled: true, store: memory, semantic: { enabled: false } }
`, {}),
    { env: {} },
  );
}

const chatHeaders = requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, false);
const chatBody = (extra: Record<string, unknown> = {}) => requestBody(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }));

describe('StreamProcessor', () => {
  it('asks for no response body when nothing is learnt from it (no cache, no budget, no shadow)', async () => {
    const sy = new Switchyard(parseConfig('upstreams: [{ name: up, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: m }] }]\ndefaultModel: m\ncache: { enabled: false }\n', {}), { env: {} });
    const p = new StreamProcessor(sy);
    await p.handle(chatHeaders);
    await p.handle(chatBody());
    const rh = await p.handle(responseHeaders(200, { 'content-type': 'application/json' }));
    expect(rh.mode_override).toMatchObject({ response_body_mode: 'NONE', response_trailer_mode: 'SKIP' });
    expect(p.state).toBe('done');
    expect(sy.registry.upstream('up')!.inFlight).toBe(0);
    await sy.close();
  });

  it('still streams a 2xx SSE answer it learns nothing from: its in-band errors are redacted chunk by chunk', async () => {
    const sy = new Switchyard(parseConfig('upstreams: [{ name: up, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: m }] }]\ndefaultModel: m\ncache: { enabled: false }\n', {}), { env: {} });
    const p = new StreamProcessor(sy);
    await p.handle(chatHeaders);
    await p.handle(chatBody({ stream: true }));
    const rh = await p.handle(responseHeaders(200, { 'content-type': 'text/event-stream' }));
    expect(rh.mode_override).toMatchObject({ response_body_mode: 'STREAMED' });
    await sy.close();
  });

  it('walks request headers → body → response headers → body chunks → done', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    expect((await p.handle(chatHeaders)).mode_override).toMatchObject({ request_body_mode: 'BUFFERED', response_header_mode: 'SEND' });
    expect(p.state).toBe('request_body');
    const routed = await p.handle(chatBody({ stream: true }));
    expect(p.verdict).toBe('forward');
    expect(p.state).toBe('response_headers');
    expect(mutationRecord(routed.request_body?.response?.header_mutation?.set_headers)['x-switchyard-upstream']).toBe('up');
    expect(sy.registry.upstream('up')!.inFlight).toBe(1);
    const rh = await p.handle(responseHeaders(200, { 'content-type': 'text/event-stream' }));
    expect(rh.mode_override).toMatchObject({ response_body_mode: 'STREAMED', response_trailer_mode: 'SEND' });
    expect(p.state).toBe('response_body');
    await p.handle(responseBody('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"real-m","choices":[{"index":0,"delta":{"content":"hel"},"finish_reason":null}]}\n\n', false));
    expect(p.state).toBe('response_body');
    await p.handle(responseBody('data: [DONE]\n\n', true));
    expect(p.state).toBe('done');
    expect(sy.registry.upstream('up')!.inFlight).toBe(0);
    await sy.close();
  });

  it('treats response trailers as the end of a body that did not say end_of_stream', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    await p.handle(chatHeaders);
    await p.handle(chatBody());
    await p.handle(responseHeaders(200, { 'content-type': 'application/json' }));
    await p.handle(responseBody('{"id":"x","object":"chat.completion","created":1,"model":"real-m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}', false));
    const t = await p.handle({ response_trailers: { trailers: { headers: [] } } } as ProcessingRequest);
    expect(t.response_trailers).toBeDefined();
    expect(p.state).toBe('done');
    await sy.close();
  });

  it('answers messages that do not fit the phase with a no-op of the same kind', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    expect(await p.handle(responseBody('stray', true))).toEqual({ response_body: { response: {} } });
    expect(await p.handle({ request_trailers: { trailers: {} } } as ProcessingRequest)).toEqual({ request_trailers: {} });
    expect(p.state).toBe('request_headers');
    await sy.close();
  });

  it('aborts an unfinished observation on close and leaves nothing in flight', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    await p.handle(chatHeaders);
    await p.handle(chatBody({ stream: true }));
    await p.handle(responseHeaders(200, { 'content-type': 'text/event-stream' }));
    await p.handle(responseBody('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"real-m","choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}\n\n', false));
    p.close();
    expect(p.state).toBe('done');
    expect(sy.registry.upstream('up')!.inFlight).toBe(0);
    expect(sy.registry.upstream('up')!.usable()).toBe(true);
    await sy.close();
  });

  it('answers a body-less LLM request at the headers with an immediate 400', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    const r = await p.handle(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: {} }, true));
    expect(r.immediate_response?.status.code).toBe(400);
    expect(p.verdict).toBe('respond');
    await sy.close();
  });

  it('lists models at the headers of GET /v1/models', async () => {
    const sy = core();
    const p = new StreamProcessor(sy);
    const r = await p.handle(requestHeaders({ method: 'GET', path: '/v1/models', headers: {} }, true));
    expect(r.immediate_response?.status.code).toBe(200);
    expect(JSON.parse(Buffer.from(r.immediate_response!.body!).toString()).data.map((d: { id: string }) => d.id)).toContain('m');
    await sy.close();
  });

  it('rewrites :path when the upstream base path differs from the client path, keeping the query', async () => {
    const sy = core('http://127.0.0.1:9/openai/v1');
    const p = new StreamProcessor(sy);
    await p.handle(requestHeaders({ method: 'POST', path: '/v1/chat/completions?api-version=1', headers: { 'content-type': 'application/json' } }, false));
    const r = await p.handle(chatBody());
    expect(mutationRecord(r.request_body?.response?.header_mutation?.set_headers)[':path']).toBe('/openai/v1/chat/completions?api-version=1');
    p.close();
    await sy.close();
  });
});

describe('message helpers', () => {
  it('reads header values from raw_value or value, repeated names as lists', () => {
    expect(
      headerBag({ headers: [{ key: 'X-A', raw_value: Buffer.from('1') }, { key: 'x-a', value: '2' }, { key: ':path', value: '/p' }] }),
    ).toEqual({ 'x-a': ['1', '2'], ':path': '/p' });
  });

  it('never sends a header value Envoy would refuse (CR, LF, NUL become spaces)', () => {
    const [a, b] = setHeaders([['x-a', 'one\r\ntwo\0'], ['x-b', 'plain']]);
    expect(Buffer.from(a!.header.raw_value!).toString()).toBe('one  two ');
    expect(Buffer.from(b!.header.raw_value!).toString()).toBe('plain');
  });

  it('renders an SSE respond outcome with an event-stream content type', () => {
    const r = immediate({ type: 'respond', ctx: undefined, status: 200, headers: { 'x-switchyard-cache': 'hit-exact' }, contentType: 'text/event-stream', body: 'data: [DONE]\n\n' });
    const h = mutationRecord(r.immediate_response!.headers!.set_headers);
    expect(h['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(h['cache-control']).toBe('no-cache');
    expect(h['x-switchyard-cache']).toBe('hit-exact');
  });
});
