/**
 * The sidecar's HTTP face: routes, the queue in front of every model call,
 * SSE streaming written as tokens arrive, and a client disconnect that stops
 * the generation (or takes the request out of the queue).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { readBody } from '../adapters/node/handler-body.js';
import { SwitchyardError } from '../errors.js';
import { ContextOverflowError, type LlamaEngine, type Generation } from './engine.js';
import type { SidecarMetrics } from './metrics.js';
import {
  ApiError,
  answerMeta,
  chatChunk,
  chatResponse,
  completionChunk,
  completionResponse,
  embeddingResponse,
  modelsResponse,
  parseChat,
  parseCompletion,
  parseEmbeddings,
  usageChunk,
  type RequestDefaults,
} from './openai.js';
import { QueueFullError, type SlotQueue } from './queue.js';

/** What the handler works with. */
export interface HandlerDeps {
  engine: LlamaEngine;
  queue: SlotQueue;
  metrics: SidecarMetrics;
  /** The id in `/v1/models` and in answers. */
  modelId: string;
  defaults: RequestDefaults;
  bodyLimitBytes: number;
  logger: Logger;
  /** Seconds suggested in Retry-After when the queue is full. */
  retryAfterSeconds: number;
}

/** The load headers every answer carries (the router's load signal). */
export function loadHeaders(q: SlotQueue): Record<string, string> {
  return { 'x-queue-length': String(q.waiting), 'x-queue-capacity': String(q.capacity), 'x-slots-active': String(q.active), 'x-slots-total': String(q.slots) };
}

