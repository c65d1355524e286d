/**
 * Runs an in-process embedding model on a `worker_threads` worker, so that
 * embedding a batch never blocks the event loop that serves requests.
 *
 * The batcher (and its queue bounds) stays on the main thread and sends whole
 * batches here; the worker embeds them one after another and transfers each
 * vector's buffer back (no copy). The worker is unreferenced while idle: it
 * never keeps the process alive on its own.
 *
 * Faults: a worker that cannot start rejects `ready()` with a clear error
 * (or, when configured, the embedder falls back to running in-thread); a
 * worker that dies or hangs mid-batch rejects every call in flight at once
 * and is restarted in the background with a doubling back-off, calls during
 * the back-off failing fast instead of waiting.
 */
import { Worker } from 'node:worker_threads';
import type { Embedder } from './embedder.js';

/** Main thread → worker. */
export type WorkerRequest = { type: 'embed'; id: number; texts: string[] };
/** Worker → main thread. */
export type WorkerReply =
  | { type: 'ready'; dim: number }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; vectors: Float32Array[] }
  | { type: 'error'; id: number; message: string };

/** Options of {@link WorkerEmbedder}. */
export interface WorkerEmbedderOptions {
  /** Model id (as the in-thread embedder's). */
  id: string;
  /** Vector length (as the in-thread embedder's). */
  dim: number;
  /** Worker module: a `.js` file, or a `.ts` file when running from source (loaded through tsx). */
  entry: URL;
  /** Passed to the worker as `workerData`. */
  workerData?: unknown;
  /** An in-thread embedder to use instead when the worker cannot start (configured fallback); default none. */
  fallback?: () => Embedder;
  /** A call not answered within this long is taken as a hung worker: it is terminated and restarted. Default 60 s. */
  callTimeoutMs?: number;
  /** First restart delay after a crash; doubles per failure up to `maxBackoffMs`. Default 250 ms. */
  minBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
}

interface Call {
  resolve(v: Float32Array[]): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  n: number;
}

/**
 * An {@link Embedder} whose model runs on a worker thread.
 *
 * @example
 * ```ts
 * const embedder = new WorkerEmbedder({ id: 'use-lite', dim: 512, entry: useLiteWorkerEntry() });
 * await embedder.ready();
 * const [v] = await embedder.embed(['How do I learn Python?']); // the event loop stays free meanwhile
 * await embedder.close(); // terminates the worker
 * ```
 */
