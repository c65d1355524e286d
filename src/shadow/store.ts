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
import { closeCacheRedis, openCacheRedis, type CacheRedisClient } from '../cache/stores/redis-client.js';
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
  readonly redis?: CacheRedisClient;
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
  readonly redis: CacheRedisClient;
  private readonly connected: Promise<unknown>;

  constructor(
    private readonly cfg: ShadowStoreConfig['redis'],
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.redis = openCacheRedis({ url: cfg.url, commandTimeoutMs: 2_000 });
    // Commands issued while the first connection is made wait for it (briefly) instead of failing.
    this.connected = Promise.race([
      new Promise((resolve) => this.redis.once('ready', resolve)),
      new Promise((resolve) => setTimeout(resolve, 3_000).unref()),
    ]);
  }

  /** Resolves once connected (or after a few seconds of trying). */
  async ready(): Promise<void> {
    if (!this.redis.isReady) await this.connected;
  }

  async write(r: ShadowResult): Promise<boolean> {
    try {
      await this.ready();
      await this.redis.xAdd(this.cfg.stream, '*', { record: JSON.stringify(r) }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.cfg.maxLen } });
      return true;
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  async *read(opts: { sinceMs?: number } = {}): AsyncIterable<ShadowResult> {
    await this.ready();
    let start = opts.sinceMs !== undefined ? String(Math.max(0, Math.floor(opts.sinceMs))) : '-';
    for (;;) {
      const page = await this.redis.xRange(this.cfg.stream, start, '+', { COUNT: 1000 });
      for (const e of page) {
        const r = parse(String(e.message['record'] ?? ''));
        if (r) yield r;
      }
      if (page.length < 1000) return;
      start = `(${page[page.length - 1]!.id}`;
    }
  }

  async close(): Promise<void> {
    await closeCacheRedis(this.redis);
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
