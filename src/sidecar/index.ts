/**
 * `switchyard sidecar`: a local llama.cpp server on node-llama-cpp with the
 * OpenAI-compatible API subset of llama.cpp's own `llama-server`, so either
 * can sit behind the router's `local` upstream. It loads and warms the model
 * before it listens: once the port answers, the model is ready.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createLimitedServer, type ServerLimitsInput } from '../adapters/node/limits.js';
import { LlamaEngine } from './engine.js';
import { createSidecarHandler } from './http.js';
import { createSidecarMetrics } from './metrics.js';
import { SlotQueue } from './queue.js';

/** Options of {@link startSidecar}; the CLI flags map one to one. */
export interface SidecarOptions {
  /** The GGUF model file. */
  modelPath: string;
  /** Default 8081 (0: any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** CPU threads for evaluation; default 1. */
  threads?: number;
  /** Tokens of context per slot; default 2048. */
  contextSize?: number;
  /** Requests allowed to wait for a slot; beyond it, 503. Default 16. */
  queueSize?: number;
  /** Requests generated at once (context sequences). Default 1. */
  parallel?: number;
  /** The model id in `/v1/models` and answers; default the file name without `.gguf`. */
  alias?: string;
  /** Serve `/v1/embeddings` (creates an embedding context). Default true. */
  embeddings?: boolean;
  /** max_tokens when a request gives none. Default 512. */
  defaultMaxTokens?: number;
  /** temperature when a request gives none (llama-server's default). Default 0.8. */
  defaultTemperature?: number;
  /** Largest request body. Default 16 MiB. */
  bodyLimitBytes?: number;
  /** Slow-client and connection limits; default the gateway's (`DEFAULT_SERVER_LIMITS`: headers 10 s, whole request 30 s, ...). */
  limits?: ServerLimitsInput;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests don't). */
  signals?: boolean;
}

/** A running sidecar. */
export interface RunningSidecar {
  server: Server;
  engine: LlamaEngine;
  queue: SlotQueue;
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:8081`. */
  url: string;
  port: number;
  /** Milliseconds spent loading and warming the model. */
  loadMs: number;
  close(): Promise<void>;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Loads the model, warms it, then listens.
 *
 * @example
 * const sc = await startSidecar({ modelPath: 'model.gguf', port: 8081, threads: 4 });
 * // POST `${sc.url}/v1/chat/completions`
 * await sc.close();
 */
export async function startSidecar(o: SidecarOptions): Promise<RunningSidecar> {
  const log = o.logger ?? pino({ level: process.env.SWITCHYARD_LOG_LEVEL ?? 'info', base: { service: 'switchyard-sidecar' } });
  const parallel = positiveInt('parallel', o.parallel ?? 1);
  const threads = positiveInt('threads', o.threads ?? 1);
  const contextSize = positiveInt('contextSize', o.contextSize ?? 2048);
  const queueSize = o.queueSize ?? 16;
  if (!Number.isInteger(queueSize) || queueSize < 0) throw new RangeError(`queueSize must be a non-negative integer, got ${queueSize}`);

  const t0 = performance.now();
  const engine = await LlamaEngine.load({
    modelPath: o.modelPath,
    threads,
    contextSize,
    parallel,
    embeddings: o.embeddings ?? true,
    log: (level, message) => log[level]({ source: 'llama.cpp' }, message),
  });
  const loadMs = performance.now() - t0;
  const queue = new SlotQueue(parallel, queueSize);
  const metrics = createSidecarMetrics(queue);
  const modelId = o.alias ?? engine.name;
  const server = createLimitedServer(
    o.limits ?? {},
    createSidecarHandler({
      engine,
      queue,
      metrics,
      modelId,
      defaults: { maxTokens: o.defaultMaxTokens ?? 512, temperature: o.defaultTemperature ?? 0.8 },
      bodyLimitBytes: o.bodyLimitBytes ?? 16 * 1024 * 1024,
      logger: log,
      retryAfterSeconds: 1,
    }),
  );

  const host = o.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 8081, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await engine.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, model: modelId, loadMs: Math.round(loadMs), threads, contextSize, parallel, queueSize }, 'sidecar ready');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      await engine.close();
    })());

  if (o.signals) {
    const stop = (sig: string) => {
      log.info({ signal: sig }, 'sidecar shutting down');
      void close().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  }
  return { server, engine, queue, url, port, loadMs, close };
}

export { SlotQueue, QueueFullError } from './queue.js';
export type { LlamaEngine } from './engine.js';