/** The JSON object body, with the same size limit and reader as the gateway. */
async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (e) {
    throw e instanceof SwitchyardError ? new ApiError(e.status, e.message) : e;
  }
  try {
    const v: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ApiError(400, `request body must be a JSON object: ${(e as Error).message}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function startSse(res: ServerResponse, headers: Record<string, string>): (data: unknown) => void {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  return (data) => {
    if (!res.destroyed) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  };
}

type Route = 'chat' | 'completion' | 'embedding';

const POST_ROUTES: Record<string, Route> = {
  '/v1/chat/completions': 'chat',
  '/chat/completions': 'chat',
  '/v1/completions': 'completion',
  '/completions': 'completion',
  '/v1/embeddings': 'embedding',
  '/embeddings': 'embedding',
};

/**
 * The request listener of the sidecar's server.
 *
 * @example
 * createServer(createSidecarHandler({ engine, queue, metrics, modelId, defaults, bodyLimitBytes, logger, retryAfterSeconds: 1 }));
 */
export function createSidecarHandler(d: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const started = performance.now();
    const route = req.method === 'POST' ? POST_ROUTES[path] : undefined;
    const endpoint = route ?? path;
    res.on('finish', () => {
      d.metrics.requests.inc({ endpoint, status: String(res.statusCode) });
      if (route) d.metrics.duration.observe({ endpoint, }, (performance.now() - started) / 1000);
    });
    if (req.method === 'GET' && (path === '/health' || path === '/healthz' || path === '/v1/health')) {
      const q = d.queue;
      sendJson(res, 200, { status: 'ok', model: d.modelId, queue: { waiting: q.waiting, capacity: q.capacity, active: q.active, slots: q.slots } }, loadHeaders(q));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      d.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': d.metrics.registry.contentType });
          res.end(text);
        },
        () => sendJson(res, 500, new ApiError(500, 'metrics unavailable').body()),
      );
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      sendJson(res, 200, modelsResponse(d.modelId, d.engine.contextSize), loadHeaders(d.queue));
      return;
    }
    if (!route) {
      const known = Object.keys(POST_ROUTES).includes(path);
      const err = known ? new ApiError(405, `${req.method} is not allowed on ${path}; use POST`) : new ApiError(404, `no route for ${req.method} ${path}`, 'invalid_request_error', 'not_found');
      sendJson(res, err.status, err.body());
      return;
    }
    void serve(d, route, req, res);
  };
}

async function serve(d: HandlerDeps, route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ac.abort(new Error('client disconnected'));
  });
  let release: (() => void) | undefined;
  try {
    const body = await readJson(req, d.bodyLimitBytes);
    // Validate before queueing: a bad request never waits for a slot.
    const job =
      route === 'chat' ? { kind: 'chat' as const, ...parseChat(body, d.defaults) }
      : route === 'completion' ? { kind: 'completion' as const, ...parseCompletion(body, d.defaults) }
      : { kind: 'embedding' as const, ...parseEmbeddings(body) };
    release = await d.queue.acquire(ac.signal);
    const headers = loadHeaders(d.queue);
    if (job.kind === 'embedding') {
      let out: { vectors: number[][]; promptTokens: number };
      try {
        out = await d.engine.embed(job.inputs);
      } catch (e) {
        throw new ApiError(d.engine.embeddingsEnabled ? 400 : 501, (e as Error).message);
      }
      d.metrics.tokens.inc({ kind: 'prompt' }, out.promptTokens);
      sendJson(res, 200, embeddingResponse(job.model || d.modelId, out.vectors, out.promptTokens, job.base64), headers);
      return;
    }
    const meta = answerMeta(job.kind === 'chat' ? 'chatcmpl' : 'cmpl', job.model || d.modelId);
    const run = (onText?: (t: string) => void): Promise<Generation> => {
      const hooks = { signal: ac.signal, ...(onText ? { onText } : {}) };
      return job.kind === 'chat' ? d.engine.chat(job.messages, job.sampling, hooks) : d.engine.complete(job.prompt, job.sampling, hooks);
    };
    let g: Generation;
    if (!job.stream) {
      g = await run();
      if (g.finishReason === 'abort') return;
      sendJson(res, 200, job.kind === 'chat' ? chatResponse(meta, g) : completionResponse(meta, g), headers);
    } else {
      // The stream opens with the first token: an error before it is still a plain HTTP error.
      let sse: ((data: unknown) => void) | undefined;
      const open = () => {
        if (sse) return sse;
        sse = startSse(res, headers);
        if (job.kind === 'chat') sse(chatChunk(meta, { role: 'assistant', content: '' }, null, job.includeUsage));
        return sse;
      };
      const chunk = (text: string) =>
        job.kind === 'chat' ? chatChunk(meta, { content: text }, null, job.includeUsage) : completionChunk(meta, text, null, job.includeUsage);
      try {
        g = await run((t) => open()(chunk(t)));
      } catch (e) {
        if (!sse) throw e;
        d.logger.error({ err: e }, 'generation failed mid-stream');
        sse(JSON.parse(new ApiError(500, `generation failed: ${(e as Error).message}`).body()));
        res.end();
        return;
      }
      if (g.finishReason === 'abort') return;
      const send = open();
      send(job.kind === 'chat' ? chatChunk(meta, {}, g.finishReason, job.includeUsage) : completionChunk(meta, '', g.finishReason, job.includeUsage));
      if (job.includeUsage) send(usageChunk(meta, job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', g));
      send('[DONE]');
      res.end();
    }
    d.metrics.tokens.inc({ kind: 'prompt' }, g.promptTokens);
    d.metrics.tokens.inc({ kind: 'completion' }, g.completionTokens);
  } catch (e) {
    if (ac.signal.aborted) return;
    if (e instanceof QueueFullError) {
      const err = new ApiError(503, e.message, 'unavailable_error', 'queue_full');
      sendJson(res, 503, err.body(), { ...loadHeaders(d.queue), 'retry-after': String(d.retryAfterSeconds) });
      return;
    }
    const err =
      e instanceof ApiError ? e
      : e instanceof ContextOverflowError ? new ApiError(400, e.message, 'invalid_request_error', 'context_length_exceeded', route === 'chat' ? 'messages' : 'prompt')
      : new ApiError(500, `generation failed: ${(e as Error).message}`);
    if (err.status >= 500) d.logger.error({ err: e }, 'request failed');
    if (!res.headersSent) sendJson(res, err.status, err.body(), loadHeaders(d.queue));
    else res.destroy();
  } finally {
    release?.();
  }
}
