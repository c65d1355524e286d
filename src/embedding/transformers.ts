/**
 * Sentence embeddings with `@xenova/transformers` (ONNX Runtime on the CPU):
 * feature extraction, mean pooling, L2 normalisation.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importOptional } from '../optional-module.js';
import type { Embedder } from './embedder.js';

/** Options for {@link TransformersEmbedder}. */
export interface TransformersEmbedderOptions {
  /** Hugging Face model id. Default `Xenova/all-MiniLM-L6-v2` (384-d). */
  model?: string;
  /**
   * Folder holding models as `<localPath>/<model>/` (config.json, tokenizer.json,
   * tokenizer_config.json, onnx/model_quantized.onnx). Default `./models`.
   */
  localPath?: string;
  /** Let transformers.js download the model from the Hugging Face hub when it is not local. Default false. */
  allowRemote?: boolean;
  /** Use the 8-bit quantised ONNX file (`onnx/model_quantized.onnx`). Default true. */
  quantized?: boolean;
}

type Extractor = ((texts: string[], opts: { pooling: 'mean'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>) & {
  model?: { config?: { hidden_size?: number } };
};

/** The part of @xenova/transformers used here (an optional peer dependency: the gateway builds without it). */
interface TransformersApi {
  env: { localModelPath: string; allowLocalModels: boolean; allowRemoteModels: boolean };
  pipeline(task: 'feature-extraction', model: string, o: { quantized: boolean; local_files_only: boolean }): Promise<unknown>;
}

/**
 * Embedder running a sentence-transformers model locally with transformers.js.
 *
 * No hub is contacted unless `allowRemote` is true: put the model files under
 * `localPath` first, for instance by copying the `Xenova/all-MiniLM-L6-v2`
 * repository (config.json, tokenizer.json, tokenizer_config.json and
 * onnx/model_quantized.onnx) from a machine that can reach the hub to
 * `./models/Xenova/all-MiniLM-L6-v2/`.
 *
 * @example
 * ```ts
 * const embedder = new TransformersEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', localPath: '/srv/models' });
 * await embedder.ready(); // rejects with the path it looked in when the files are missing
 * const [v] = await embedder.embed(['How do I learn Python?']); // 384-d, unit length
 * ```
 */
export class TransformersEmbedder implements Embedder {
  readonly id: string;
  private _dim = 0;
  private readonly model: string;
  private readonly localPath: string;
  private readonly allowRemote: boolean;
  private readonly quantized: boolean;
  private loading: Promise<Extractor> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: TransformersEmbedderOptions = {}) {
    this.model = opts.model ?? 'Xenova/all-MiniLM-L6-v2';
    this.localPath = resolve(opts.localPath ?? 'models');
    this.allowRemote = opts.allowRemote ?? false;
    this.quantized = opts.quantized ?? true;
    this.id = `transformers:${this.model}`;
  }

  get dim(): number {
    return this._dim;
  }

  async ready(): Promise<void> {
    await this.extractor();
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const extractor = await this.extractor();
    const run = this.queue.then(() => extractor(texts, { pooling: 'mean', normalize: true }));
    this.queue = run.catch(() => undefined);
    const out = await run;
    const dim = out.dims[out.dims.length - 1]!;
    return texts.map((_, i) => Float32Array.from(out.data.subarray(i * dim, (i + 1) * dim)));
  }

  private extractor(): Promise<Extractor> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<Extractor> {
    const dir = join(this.localPath, this.model);
    const file = this.quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
    const howTo =
      `Copy the model repository's config.json, tokenizer.json, tokenizer_config.json and ${file} ` +
      `into ${dir}/ (or set localPath to the folder that holds ${this.model}/), or set allowRemote: true where the hub is reachable.`;
    if (!this.allowRemote) {
      const missing: string[] = [];
      for (const f of ['config.json', 'tokenizer.json', file]) {
        await access(join(dir, f)).catch(() => missing.push(f));
      }
      if (missing.length > 0) {
        throw new Error(
          `transformers embedder: model "${this.model}" is not available locally: ${missing.join(', ')} missing in ${dir}, ` +
            `and downloading is off (allowRemote: false). ${howTo}`,
        );
      }
    }
    const lib = await importOptional<TransformersApi>('@xenova/transformers');
    // transformers.js keeps these settings in one global; set them right before loading.
    lib.env.localModelPath = this.localPath.endsWith('/') ? this.localPath : `${this.localPath}/`;
    lib.env.allowLocalModels = true;
    lib.env.allowRemoteModels = this.allowRemote;
    try {
      const extractor = (await lib.pipeline('feature-extraction', this.model, {
        quantized: this.quantized,
        local_files_only: !this.allowRemote,
      })) as unknown as Extractor;
      this._dim = extractor.model?.config?.hidden_size ?? 0;
      if (this._dim === 0) this._dim = (await extractor(['dim probe'], { pooling: 'mean', normalize: true })).dims.at(-1)!;
      return extractor;
    } catch (err) {
      throw new Error(`transformers embedder: could not load model "${this.model}" from ${dir}: ${String(err)}. ${howTo}`);
    }
  }
}