export class WorkerEmbedder implements Embedder {
  readonly id: string;
  readonly dim: number;
  /** Workers that died or were terminated as hung, since start. */
  crashes = 0;
  /** Worker starts after the first one came up (restarts after crashes). */
  restarts = 0;
  private current: Worker | undefined;
  /** The worker being started or running (terminated by `close`). */
  private spawned: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private everUp = false;
  private inThread: Embedder | undefined;
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly callTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: WorkerEmbedderOptions) {
    this.id = opts.id;
    this.dim = opts.dim;
    this.callTimeoutMs = opts.callTimeoutMs ?? 60_000;
    this.minBackoffMs = opts.minBackoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.backoffMs = this.minBackoffMs;
  }

  /** `worker` while the model runs on a worker thread, `in-thread` after a configured fallback. */
  get mode(): 'worker' | 'in-thread' {
    return this.inThread ? 'in-thread' : 'worker';
  }

  /** The live worker, if any (diagnostics and fault tests). */
  get worker(): Worker | undefined {
    return this.current;
  }

  async ready(): Promise<void> {
    if (this.inThread) return this.inThread.ready();
    if (this.current) return;
    try {
      await this.start();
    } catch (err) {
      if (!this.opts.fallback || this.closed) throw err;
      this.inThread ??= this.opts.fallback();
      await this.inThread.ready();
    }
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    if (this.inThread) return this.inThread.embed(texts);
    let w = this.current;
    if (!w) {
      // The first start is awaited (as an in-thread model's load would be); after a crash, calls fail fast.
      if (this.everUp || this.closed) throw new Error(`${this.id}: embedding worker ${this.closed ? 'closed' : 'restarting after a crash'}`);
      await this.ready();
      const fallback = this.inThread as Embedder | undefined; // set by ready() when the worker could not start
      if (fallback) return fallback.embed(texts);
      w = this.current!;
    }
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const timer = setTimeout(() => this.hung(w, id), this.callTimeoutMs);
      timer.unref();
      this.calls.set(id, { resolve, reject, timer, n: texts.length });
      if (this.calls.size === 1) w.ref(); // work in flight keeps the process alive until answered
      w.postMessage({ type: 'embed', id, texts } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.spawned;
    this.current = undefined;
    this.spawned = undefined;
    this.failAll(new Error(`${this.id}: embedder closed`));
    await w?.terminate();
    await this.inThread?.close?.();
  }

  private start(): Promise<Worker> {
    if (this.closed) return Promise.reject(new Error(`${this.id}: embedder closed`));
    if (this.starting) return this.starting;
    // An explicit ready() during a back-off starts the worker now.
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (this.everUp) this.restarts++;
    this.starting = new Promise<Worker>((resolve, reject) => {
      let w: Worker;
      try {
        w = spawn(this.opts.entry, this.opts.workerData);
      } catch (err) {
        reject(new Error(`${this.id}: could not start the embedding worker: ${errMessage(err)}`));
        return;
      }
      this.spawned = w;
      let up = false;
      let lastError: Error | undefined;
      // Referenced while the model loads (a caller awaits it), unreferenced once idle.
      w.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          up = true;
          this.everUp = true;
          if (this.closed) {
            void w.terminate();
            return reject(new Error(`${this.id}: embedder closed`));
          }
          this.current = w;
          if (this.calls.size === 0) w.unref();
          resolve(w);
        } else if (m.type === 'fatal') {
          lastError = new Error(`${this.id}: the embedding worker could not load the model: ${m.message}`);
          void w.terminate();
        } else this.answer(m);
      });
      w.on('error', (err) => {
        lastError = err;
      });
      w.on('exit', (code) => {
        if (this.spawned === w) this.spawned = undefined;
        if (!up) {
          this.starting = undefined;
          reject(lastError?.message.startsWith(`${this.id}:`) ? lastError : new Error(`${this.id}: the embedding worker failed to start (exit code ${code})${lastError ? `: ${lastError.message}` : ''}`));
          if (this.everUp) this.scheduleRestart();
          return;
        }
        this.exited(w, code, lastError);
      });
    });
    return this.starting;
  }

  private answer(m: Extract<WorkerReply, { id: number }>): void {
    const call = this.calls.get(m.id);
    if (!call) return;
    this.settle(m.id, call);
    if (m.type === 'result') {
      this.backoffMs = this.minBackoffMs;
      call.resolve(m.vectors);
    } else call.reject(new Error(m.message));
  }

  private settle(id: number, call: Call): void {
    clearTimeout(call.timer);
    this.calls.delete(id);
    if (this.calls.size === 0) this.current?.unref();
  }

  /** A call took longer than `callTimeoutMs`: the worker is stuck; terminating it fails every call in flight. */
  private hung(w: Worker, id: number): void {
    if (!this.calls.has(id) || w !== this.current) return;
    void w.terminate();
  }

  private exited(w: Worker, code: number, err: Error | undefined): void {
    if (w !== this.current) return;
    this.current = undefined;
    this.starting = undefined;
    if (this.closed) return;
    this.crashes++;
    const texts = [...this.calls.values()].reduce((s, c) => s + c.n, 0);
    this.failAll(new Error(`${this.id}: embedding worker exited (code ${code}${err ? `: ${err.message}` : ''}) with ${texts} texts in flight`));
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closed || this.restartTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start().catch(() => undefined); // a failed restart schedules the next one (exit handler)
    }, delay);
    this.restartTimer.unref();
  }

  private failAll(err: Error): void {
    const calls = [...this.calls];
    for (const [id, call] of calls) {
      this.settle(id, call);
      call.reject(err);
    }
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts a worker on `entry`. From the built package that is a `.js` module; when Switchyard runs
 * from its TypeScript sources (tests, `tsx`), the worker registers tsx first so it can load `.ts`.
 */
function spawn(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** The USE Lite worker module next to this file (`.ts` when running from source). */
export function useLiteWorkerEntry(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./use-lite-worker.${ext}`, import.meta.url);
}
