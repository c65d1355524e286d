/**
 * Where the quality posteriors persist: a Redis hash (field `task|tier`,
 * value `{"a":…,"b":…,"t":…}`, shared by every gateway instance, newest entry
 * wins on load), a JSON file, or nowhere. Writes are batched and never block
 * a request; a failed write stays pending and goes with the next one. Each
 * Redis call has the connection's deadline: a late one skips learning, it
 * never stalls routing.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RoutingLearningConfig } from '../config/routing.js';
import { publish, RedisSubscription } from '../store/pubsub.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import type { QualityEntry } from './learning.js';

/** A persistence backend for quality entries. */
export interface QualityStore {
  /** Every stored entry (empty when the store is unreachable: learning starts from priors). */
  load(): Promise<[string, QualityEntry][]>;
  /** An entry changed: persist it soon. */
  changed(key: string, e: QualityEntry): void;
  /** Writes what is pending (best effort) and releases the connection. */
  close(): Promise<void>;
  /** A tenant's own entry changed (learning scope `tenant`): tell the other instances (Redis only). */
  tenantChanged?(tenant: string, key: string, e: QualityEntry): void;
  /** Calls `fn` with each tenant entry another instance announces (Redis only). */
  watchTenants?(fn: (tenant: string, key: string, e: QualityEntry) => void): void;
}

/** Failures of a store, for the log. */
export type StoreErrorHandler = (err: Error, op: string) => void;

function isEntry(v: unknown): v is QualityEntry {
  const e = v as QualityEntry;
  return typeof v === 'object' && v !== null && Number.isFinite(e.a) && Number.isFinite(e.b) && Number.isFinite(e.t) && e.a > 0 && e.b > 0;
}

class MemoryStore implements QualityStore {
  async load(): Promise<[string, QualityEntry][]> {
    return [];
  }
  changed(): void {}
  async close(): Promise<void> {}
}

class RedisStore implements QualityStore {
  private readonly lease: RedisLease;
  private readonly pending = new Map<string, QualityEntry>();
  private flushing: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly key: string;
  private sub: RedisSubscription | undefined;

  constructor(
    private readonly cfg: RoutingLearningConfig['redis'],
    private readonly onError: StoreErrorHandler,
  ) {
    this.key = cfg.key;
    this.lease = acquireRedis('learning', cfg, (err) => onError(err, 'redis'));
  }

  async load(): Promise<[string, QualityEntry][]> {
    try {
      const redis = this.lease.store;
      await redis.ready(2_000);
      const all = await redis.call('learning-load', (c) => c.hGetAll(this.key), Math.max(redis.timeoutMs, 2_000));
      const out: [string, QualityEntry][] = [];
      for (const [field, value] of Object.entries(all)) {
        try {
          const e: unknown = JSON.parse(value);
          if (isEntry(e)) out.push([field, e]);
        } catch {
          // A foreign or corrupt field: skip it.
        }
      }
      this.kick();
      return out;
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)), 'load');
      return [];
    }
  }

  changed(key: string, e: QualityEntry): void {
    this.pending.set(key, e);
    this.kick();
  }

  private kick(): void {
    if (!this.flushing && this.pending.size > 0) this.flushing = this.flush().finally(() => (this.flushing = undefined));
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = new Map(this.pending);
      this.pending.clear();
      const fields: Record<string, string> = {};
      for (const [k, e] of batch) fields[k] = JSON.stringify(e);
      try {
        await this.lease.store.call('learning-save', (c) => c.hSet(this.key, fields));
      } catch (err) {
        // Skipped, not lost: the newest entries go with the next write (or the retry).
        for (const [k, e] of batch) if (!this.pending.has(k)) this.pending.set(k, e);
        this.onError(err instanceof Error ? err : new Error(String(err)), 'save');
        if (this.retry === undefined) {
          this.retry = setTimeout(() => {
            this.retry = undefined;
            this.kick();
          }, 1_000);
          this.retry.unref();
        }
        return;
      }
    }
  }

  /** Channel of per-tenant entries: `{"tenant","key","e"}`; a missed message only delays that tenant's shift. */
  private get tenantChannel(): string {
    return `${this.key}:tenants`;
  }

  tenantChanged(tenant: string, key: string, e: QualityEntry): void {
    publish(this.lease.store, this.tenantChannel, JSON.stringify({ tenant, key, e })).catch((err: unknown) =>
      this.onError(err instanceof Error ? err : new Error(String(err)), 'publish'),
    );
  }

  /** Whether tenant announcements arrive now. */
  get watching(): boolean {
    return this.sub?.active ?? false;
  }

  watchTenants(fn: (tenant: string, key: string, e: QualityEntry) => void): void {
    void this.sub?.close();
    this.sub = new RedisSubscription(this.cfg, this.tenantChannel, {
      message: (text) => {
        try {
          const m = JSON.parse(text) as { tenant?: unknown; key?: unknown; e?: unknown };
          if (typeof m.tenant === 'string' && typeof m.key === 'string' && m.key.includes('|') && isEntry(m.e)) fn(m.tenant, m.key, m.e);
        } catch {
          // not ours
        }
      },
    });
  }

  async close(): Promise<void> {
    await this.sub?.close();
    clearTimeout(this.retry);
    await this.flushing;
    if (this.lease.store.available) await this.flush();
    await this.lease.release();
  }
}

class FileStore implements QualityStore {
  private readonly entries = new Map<string, QualityEntry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly onError: StoreErrorHandler,
  ) {}

  async load(): Promise<[string, QualityEntry][]> {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
      for (const [k, v] of Object.entries(data)) if (isEntry(v)) this.entries.set(k, v);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(e instanceof Error ? e : new Error(String(e)), 'load');
    }
    return [...this.entries];
  }

  changed(key: string, e: QualityEntry): void {
    this.entries.set(key, e);
    if (this.timer) return;
    this.timer = setTimeout(() => this.write(), 200);
    this.timer.unref();
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.entries)));
      renameSync(tmp, this.file);
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)), 'save');
    }
  }

  async close(): Promise<void> {
    if (this.timer) this.write();
  }
}

/**
 * Opens the configured store.
 *
 * @example
 * const store = openQualityStore(cfg.routing.learning, (err, op) => log.warn({ op, reason: err.message }, 'routing store'));
 * model.merge(await store.load());
 */
export function openQualityStore(cfg: RoutingLearningConfig, onError: StoreErrorHandler = () => undefined): QualityStore {
  if (cfg.store === 'redis') return new RedisStore(cfg.redis, onError);
  if (cfg.store === 'file') return new FileStore(cfg.file!, onError);
  return new MemoryStore();
}
