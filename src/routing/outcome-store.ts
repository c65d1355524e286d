/**
 * Where the learned router's online outcomes persist: a Redis stream shared
 * by every gateway instance (each appends; each reads the others' entries
 * every `syncMs`), a JSON-lines file, or nowhere. Vectors travel as int8
 * (512 bytes for USE-Lite). The Redis connection is the shared one
 * (`acquireRedis`: single node or cluster, breaker, /healthz); the stream is
 * one key, so a cluster serves it. Every Redis call has a deadline; a late or
 * failed call is skipped (learning pauses, routing goes on) and reported.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RoutingLearnedConfig } from '../config/routing-learned.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import { dequantize, quantize } from './learned-model.js';

/** An outcome as stored. */
export interface StoredOutcome {
  vector: Float32Array;
  tier: string;
  score: number;
  /** `*` or `t:<tenant>`. */
  scope: string;
  at: number;
  /** The int8 codes read from the store (the vector's identity in a graph snapshot). */
  codes?: Int8Array;
}

/** A persistence backend for outcomes. */
export interface OutcomeStore {
  /** Stored outcomes, oldest first (empty when unreachable). */
  load(): Promise<StoredOutcome[]>;
  /** Persists soon; never blocks or throws. */
  append(o: StoredOutcome): void;
  /** Outcomes other instances added since the last load or poll (Redis only). */
  poll(): Promise<StoredOutcome[]>;
  close(): Promise<void>;
}

/** Failures, for the log. */
export type OutcomeStoreErrorHandler = (err: Error, op: string) => void;

interface Wire {
  v: string;
  tier: string;
  score: number;
  scope: string;
  at: number;
}

function toWire(o: StoredOutcome): string {
  const q = o.codes ?? quantize(o.vector);
  return JSON.stringify({ v: Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64'), tier: o.tier, score: o.score, scope: o.scope, at: o.at } satisfies Wire);
}

function fromWire(text: string): StoredOutcome | undefined {
  try {
    const w = JSON.parse(text) as Partial<Wire>;
    if (typeof w.v !== 'string' || typeof w.tier !== 'string' || typeof w.scope !== 'string' || !(typeof w.score === 'number' && w.score >= 0 && w.score <= 1) || !Number.isFinite(w.at)) return undefined;
    const b = Buffer.from(w.v, 'base64');
    if (b.length === 0) return undefined;
    const codes = Int8Array.from(new Int8Array(b.buffer, b.byteOffset, b.length));
    return { vector: dequantize(codes), tier: w.tier, score: w.score, scope: w.scope, at: w.at!, codes };
  } catch {
    return undefined;
  }
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

class MemoryOutcomeStore implements OutcomeStore {
  async load(): Promise<StoredOutcome[]> {
    return [];
  }
  append(): void {}
  async poll(): Promise<StoredOutcome[]> {
    return [];
  }
  async close(): Promise<void> {}
}

class FileOutcomeStore implements OutcomeStore {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly max: number,
    private readonly flushMs: number,
    private readonly onError: OutcomeStoreErrorHandler,
  ) {}

  async load(): Promise<StoredOutcome[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(asError(e), 'load');
      return [];
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const out = lines.slice(-this.max).flatMap((l) => fromWire(l) ?? []);
    // Compact: the file keeps at most twice the bound between restarts.
    if (lines.length > this.max) {
      try {
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, out.map((o) => `${toWire(o)}\n`).join(''));
        await rename(tmp, this.file);
      } catch (e) {
        this.onError(asError(e), 'compact');
      }
    }
    return out;
  }

  append(o: StoredOutcome): void {
    this.pending.push(`${toWire(o)}\n`);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.pending.join('');
    this.pending = [];
    if (lines === '') return this.writing;
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true });
        await appendFile(this.file, lines);
      } catch (e) {
        this.onError(asError(e), 'save');
      }
    });
    return this.writing;
  }

  async poll(): Promise<StoredOutcome[]> {
    return [];
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

class RedisOutcomeStore implements OutcomeStore {
  private readonly lease: RedisLease;
  private lastId = '0-0';
  private readonly own = new Set<string>();
  private pending: string[] = [];
  private flushing: Promise<void> | undefined;
  private readonly key: string;
  private readonly connectMs: number;

  constructor(
    cfg: RoutingLearnedConfig['redis'],
    private readonly max: number,
    private readonly onError: OutcomeStoreErrorHandler,
  ) {
    this.key = cfg.key;
    this.connectMs = Math.max(cfg.commandTimeoutMs, 1_000);
    this.lease = acquireRedis('learned', cfg, (err) => onError(err, 'redis'));
  }

  /** Connects, within the connect deadline (the connection goes on reconnecting in the background). */
  private async ready(): Promise<boolean> {
    return this.lease.store.ready(this.connectMs);
  }

  private async range(from: string): Promise<StoredOutcome[]> {
    const out: StoredOutcome[] = [];
    let start = from;
    for (;;) {
      const page = await this.lease.store.call('learned-range', (c) => c.xRange(this.key, start, '+', { COUNT: 1_000 }));
      for (const e of page) {
        this.lastId = e.id;
        if (this.own.delete(e.id)) continue;
        const o = fromWire(String(e.message['o'] ?? ''));
        if (o) out.push(o);
      }
      if (page.length < 1_000) return out;
      start = `(${page[page.length - 1]!.id}`;
    }
  }

  async load(): Promise<StoredOutcome[]> {
    try {
      if (!(await this.ready())) throw new Error(`no connection within ${this.connectMs}ms`);
      return await this.range('-');
    } catch (e) {
      this.onError(asError(e), 'load');
      return [];
    }
  }

  async poll(): Promise<StoredOutcome[]> {
    try {
      if (!this.lease.store.available) return [];
      return await this.range(`(${this.lastId}`);
    } catch (e) {
      this.onError(asError(e), 'poll');
      return [];
    }
  }

  append(o: StoredOutcome): void {
    this.pending.push(toWire(o));
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        for (const o of batch) {
          const id = await this.lease.store.call('learned-append', (c) =>
            c.xAdd(this.key, '*', { o }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.max } }),
          );
          this.own.add(id);
        }
      } catch (e) {
        this.onError(asError(e), 'save'); // skipped, not retried: a paused learner is fine, a growing backlog is not
        return;
      }
    }
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.lease.release();
  }
}

/**
 * Opens the configured outcome store.
 *
 * @example
 * const store = openOutcomeStore(cfg.routing.learned, (err, op) => log.warn({ op, reason: err.message }, 'learned routing store'));
 * for (const o of await store.load()) learned.restore(o);
 */
export function openOutcomeStore(cfg: RoutingLearnedConfig, onError: OutcomeStoreErrorHandler = () => undefined): OutcomeStore {
  if (cfg.store === 'redis') return new RedisOutcomeStore(cfg.redis, cfg.maxOutcomes, onError);
  if (cfg.store === 'file') return new FileOutcomeStore(cfg.file!, cfg.maxOutcomes, cfg.flushMs, onError);
  return new MemoryOutcomeStore();
}
