/** The ext_proc server's own gRPC-over-HTTP/2 transport, driven by the official grpc-js client. */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createExtProcServer, type ExtProcServer } from '../../src/adapters/envoy/server.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { connectExtProc, requestBody, requestHeaders } from '../fixtures/envoy-client.js';

const open: { sy: Switchyard; ext: ExtProcServer }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.ext.close(100);
    await o.sy.close();
  }
});

async function start(maxMessageBytes?: number) {
  const sy = new Switchyard(parseConfig('upstreams: [{ name: up, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [{ name: m }] }]\ndefaultModel: m\n', {}), { env: {} });
  const ext = createExtProcServer({ switchyard: sy, ...(maxMessageBytes ? { maxMessageBytes } : {}) });
  const port = await ext.listen(0, '127.0.0.1');
  open.push({ sy, ext });
  return { sy, ext, port };
}

describe('ext_proc gRPC transport', () => {
  it('answers UNIMPLEMENTED for an unknown method', async () => {
    const { port } = await start();
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest('/nope.Service/Method', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (e) => resolve(e!)),
    );
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
  });

  it('refuses a message above maxMessageBytes with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const { port, ext } = await start(1024);
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, false));
    await expect(s.send(requestBody('x'.repeat(4096)))).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    await expect.poll(() => ext.activeStreams).toBe(0);
    expect(await c.health('')).toBe('SERVING');
    c.close();
  });

  it('reports health per service, NOT_FOUND for an unknown one, NOT_SERVING once closing', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    expect(await c.health('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
    await expect(c.health('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    ext.health.setStatus('', 'NOT_SERVING');
    expect(await c.health('')).toBe('NOT_SERVING');
    c.close();
  });

  it('cancels a stream the client resets and leaves nothing open', async () => {
    const { port, ext } = await start();
    const c = connectExtProc(port);
    const s = c.open();
    await s.send(requestHeaders({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' } }, false));
    expect(ext.activeStreams).toBe(1);
    s.cancel();
    await expect.poll(() => ext.activeStreams).toBe(0);
    c.close();
  });
});
