/**
 * The ext_proc server's gRPC transport (@grpc/grpc-js with pass-through
 * serializers, messages through codec.ts), driven by the official grpc-js
 * client the way Envoy's filter would be: unknown methods, oversized and
 * unreadable messages, bodies of several MiB, health, resets and shutdown.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { createExtProcServer, peerAddress, type ExtProcServer } from '../../src/adapters/envoy/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { connectExtProc, mutationRecord, requestBody, requestHeaders, responseBody, responseHeaders } from '../fixtures/envoy-client.js';

const open: { sy: Switchyard; ext: ExtProcServer }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.ext.close(100);
    await o.sy.close();
  }
});

// Semantic cache off: these tests are about the transport, not the embedder's first load.
const CONFIG =
  'upstreams: [{ name: up, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: m, upstreamModel: up-m }] }]\ndefaultModel: m\ncache: { semantic: { enabled: false } }\n';

async function start(opts: { maxMessageBytes?: number; yaml?: string; host?: string; env?: NodeJS.ProcessEnv } = {}) {
  const env = opts.env ?? {};
  const sy = new Switchyard(parseConfig(opts.yaml ?? CONFIG, env), { env });
  const ext = createExtProcServer({ switchyard: sy, ...(opts.maxMessageBytes ? { maxMessageBytes: opts.maxMessageBytes } : {}) });
  const port = await ext.listen(0, opts.host ?? '127.0.0.1');
  open.push({ sy, ext });
  return { sy, ext, port };
}

const chatHeaders = (length?: number) =>
  requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...(length ? { 'content-length': String(length) } : {}) } }, false);

const healthDef = protoLoader.loadSync('health/v1/health.proto', {
  keepCase: true,
  enums: String,
  includeDirs: [new URL('../../node_modules/grpc-health-check/proto', import.meta.url).pathname],
});
const watchMethod = (healthDef['grpc.health.v1.Health'] as protoLoader.ServiceDefinition)['Watch']!;

/** Opens `Health/Watch`; `next()` resolves with each status as it arrives, `ended` with the call's final status. */
function watch(port: number, service: string) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = client.makeServerStreamRequest(
    watchMethod.path,
    watchMethod.requestSerialize as (v: { service: string }) => Buffer,
    watchMethod.responseDeserialize as (b: Buffer) => { status: string },
    { service },
  );
  const seen: string[] = [];
  const waiters: ((s: string) => void)[] = [];
  call.on('data', (m: { status: string }) => {
    const w = waiters.shift();
    if (w) w(m.status);
    else seen.push(m.status);
  });
  call.on('error', () => undefined);
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return {
    next: () => (seen.length > 0 ? Promise.resolve(seen.shift()!) : new Promise<string>((resolve) => waiters.push(resolve))),
    ended,
    close: () => client.close(),
  };
}

