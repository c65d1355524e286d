/**
 * Where shadow results go and where the report reads them: a Redis stream
 * (`XADD <stream> MAXLEN ~ n * record <json>`, read back page by page with
 * XRANGE) or a JSONL file (appended one line per result). Writes happen off
 * the request path; a failed write is reported, never thrown.
 */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { ShadowStoreConfig } from '../config/shadow.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import type { RedisStore } from '../store/redis.js';
import { isShadowResult, type ShadowResult } from './result.js';

/** A place for shadow results. */
export interface ShadowStore {
  readonly kind: 'redis-stream' | 'jsonl';
  /** Resolves once the store can take commands (Redis connected, or a few seconds of trying). */
  ready(): Promise<void>;
  /** Appends one result; resolves false when it could not be written. */
  write(r: ShadowResult): Promise<boolean>;
  /** Every stored result, oldest first, optionally only those written since `sinceMs` (ms since epoch). */
  read(opts?: { sinceMs?: number }): AsyncIterable<ShadowResult>;
  /** The Redis connection, when the store has one (the spend ledger shares it). */
  readonly redis?: RedisStore;
  close(): Promise<void>;
}

function parse(json: string): ShadowResult | undefined {
  try {
    const v: unknown = JSON.parse(json);
    return isShadowResult(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Results in a Redis stream, trimmed to about `maxLen` entries. */
export class RedisStreamStore implements ShadowStore {
  readonly kind = 'redis-stream' as const;
  readonly redis: RedisStore;
  private readonly lease: RedisLease;

  constructor(
    private readonly cfg: ShadowStoreConfig['redis'],
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.lease = acquireRedis('shadow', cfg, onError);
    this.redis = this.lease.store;
  }

  /** Resolves once connected (or after a few seconds of trying). */
  async ready(): Promise<void> {
    await this.redis.ready(3_000);
  }

  async write(r: ShadowResult): Promise<boolean> {
    try {
      const record = JSON.stringify(r);
      await this.redis.call('shadow-xadd', (c) =>
        c.xAdd(this.cfg.stream, '*', { record }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.cfg.maxLen } }),
      );
      return true;
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  /** Pages through the stream; each page has a generous deadline of its own (a report, not a request). */
  async *read(opts: { sinceMs?: number } = {}): AsyncIterable<ShadowResult> {
    await this.ready();
    let start = opts.sinceMs !== undefined ? String(Math.max(0, Math.floor(opts.sinceMs))) : '-';
    const pageMs = Math.max(this.redis.timeoutMs, 5_000);
    for (;;) {
      const from = start;
      const page = await this.redis.call('shadow-xrange', (c) => c.xRange(this.cfg.stream, from, '+', { COUNT: 1000 }), pageMs);
      for (const e of page) {
        const r = parse(String(e.message['record'] ?? ''));
        if (r) yield r;
      }
      if (page.length < 1000) return;
      start = `(${page[page.length - 1]!.id}`;
    }
  }

  async close(): Promise<void> {
    await this.lease.release();
  }
}

/** Results appended to a JSONL file. */
export class JsonlStore implements ShadowStore {
  readonly kind = 'jsonl' as const;
  private tail: Promise<unknown> = Promise.resolve();

  async ready(): Promise<void> {}

  constructor(
    private readonly path: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  write(r: ShadowResult): Promise<boolean> {
    const line = `${JSON.stringify(r)}\n`;
    const p = this.tail.then(async () => {
      try {
        await mkdir(dirname(this.path), { recursive: true });
        await appendFile(this.path, line);
        return true;
      } catch (e) {
        this.onError(e instanceof Error ? e : new Error(String(e)));
        return false;
      }
    });
    this.tail = p;
    return p;
  }

  async *read(opts: { sinceMs?: number } = {}): AsyncIterable<ShadowResult> {
    await this.tail;
    const input = createReadStream(this.path, 'utf8');
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const r = parse(line);
        if (r && (opts.sinceMs === undefined || Date.parse(r.time) >= opts.sinceMs)) yield r;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    } finally {
      lines.close();
      input.destroy();
    }
  }

  async close(): Promise<void> {
    await this.tail;
  }
}

/**
 * Opens the configured store.
 *
 * @example
 * const store = openShadowStore(config.shadow.store);
 * for await (const r of store.read({ sinceMs: Date.now() - 86_400_000 })) console.log(r.task, r.similarity);
 */
export function openShadowStore(cfg: ShadowStoreConfig, onError?: (err: Error) => void): ShadowStore {
  return cfg.kind === 'jsonl' ? new JsonlStore(cfg.path!, onError) : new RedisStreamStore(cfg.redis, onError);
}
