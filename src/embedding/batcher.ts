/**
 * Micro-batching: concurrent `embed` calls that arrive within a short window
 * are merged into one call of the wrapped embedder, because a model embeds a
 * batch of 32 far faster than 32 single texts.
 *
 * The queue is bounded: past `maxQueue` texts waiting or being embedded, a
 * call fails at once with {@link EmbedderBusyError} instead of waiting behind
 * the others (the semantic cache then skips its lookup; see src/cache).
 */
import type { Embedder } from './embedder.js';

/**
 * Thrown (as a rejection, at once) by {@link BatchingEmbedder.embed} when its
 * queue is full: the caller should go on without the embedding.
 */
export class EmbedderBusyError extends Error {
  readonly code = 'embedder_busy';
  constructor(queued: number, maxQueue: number, expectedWaitMs: number) {
    super(`embedder busy: ${queued} texts queued (maxQueue ${maxQueue}, expected wait ${Math.round(expectedWaitMs)} ms)`);
    this.name = 'EmbedderBusyError';
  }
}

/** Options for {@link BatchingEmbedder}. */
export interface BatchOptions {
  /** Most distinct texts per inner call; a full batch is sent at once. Default 32. */
  maxBatch?: number;
  /** Longest wait for more texts after the first one arrives. Default 2 ms. */
  maxWaitMs?: number;
  /**
   * Most texts waiting or being embedded; a call that would go past it is
   * refused with {@link EmbedderBusyError}. A call alone may bring more. Default unbounded.
   */
  maxQueue?: number;
  /**
   * Longest expected wait: a call is refused when the texts ahead of it and its own, at the
   * measured time per text (a moving average of the inner calls), would take longer. Default unbounded.
   */
  maxQueueWaitMs?: number;
}

interface Waiter {
  texts: string[];
  resolve(vectors: Float32Array[]): void;
  reject(err: unknown): void;
}

/**
 * Wraps an {@link Embedder} so that calls within `maxWaitMs` share one inner
 * call of at most `maxBatch` distinct texts. Identical texts are embedded
 * once; an inner failure rejects every caller whose texts were in that flush.
 *
 * @example
 * ```ts
 * const embedder = new BatchingEmbedder(new UseLiteEmbedder(), { maxBatch: 32, maxWaitMs: 2 });
 * const [[a], [b]] = await Promise.all([embedder.embed(['x']), embedder.embed(['y'])]); // one inner call
 * ```
 */
export class BatchingEmbedder implements Embedder {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly maxQueueWaitMs: number;
  /** Texts accepted and not yet answered (waiting or in an inner call). */
  private outstanding = 0;
  /** Moving average of inner-call time per text, ms (0 until measured). */
  private msPerText = 0;
  private pending: Waiter[] = [];
  private pendingTexts = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly inner: Embedder,
    opts: BatchOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 32;
    this.maxWaitMs = opts.maxWaitMs ?? 2;
    this.maxQueue = opts.maxQueue ?? Infinity;
    this.maxQueueWaitMs = opts.maxQueueWaitMs ?? Infinity;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new Error('BatchingEmbedder: maxBatch must be a positive integer');
    if (!(this.maxWaitMs >= 0)) throw new Error('BatchingEmbedder: maxWaitMs must be >= 0');
    if (!(this.maxQueue >= 1)) throw new Error('BatchingEmbedder: maxQueue must be >= 1');
    if (!(this.maxQueueWaitMs > 0)) throw new Error('BatchingEmbedder: maxQueueWaitMs must be > 0');
  }

  /** Expected time to embed `n` more texts behind the queue, ms (0 until an inner call was timed). */
  expectedWaitMs(n = 1): number {
    return (this.outstanding + n) * this.msPerText;
  }

  /** Texts waiting or being embedded now. */
  get queued(): number {
    return this.outstanding;
  }

  get id(): string {
    return this.inner.id;
  }

  get dim(): number {
    return this.inner.dim;
  }

  ready(): Promise<void> {
    return this.inner.ready();
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (this.outstanding > 0 && (this.outstanding + texts.length > this.maxQueue || this.expectedWaitMs(texts.length) > this.maxQueueWaitMs)) {
      return Promise.reject(new EmbedderBusyError(this.outstanding, this.maxQueue, this.expectedWaitMs(texts.length)));
    }
    this.outstanding += texts.length;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const n = texts.length;
      this.pending.push({
        texts,
        resolve: (v) => {
          this.outstanding -= n;
          resolve(v);
        },
        reject: (e) => {
          this.outstanding -= n;
          reject(e);
        },
      });
      for (const t of texts) this.pendingTexts.add(t);
      if (this.pendingTexts.size >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  async close(): Promise<void> {
    this.flush();
    await this.inner.close?.();
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.pending;
    const unique = [...this.pendingTexts];
    this.pending = [];
    this.pendingTexts = new Set();
    if (waiters.length > 0) void this.run(waiters, unique);
  }

  private async run(waiters: Waiter[], unique: string[]): Promise<void> {
    try {
      const byText = new Map<string, Float32Array>();
      // A single caller may bring more than maxBatch texts: chunk, one inner call at a time.
      for (let i = 0; i < unique.length; i += this.maxBatch) {
        const chunk = unique.slice(i, i + this.maxBatch);
        const t0 = performance.now();
        const vectors = await this.inner.embed(chunk);
        const per = (performance.now() - t0) / chunk.length;
        this.msPerText = this.msPerText === 0 ? per : 0.8 * this.msPerText + 0.2 * per;
        if (vectors.length !== chunk.length) {
          throw new Error(`${this.inner.id}: embedder returned ${vectors.length} vectors for ${chunk.length} texts`);
        }
        chunk.forEach((t, j) => byText.set(t, vectors[j]!));
      }
      const handedOut = new Set<Float32Array>();
      for (const w of waiters) {
        w.resolve(
          w.texts.map((t) => {
            const v = byText.get(t)!;
            // Callers own their vectors: a text shared by two callers gets a copy.
            if (handedOut.has(v)) return v.slice();
            handedOut.add(v);
            return v;
          }),
        );
      }
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }
}
