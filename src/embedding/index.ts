/**
 * Embedders for the semantic cache, built from configuration.
 */
import { embeddingSchema, type EmbeddingConfig, type EmbeddingConfigInput } from '../config/embedding.js';
import { BatchingEmbedder } from './batcher.js';
import type { Embedder } from './embedder.js';
import { OpenAICompatibleEmbedder } from './openai-compatible.js';
import { TransformersEmbedder } from './transformers.js';
import { UseLiteEmbedder } from './use-lite.js';
import { useLiteWorkerEntry, WorkerEmbedder } from './worker.js';

export type { Embedder } from './embedder.js';
export { BatchingEmbedder, EmbedderBusyError, type BatchOptions } from './batcher.js';
export { OpenAICompatibleEmbedder, type OpenAICompatibleEmbedderOptions } from './openai-compatible.js';
export { TransformersEmbedder, type TransformersEmbedderOptions } from './transformers.js';
export { UseLiteEmbedder, type UseLiteOptions } from './use-lite.js';
export { WorkerEmbedder, useLiteWorkerEntry, type WorkerEmbedderOptions } from './worker.js';

/** Options of {@link createEmbedder}. */
export interface CreateEmbedderOptions {
  /** Apply `batch.maxQueue` / `batch.maxQueueWaitMs` (the cache's request path does); default false: unbounded. */
  boundQueue?: boolean;
}

/**
 * Builds the configured embedder, wrapped in a {@link BatchingEmbedder}
 * unless `batch.maxBatch` is 1. Nothing is loaded until `ready()` or `embed()`.
 *
 * @example
 * ```ts
 * const embedder = createEmbedder({ kind: 'use-lite' });
 * await embedder.ready();
 * ```
 */
export function createEmbedder(cfg: EmbeddingConfig | EmbeddingConfigInput = { kind: 'use-lite' }, opts: CreateEmbedderOptions = {}): Embedder {
  const c = embeddingSchema.parse(cfg);
  let inner: Embedder;
  switch (c.kind) {
    case 'use-lite':
      inner = c.worker
        ? new WorkerEmbedder({
            id: 'use-lite',
            dim: 512,
            entry: useLiteWorkerEntry(),
            ...(c.workerFallback ? { fallback: () => new UseLiteEmbedder() } : {}),
          })
        : new UseLiteEmbedder();
      break;
    case 'transformers':
      inner = new TransformersEmbedder({
        model: c.model,
        localPath: c.localPath,
        allowRemote: c.allowRemote,
        quantized: c.quantized,
      });
      break;
    case 'openai-compatible':
      inner = new OpenAICompatibleEmbedder({
        baseUrl: c.baseUrl,
        model: c.model,
        apiKeyEnv: c.apiKeyEnv,
        dim: c.dim,
        timeoutMs: c.timeoutMs,
        headers: c.headers,
      });
      break;
  }
  if (c.batch.maxBatch <= 1) return inner;
  const { maxBatch, maxWaitMs, maxQueue, maxQueueWaitMs } = c.batch;
  // The queue bound is for the request path (a lookup must not wait); offline callers (evaluations, benchmarks) queue freely.
  return new BatchingEmbedder(inner, opts.boundQueue ? { maxBatch, maxWaitMs, maxQueue, maxQueueWaitMs } : { maxBatch, maxWaitMs });
}
