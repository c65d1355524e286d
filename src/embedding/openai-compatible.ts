/**
 * Embeddings from any server that speaks OpenAI's `POST /embeddings`
 * (OpenAI, vLLM, llama.cpp server, Ollama, TEI, LiteLLM, ...), with plain fetch.
 */
import type { Embedder } from './embedder.js';

/** Options for {@link OpenAICompatibleEmbedder}. */
export interface OpenAICompatibleEmbedderOptions {
  /** Base URL including the version prefix, e.g. `https://api.openai.com/v1`; `/embeddings` is appended. */
  baseUrl: string;
  /** Model name sent in the request body. */
  model: string;
  /** Name of the environment variable holding the API key (sent as `Authorization: Bearer`). */
  apiKeyEnv?: string;
  /** Expected vector length. Known up front when given (responses of another length are errors); otherwise learnt by `ready()`. */
  dim?: number;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

interface EmbeddingsResponse {
  data?: Array<{ embedding?: unknown; index?: number }>;
}

/**
 * @example
 * ```ts
 * const embedder = new OpenAICompatibleEmbedder({
 *   baseUrl: 'https://api.openai.com/v1', model: 'text-embedding-3-small', apiKeyEnv: 'OPENAI_API_KEY',
 * });
 * await embedder.ready(); // probes the server once to learn `dim` when it was not given
 * const [v] = await embedder.embed(['hello']);
 * ```
 */
export class OpenAICompatibleEmbedder implements Embedder {
  readonly id: string;
  private _dim: number;
  private readonly url: string;
  private readonly timeoutMs: number;
  private probing: Promise<void> | undefined;

  constructor(private readonly opts: OpenAICompatibleEmbedderOptions) {
    if (!opts.baseUrl) throw new Error('openai-compatible embedder: baseUrl is required');
    if (!opts.model) throw new Error('openai-compatible embedder: model is required');
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/embeddings`;
    this.id = `openai-compatible:${opts.model}`;
    this._dim = opts.dim ?? 0;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get dim(): number {
    return this._dim;
  }

  ready(): Promise<void> {
    if (this._dim > 0) {
      try {
        this.apiKey(); // fail early on a missing key
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    this.probing ??= this.embed(['ping']).then(
      () => undefined,
      (err: unknown) => {
        this.probing = undefined;
        throw err;
      },
    );
    return this.probing;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.opts.headers };
    const key = this.apiKey();
    if (key) headers.authorization = `Bearer ${key}`;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.opts.model, input: texts, encoding_format: 'float' }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new Error(`${this.id}: POST ${this.url} failed: ${errorText(err)}`);
    }
    if (!res.ok) {
      const body = (await res.text().catch(() => '')).slice(0, 500);
      throw new Error(`${this.id}: POST ${this.url} returned HTTP ${res.status}${body ? `: ${body}` : ''}`);
    }
    let json: EmbeddingsResponse;
    try {
      json = (await res.json()) as EmbeddingsResponse;
    } catch (err) {
      throw new Error(`${this.id}: POST ${this.url} returned a body that is not JSON: ${errorText(err)}`);
    }
    return this.parse(json, texts.length);
  }

  private parse(json: EmbeddingsResponse, expected: number): Float32Array[] {
    const data = json.data;
    if (!Array.isArray(data) || data.length !== expected) {
      throw new Error(`${this.id}: expected ${expected} embeddings in "data", got ${Array.isArray(data) ? data.length : 'none'}`);
    }
    const out: Float32Array[] = new Array<Float32Array>(expected);
    data.forEach((item, pos) => {
      const i = typeof item.index === 'number' ? item.index : pos;
      const e = item.embedding;
      if (!Array.isArray(e) || e.length === 0 || !e.every((x) => typeof x === 'number')) {
        throw new Error(`${this.id}: embedding ${i} is not an array of numbers (was encoding_format honoured?)`);
      }
      if (i < 0 || i >= expected || out[i]) throw new Error(`${this.id}: bad or repeated embedding index ${i}`);
      out[i] = normalize(Float32Array.from(e as number[]));
    });
    const dim = out[0]!.length;
    if (out.some((v) => v.length !== dim)) throw new Error(`${this.id}: embeddings of different lengths in one response`);
    if (this._dim === 0) this._dim = dim;
    else if (dim !== this._dim) throw new Error(`${this.id}: expected ${this._dim}-d vectors, got ${dim}-d`);
    return out;
  }

  private apiKey(): string | undefined {
    const env = this.opts.apiKeyEnv;
    if (!env) return undefined;
    const key = process.env[env];
    if (!key) throw new Error(`${this.id}: environment variable ${env} (apiKeyEnv) is not set`);
    return key;
  }
}

function normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0)) throw new Error('openai-compatible embedder: got a zero vector');
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