describe('ext_proc gRPC transport (grpc-js, pass-through serializers)', () => {
  it('answers UNIMPLEMENTED for an unknown method', async () => {
    const { port } = await start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest('/nope.Service/Method', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e!)),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
  });

  it('refuses a message above maxMessageBytes with RESOURCE_EXHAUSTED, ends that stream and keeps serving', async () => {
    const { port, ext } = await start({ maxMessageBytes: 1024 });
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(chatHeaders());
    await expect(s.send(requestBody('x'.repeat(4096)))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await expect.poll(() => ext.activeStreams).toBe(0);
    expect(await c.health('')).toBe('SERVING');
    // The next stream on the same connection is served.
    const next = c.open();
    expect((await next.send(chatHeaders())).request_headers).toBeDefined();
    expect((await next.end()).code).toBe(grpc.status.OK);
    c.close();
  });

  it('takes a message as large as the envoy listener limit (8 MiB), above grpc-js\'s 4 MiB default', async () => {
    const { port, sy } = await start();
    const limit = sy.config.envoy.listenerBufferLimitBytes;
    expect(limit).toBe(8 * 1024 * 1024);
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(chatHeaders()); // no content-length: Envoy buffers, then sends the whole body in one message
    const r = await s.send(requestBody('z'.repeat(limit - 64)));
    // Delivered and answered by the core (in its own format), not refused by the transport.
    expect(r.immediate_response?.body?.toString()).toContain('body_too_large');
    expect((await s.end()).code).toBe(grpc.status.OK);
    c.close();
  });

  it('accepts messages up to 64 MiB by default, more when the envoy listener limit is set higher', async () => {
    expect((await start()).ext.maxMessageBytes).toBe(64 * 1024 * 1024);
    const big = await start({ yaml: `${CONFIG}envoy: { listenerBufferLimitBytes: 134217728 }\n` });
    expect(big.ext.maxMessageBytes).toBe(128 * 1024 * 1024 + 1024 * 1024);
    expect((await start({ maxMessageBytes: 1024 })).ext.maxMessageBytes).toBe(1024);
  });

  it('answers a body of several MiB with a rewrite of the same size', async () => {
    const { port } = await start({ yaml: `${CONFIG}server: { bodyLimitBytes: 8388608 }\n` });
    const content = 'y'.repeat(6 * 1024 * 1024);
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] });
    // Envoy's side takes the large answer too; grpc-js's client stops at 4 MiB unless told.
    const c = connectExtProc(port, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    const s = c.open();
    await s.send(chatHeaders(Buffer.byteLength(body)));
    const r = await s.send(requestBody(body));
    // Routed to `up` with the model rewritten to its upstream name: the answer carries the whole new body.
    const rewritten = Buffer.from(r.request_body!.response!.body_mutation!.body!).toString('utf8');
    expect(JSON.parse(rewritten)).toMatchObject({ model: 'up-m', messages: [{ role: 'user', content }] });
    expect((await s.end()).code).toBe(grpc.status.OK);
    c.close();
  });

  it('answers messages sent without waiting in order: those behind a pending decision wait for it, and the half-close for them all', async () => {
    // The decision waits for a real Redis round trip (the exact cache's lookup), so the later messages arrive while it is pending.
    const prefix = `sy-extproc-order-${process.pid}-${Date.now()}:`;
    const yaml = CONFIG.replace('cache: { semantic: { enabled: false } }', `cache: { store: redis, redis: { keyPrefix: '${prefix}' }, semantic: { enabled: false } }`);
    const { ext, port } = await start({ yaml });
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `queued ${Math.random()}` }] });
    const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'up-m', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] });
    const c = connectExtProc(port);
    const s = c.open();
    // All four messages and the half-close leave at once; the response side is only meaningful after the decision.
    const answers = Promise.all([
      s.send(chatHeaders(Buffer.byteLength(body))),
      s.send(requestBody(body)),
      s.send(responseHeaders(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(answer)) })),
      s.send(responseBody(answer, true)),
    ]);
    const status = s.end();
    const [h, b, rh, rb] = await answers;
    expect(h.mode_override?.request_body_mode).toBe('BUFFERED');
    expect(mutationRecord(b.request_body?.response?.header_mutation?.set_headers)['x-switchyard-upstream']).toBe('up');
    // Handled after the decision: the observer asks for the body and the client gets the decision headers.
    expect(rh.mode_override?.response_body_mode).toBe('BUFFERED');
    expect(mutationRecord(rh.response_headers?.response?.header_mutation?.set_headers)['x-switchyard-cache']).toBe('miss');
    expect(rb.response_body).toBeDefined();
    expect((await status).code).toBe(grpc.status.OK);
    expect(ext.activeStreams).toBe(0);
    c.close();
  });

  it('ends a stream whose message it cannot read with INTERNAL and leaves nothing open', async () => {
    const { port, ext } = await start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(`/envoy.service.ext_proc.v3.ExternalProcessor/Process`, (b: Buffer) => b, (b: Buffer) => b);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    call.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])); // field 1, length far past the end
    expect((await status).code).toBe(grpc.status.INTERNAL);
    await expect.poll(() => ext.activeStreams).toBe(0);
    client.close();
  });

  it('reports health per service, NOT_FOUND for an unknown one, NOT_SERVING once set', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    expect(await c.health('')).toBe('SERVING');
    expect(await c.health('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
    await expect(c.health('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    ext.health.setStatus('', 'NOT_SERVING');
    expect(ext.health.getStatus('')).toBe('NOT_SERVING');
    expect(await c.health('')).toBe('NOT_SERVING');
    c.close();
  });

  it('tells a watcher each status change, SERVICE_UNKNOWN for an unknown service, and ends the watch at shutdown', async () => {
    const { port, ext } = await start();
    const w = watch(port, 'envoy.service.ext_proc.v3.ExternalProcessor');
    const unknown = watch(port, 'no.such.Service');
    expect(await w.next()).toBe('SERVING');
    expect(await unknown.next()).toBe('SERVICE_UNKNOWN');
    ext.health.setStatus('envoy.service.ext_proc.v3.ExternalProcessor', 'NOT_SERVING');
    expect(await w.next()).toBe('NOT_SERVING');
    ext.health.setStatus('envoy.service.ext_proc.v3.ExternalProcessor', 'SERVING');
    expect(await w.next()).toBe('SERVING');
    // A long grace: the close must not wait for the watchers, which never hang up themselves.
    const closed = ext.close(60_000);
    expect(await w.next()).toBe('NOT_SERVING');
    expect((await w.ended).code).toBe(grpc.status.OK);
    expect((await unknown.ended).code).toBe(grpc.status.OK);
    await closed;
    w.close();
    unknown.close();
  });

  it('cancels a stream the client resets and leaves nothing open', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(chatHeaders());
    expect(ext.activeStreams).toBe(1);
    s.cancel();
    await expect.poll(() => ext.activeStreams).toBe(0);
    c.close();
  });

  it('lets an open stream finish within the grace at shutdown', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(chatHeaders());
    const closed = ext.close(60_000);
    expect(await c.health('').catch((e: grpc.ServiceError) => e.code)).not.toBe('SERVING');
    // The stream keeps going on the draining connection and ends normally; then the close resolves.
    const r = await s.send(requestBody(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })));
    expect(r.request_body).toBeDefined();
    expect((await s.end()).code).toBe(grpc.status.OK);
    await closed;
    expect(ext.activeStreams).toBe(0);
    c.close();
  });

  it('cancels a stream still open when the grace runs out, and the close resolves', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(chatHeaders());
    expect(ext.activeStreams).toBe(1);
    await ext.close(200);
    await expect.poll(() => ext.activeStreams).toBe(0);
    expect((await s.status).code).not.toBe(grpc.status.OK);
    c.close();
  });

  it('reads the calling Envoy\'s address from grpc-js\'s peer string, IPv6 included', () => {
    expect(peerAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(peerAddress('::1:5000')).toBe('::1'); // grpc-js 1.14: address:port, no brackets
    expect(peerAddress('[::1]:5000')).toBe('::1');
    expect(peerAddress('::ffff:10.1.2.3:5000')).toBe('10.1.2.3');
    expect(peerAddress('fe80::1%eth0:5000')).toBe('fe80::1');
    expect(peerAddress('unknown')).toBeUndefined();
  });

  it('trusts the identity headers of an Envoy calling over IPv6 only when its address is in trustedProxies', async () => {
    const yaml = (trusted: string) =>
      `${CONFIG}auth:\n  mode: header\n  header: { trustedProxies: ${trusted}, sharedSecretEnv: GRPC_T_SECRET }\n`;
    const env = { GRPC_T_SECRET: 'grpc-transport-secret' };
    const headers = { 'content-type': 'application/json', 'x-switchyard-tenant': 'acme', 'x-switchyard-proxy-secret': env.GRPC_T_SECRET };
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const decide = async (trusted: string) => {
      const { port } = await start({ yaml: yaml(trusted), host: '::1', env });
      const c = connectExtProc(port, {}, '::1');
      const s = c.open();
      await s.send(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers }, false));
      const r = await s.send(requestBody(body));
      c.close();
      return r;
    };
    const trusted = await decide('["::1/128"]');
    expect(trusted.immediate_response).toBeUndefined();
    expect(trusted.request_body).toBeDefined();
    const untrusted = await decide('[127.0.0.1/32]');
    expect(untrusted.immediate_response).toBeDefined();
  });
});
