/**
 * An embedding model. Implementations: `use-lite` (default, shipped weights),
 * `transformers` (@xenova/transformers), `openai-compatible` (any /v1/embeddings).
 * Vectors are L2-normalised, so cosine similarity is a dot product.
 */
export interface Embedder {
  /** Stable id of the model, e.g. `use-lite`; stored with cache entries so vectors of different models never mix. */
  readonly id: string;
  /** Vector length. Known after `ready()` resolves. */
  readonly dim: number;
  /** Loads the model (idempotent). Rejects with a clear error when the model cannot be loaded. */
  ready(): Promise<void>;
  /** Embeds texts; one vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  close?(): Promise<void>;
}
