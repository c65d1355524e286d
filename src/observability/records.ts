/**
 * Decision-record sinks, for later analysis: a JSONL file (one record per
 * line, appended) or a Redis stream (`XADD … MAXLEN ~ n * record <json>`).
 * Writes never block a request: the file stream buffers (records are dropped
 * past 8 MiB unwritten), Redis writes are fire-and-forget; failures are
 * counted, not thrown.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { RecordsConfig } from '../config/observability.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';

/** Where records go. */
export interface RecordSink {
  readonly kind: string;
  /** Takes one record already serialized as JSON. */
  write(json: string): void;
  close(): Promise<void>;
}

const MAX_BUFFERED = 8 * 1024 * 1024;

/** Appends records to a JSONL file. */
export class JsonlSink implements RecordSink {
  readonly kind = 'jsonl';
  private readonly out: WriteStream;

  constructor(path: string, private readonly onError: () => void) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path, { flags: 'a' });
    this.out.on('error', () => onError());
  }

  write(json: string): void {
    if (this.out.writableLength > MAX_BUFFERED || this.out.destroyed) return this.onError();
    this.out.write(`${json}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(() => resolve()));
  }
}

/** Adds records to a Redis stream, trimmed to about `maxLen` entries; each XADD under the connection's deadline. */
export class RedisStreamSink implements RecordSink {
  readonly kind = 'redis-stream';
  private readonly lease: RedisLease;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly cfg: RecordsConfig['redis'], private readonly onError: () => void) {
    this.lease = acquireRedis('records', cfg);
  }

  write(json: string): void {
    const p = this.lease.store
      .call('records-xadd', (c) =>
        c.xAdd(this.cfg.stream, '*', { record: json }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.cfg.maxLen } }),
      )
      .catch(() => this.onError())
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.lease.release();
  }
}

/**
 * The configured sink, or undefined for `sink: none`.
 *
 * @example
 * const sink = createRecordSink({ sink: 'jsonl', path: 'decisions.jsonl', redis }, () => errors++);
 * sink?.write(JSON.stringify(record));
 */
export function createRecordSink(cfg: RecordsConfig, onError: () => void): RecordSink | undefined {
  if (cfg.sink === 'jsonl') return new JsonlSink(cfg.path!, onError);
  if (cfg.sink === 'redis-stream') return new RedisStreamSink(cfg.redis, onError);
  return undefined;
}
