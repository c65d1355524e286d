/**
 * The mock provider as an HTTP server: OpenAI (`/v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings`, `/v1/models`) and Anthropic
 * (`/v1/messages`) on one listener, answering as `answer.ts` decides, paced
 * and faulted as configured. Switchyard runs one in-process per `kind: mock`
 * upstream (on a private Unix socket); `switchyard mock` runs one on a port.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockSchema, type MockConfig } from '../config/mock.js';
import { mockAnswer, mockEmbedding, requestText, countTokens, type MockAnswer } from './answer.js';
import { answerJson, errorJson, sse, streamEnd, streamStart, streamToken, type MockRoute } from './wire.js';

const BODY_LIMIT = 16 * 1024 * 1024;

type Json = Record<string, unknown>;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Resolves after `ms`, or early (false) when the client goes away. */
function wait(ms: number, res: ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(t);
      res.off('close', onClose);
      resolve(ok);
    };
    const onClose = () => done(false);
    const t = setTimeout(() => done(true), ms);
    res.once('close', onClose);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function routeOf(path: string): MockRoute | 'embeddings' | 'models' | undefined {
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/completions')) return 'completion';
  if (path.endsWith('/messages')) return 'messages';
  if (path.endsWith('/embeddings')) return 'embeddings';
  if (path.endsWith('/models')) return 'models';
  return undefined;
}

async function answer(cfg: MockConfig, name: string | undefined, route: MockRoute, body: Json, raw: Buffer, res: ServerResponse): Promise<void> {
  const anthropic = route === 'messages';
  const a: MockAnswer = mockAnswer(body, cfg, name);
  const model = typeof body.model === 'string' ? body.model : 'mock';
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 24);
  const id = anthropic ? `msg_mock_${digest}` : route === 'chat' ? `chatcmpl-mock-${digest}` : `cmpl-mock-${digest}`;
  if (!(await wait(cfg.latencyMs, res))) return;
  if (a.fault === 'disconnect') {
    res.socket?.destroy();
    return;
  }
  if (a.fault === 'timeout') return; // never answers; the socket closes with the client or the server
  if (typeof a.fault === 'number') {
    send(res, a.fault, errorJson(anthropic, a.fault, `mock fault: HTTP ${a.fault} (asked for by ${cfg.fault === a.fault ? 'the upstream config' : 'the request'})`));
    return;
  }
  const tokenMs = cfg.tokensPerSecond > 0 ? 1000 / cfg.tokensPerSecond : 0;
  const truncate = a.fault === 'truncate';
  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const e of streamStart(route, id, model, a)) res.write(sse(e));
    const cut = truncate ? Math.floor(a.tokens.length / 2) : a.tokens.length;
    for (let i = 0; i < cut; i++) {
      if (i > 0 && !(await wait(tokenMs, res))) return;
      if (res.destroyed) return;
      res.write(sse(streamToken(route, id, model, a.tokens[i]!)));
    }
    if (truncate) {
      res.socket?.destroy();
      return;
    }
    const so = body.stream_options as Json | undefined;
    for (const e of streamEnd(route, id, model, a, so?.include_usage === true)) res.write(sse(e));
    res.end();
    return;
  }
  if (!(await wait(tokenMs * a.tokens.length, res))) return;
  const text = JSON.stringify(answerJson(route, id, model, a));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  if (truncate) {
    res.write(text.slice(0, Math.floor(text.length / 2)));
    res.socket?.destroy();
    return;
  }
  res.end(text);
}

function embeddings(cfg: MockConfig, body: Json, res: ServerResponse): void {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
  const base64 = body.encoding_format === 'base64';
  const data = texts.map((t, index) => {
    const v = mockEmbedding(t, cfg.embeddingDimensions);
    return { object: 'embedding', index, embedding: base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v };
  });
  const tokens = countTokens(requestText(body).all);
  send(res, 200, { object: 'list', data, model: typeof body.model === 'string' ? body.model : 'mock', usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/**
 * A node:http request handler playing the mock provider.
 *
 * @example
 * const server = createServer(createMockHandler(mockSchema.parse({ response: 'text', text: 'hi' }), 'fake'));
 */
export function createMockHandler(cfg: MockConfig, name?: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routeOf(path);
    const anthropic = route === 'messages';
    if (req.method === 'GET' && (path === '/health' || path === '/healthz')) return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && route === 'models') return send(res, 200, { object: 'list', data: [{ id: 'mock', object: 'model', created: 0, owned_by: 'switchyard-mock' }] });
    if (!route || route === 'models') return send(res, 404, errorJson(false, 404, `mock: no route for ${req.method} ${path}`));
    if (req.method !== 'POST') return send(res, 405, errorJson(anthropic, 405, `mock: ${path} takes POST`));
    readBody(req).then(
      async (raw) => {
        if (raw === undefined) return send(res, 413, errorJson(anthropic, 413, 'mock: request body too large'));
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          return send(res, 400, errorJson(anthropic, 400, 'mock: the request body is not valid JSON'));
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) return send(res, 400, errorJson(anthropic, 400, 'mock: the request body must be a JSON object'));
        if (route === 'embeddings') return embeddings(cfg, body as Json, res);
        await answer(cfg, name, route, body as Json, raw, res);
      },
      () => res.destroy(),
    );
  };
}

/** A running mock server. */
export interface RunningMock {
  server: Server;
  /** `http://host:port` for a TCP listener; undefined on a Unix socket. */
  url: string | undefined;
  close(): Promise<void>;
}

/** Where a mock server listens: a TCP port (0 = any free one) or a Unix socket path. */
export type MockListen = { port: number; host?: string } | { socketPath: string };

/**
 * Starts a mock provider server.
 *
 * @example
 * const mock = await startMockServer({ response: 'echo' }, { port: 0 }, 'fake'); // name: for `[mock:fault=503@fake]`
 * // point an openai-compatible upstream at `${mock.url}/v1`
 * await mock.close();
 */
export async function startMockServer(config: Partial<MockConfig> | MockConfig, listen: MockListen, name?: string): Promise<RunningMock> {
  const cfg = mockSchema.parse(config);
  const server = createServer(createMockHandler(cfg, name));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const ok = () => {
      server.off('error', reject);
      resolve();
    };
    if ('socketPath' in listen) server.listen(listen.socketPath, ok);
    else server.listen(listen.port, listen.host ?? '127.0.0.1', ok);
  });
  const addr = server.address();
  const url = addr && typeof addr === 'object' ? `http://${(addr as AddressInfo).address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}` : undefined;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
