/**
 * The fake Envoy enforces what Envoy enforces: scripted (deliberately wrong)
 * processors must be treated as Envoy would treat them, or the ext_proc
 * tests could pass against a Switchyard that fails in a real Envoy.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { processMethod } from '../../src/adapters/envoy/protos.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/adapters/envoy/wire.js';
import { FakeEnvoy } from '../fixtures/envoy-proxy.js';
import { envoyYamlFor, extProcOf } from '../fixtures/envoy-model.js';

type Script = (msg: ProcessingRequest) => ProcessingResponse | 'hang';

let script: Script;
let grpcServer: grpc.Server;
let port: number;
let upstream: Server;
let seen: { cluster: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const envoys: FakeEnvoy[] = [];

const set = (key: string, value: string) => ({ header: { key, raw_value: Buffer.from(value) }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' as const });
const kindOf = (m: ProcessingRequest) => Object.keys(m).find((k) => k !== 'request')!;

beforeAll(async () => {
  grpcServer = new grpc.Server();
  grpcServer.addService({ Process: processMethod() } as unknown as grpc.ServiceDefinition, {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (m: ProcessingRequest) => {
        const r = script(m);
        if (r !== 'hang') call.write(r);
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  port = await new Promise<number>((res, rej) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  // One HTTP server plays every cluster; the path prefix tells which.
  upstream = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const cluster = String(req.headers['x-test-cluster'] ?? '');
      seen.push({ cluster, headers: req.headers, body: Buffer.concat(parts).toString() });
      const size = Number(req.headers['x-answer-bytes'] ?? 2);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(size) });
      res.end(Buffer.alloc(size, 0x20));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});
afterEach(() => {
  for (const e of envoys.splice(0)) e.close();
  seen = [];
});
afterAll(async () => {
  grpcServer.forceShutdown();
  await new Promise<void>((r) => upstream.close(() => r()));
});

function envoy(edit?: Parameters<typeof envoyYamlFor>[1]): FakeEnvoy {
  const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const clusters = { primary: origin, other: origin, local: origin, app: origin };
  const e = new FakeEnvoy({ port, clusters, config: envoyYamlFor(Object.keys(clusters), edit) });
  envoys.push(e);
  return e;
}

const post = (headers: Record<string, string> = {}, body = '{"model":"m"}') => ({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the fake Envoy', () => {
  it('picks the route before the filters and re-picks it only on clear_route_cache with a header mutation', async () => {
    const e = envoy();
    // Sets the routing header without clearing the route cache: the route stays the one picked first (local).
    script = (m) => (kindOf(m) === 'request_headers' ? { request_headers: { response: {} }, mode_override: { request_body_mode: 'BUFFERED' } } : { request_body: { response: { header_mutation: { set_headers: [set('x-switchyard-upstream', 'primary')] } } } });
    expect((await e.request(post())).cluster).toBe('local');
    // clear_route_cache without a header mutation is ignored.
    script = (m) => (kindOf(m) === 'request_headers' ? { request_headers: { response: { clear_route_cache: true } } } : { request_body: { response: {} } });
    expect((await e.request(post({ 'x-switchyard-upstream': 'primary' }))).cluster).toBe('local');
    // With both, the route follows the header.
    script = (m) => (kindOf(m) === 'request_headers' ? { request_headers: { response: { header_mutation: { set_headers: [set('x-switchyard-upstream', 'primary')] }, clear_route_cache: true } } } : { response_headers: { response: {} } });
    expect((await e.request(post())).cluster).toBe('primary');
  });

  it('ignores disallowed header mutations (host, :authority, :method, :scheme, x-envoy-*) and records them', async () => {
    const e = envoy();
    script = () => ({
      request_headers: {
        response: {
          header_mutation: {
            set_headers: [set('host', 'evil'), set(':authority', 'evil'), set(':method', 'DELETE'), set(':scheme', 'https'), set('x-envoy-retry-on', '5xx'), set('x-test-cluster', 'ok')],
            remove_headers: [':path', 'host'],
          },
        },
      },
      mode_override: { request_body_mode: 'NONE', response_header_mode: 'SKIP' },
    });
    const r = await e.request(post());
    expect(r.rejectedMutations).toEqual(['remove :path', 'remove host', 'set host', 'set :authority', 'set :method', 'set :scheme', 'set x-envoy-retry-on']);
    expect(r.status).toBe(200);
    expect(seen[0]!.headers['x-envoy-retry-on']).toBeUndefined();
    expect(seen[0]!.headers['x-test-cluster']).toBe('ok');
  });

  it('answers 500 for a header with both value and raw_value, or a CR/LF in a value', async () => {
    const e = envoy();
    script = () => ({ request_headers: { response: { header_mutation: { set_headers: [{ header: { key: 'x-a', value: 'v', raw_value: Buffer.from('r') } }] } } } });
    expect((await e.request(post())).status).toBe(500);
    script = () => ({ request_headers: { response: { header_mutation: { set_headers: [set('x-a', 'v\r\nx-injected: 1')] } } } });
    expect((await e.request(post())).status).toBe(500);
    expect(seen).toHaveLength(0);
  });

  it('answers 500 when a replaced body and its content-length disagree', async () => {
    const e = envoy();
    script = (m) => (kindOf(m) === 'request_headers' ? { request_headers: { response: {} }, mode_override: { request_body_mode: 'BUFFERED' } } : { request_body: { response: { body_mutation: { body: Buffer.from('{"model":"longer-name"}') } } } });
    const r = await e.request(post());
    expect(r.status).toBe(500);
    expect(seen).toHaveLength(0);
  });

  it('honours mode_override only on answers to header messages', async () => {
    const e = envoy();
    script = (m) =>
      kindOf(m) === 'request_headers'
        ? { request_headers: { response: {} }, mode_override: { request_body_mode: 'BUFFERED' } }
        : kindOf(m) === 'request_body'
          ? { request_body: { response: {} }, mode_override: { response_header_mode: 'SEND', response_body_mode: 'BUFFERED' } }
          : { response_headers: { response: {} } };
    const r = await e.request(post());
    expect(r.sent.map(kindOf)).toEqual(['request_headers', 'request_body']);
  });

  it('applies the listener buffer limit: 413 for a buffered request, 500 for a buffered response', async () => {
    const e = envoy((c) => (c.static_resources.listeners[0].per_connection_buffer_limit_bytes = 1024));
    script = (m) => (kindOf(m) === 'request_headers' ? { request_headers: { response: {} }, mode_override: { request_body_mode: 'BUFFERED', response_header_mode: 'SEND' } } : kindOf(m) === 'request_body' ? { request_body: { response: {} } } : { response_headers: { response: {} }, mode_override: { response_body_mode: 'BUFFERED' } });
    expect((await e.request(post({}, `{"model":"${'x'.repeat(2000)}"}`))).status).toBe(413);
    const big = await e.request(post({ 'x-answer-bytes': '4096' }));
    expect(big.status).toBe(500);
    expect(big.local).toBe('response_payload_too_large');
    const small = await e.request(post({ 'x-answer-bytes': '512' }));
    expect(small.status).toBe(200);
  });

  it('gives each message message_timeout (200 ms by default): fail-open continues without the processor, fail-closed is a 504', async () => {
    script = () => 'hang';
    const open = envoy((c) => delete extProcOf(c).message_timeout);
    const t0 = performance.now();
    const r = await open.request(post());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(r.extProc).toBe('timed-out-open');
    expect(r.status).toBe(200);
    expect(r.cluster).toBe('local');
    const closed = envoy((c) => {
      delete extProcOf(c).message_timeout;
      extProcOf(c).failure_mode_allow = false;
    });
    expect((await closed.request(post())).status).toBe(504);
  });
});
