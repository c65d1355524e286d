/**
 * In-process exact-cache store: an LRU bounded in approximate bytes and in
 * entries, with a TTL per entry. A `Map` keeps insertion order, so moving a
 * hit to the end (delete + set) and evicting from the front are both O(1).
 */
import { responseBytes, type ExactEntry, type ExactStore } from '../types.js';

/** Options of {@link MemoryExactStore}. */
export interface MemoryExactStoreOptions {
  maxBytes: number;
  maxEntries: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Slot {
  entry: ExactEntry;
  bytes: number;
  expiresAt: number;
}

/**
 * LRU + TTL store of exact entries.
 *
 * @example
 * ```ts
 * const store = new MemoryExactStore({ maxBytes: 64 << 20, maxEntries: 100_000 });
 * await store.set(key, entry, 3600);
 * ```
 */
export class MemoryExactStore implements ExactStore {
  readonly kind = 'memory' as const;
  private readonly map = new Map<string, Slot>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly opts: MemoryExactStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Approximate bytes held. */
  get byteSize(): number {
    return this.bytes;
  }

  async get(key: string): Promise<ExactEntry | undefined> {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= this.now()) {
      this.remove(key, slot);
      return undefined;
    }
    // Most recently used goes last.
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.entry;
  }

  async set(key: string, entry: ExactEntry, ttlSeconds: number): Promise<void> {
    const bytes = 2 * key.length + 2 * (entry.tenant.length + entry.modelGroup.length) + responseBytes(entry.response);
    const old = this.map.get(key);
    if (old !== undefined) this.remove(key, old);
    if (bytes > this.opts.maxBytes) return;
    this.map.set(key, { entry, bytes, expiresAt: this.now() + ttlSeconds * 1000 });
    this.bytes += bytes;
    this.evict();
  }

  async purge(partitionPrefix: string): Promise<number> {
    let n = 0;
    for (const [key, slot] of this.map) {
      if (key.startsWith(partitionPrefix)) {
        this.remove(key, slot);
        n++;
      }
    }
    return n;
  }

  size(): number {
    return this.map.size;
  }

  async close(): Promise<void> {
    this.map.clear();
    this.bytes = 0;
  }

  private remove(key: string, slot: Slot): void {
    this.map.delete(key);
    this.bytes -= slot.bytes;
  }

  /** Drops expired entries from the cold end, then the least recently used until both bounds hold. */
  private evict(): void {
    const now = this.now();
    for (const [key, slot] of this.map) {
      const over = this.bytes > this.opts.maxBytes || this.map.size > this.opts.maxEntries;
      if (!over && slot.expiresAt > now) break;
      this.remove(key, slot);
    }
  }
}
