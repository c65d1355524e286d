/**
 * Where virtual keys live: the config file (`entries`, read-only), a JSON
 * file `switchyard keys` manages, or Redis (shared by replicas). Every store
 * holds records with the key's peppered digest, never the key.
 */
import type { KeysStoreConfig, VirtualKey } from '../config/auth.js';
import { FileKeyStore } from './key-store-file.js';
import { RedisKeyStore } from './key-store-redis.js';

/** A virtual-key store. */
export interface KeyStore {
  readonly kind: 'config' | 'file' | 'redis';
  /** The record of a key id, or undefined when unknown. Rejects when the store cannot answer in time. */
  get(id: string): Promise<VirtualKey | undefined>;
  list(): Promise<VirtualKey[]>;
  /** Adds or replaces a record. */
  put(key: VirtualKey): Promise<void>;
  /** Removes a record; false when there was none. */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
  /**
   * Calls `fn` when records may have changed elsewhere (another process ran
   * `switchyard keys …`): with the key id, or undefined for "any key". Redis:
   * an invalidation channel (and "any" on every (re)subscription); file: a
   * watch on the file. Absent for config keys (they change with the config).
   */
  watch?(fn: (id?: string) => void): void;
}

/** The `entries` of the config: read-only. */
export class ConfigKeyStore implements KeyStore {
  readonly kind = 'config' as const;
  private readonly byId: Map<string, VirtualKey>;

  constructor(entries: readonly VirtualKey[]) {
    this.byId = new Map(entries.map((e) => [e.id, e]));
  }

  get(id: string): Promise<VirtualKey | undefined> {
    return Promise.resolve(this.byId.get(id));
  }

  /** Synchronous lookup: config keys need no await. */
  getSync(id: string): VirtualKey | undefined {
    return this.byId.get(id);
  }

  list(): Promise<VirtualKey[]> {
    return Promise.resolve([...this.byId.values()]);
  }

  put(): Promise<void> {
    return Promise.reject(new Error('keys in the config file are edited in the file (auth.keys.entries); use store: file or redis to manage keys with `switchyard keys`'));
  }

  delete(): Promise<boolean> {
    return this.put().then(() => false);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Opens the configured store.
 *
 * @example
 * const store = openKeyStore(config.auth.keys);
 * const rec = await store.get('k3j9x0a1b2c3');
 */
export function openKeyStore(cfg: KeysStoreConfig, onError?: (e: Error) => void): KeyStore {
  switch (cfg.store) {
    case 'config':
      return new ConfigKeyStore(cfg.entries);
    case 'file':
      return new FileKeyStore(cfg.file!);
    case 'redis':
      return new RedisKeyStore(cfg.redis, onError);
  }
}
