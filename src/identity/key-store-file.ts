/**
 * Virtual keys in a JSON file (`{"keys": [...]}`), written by
 * `switchyard keys` with mode 0600 through a temporary file and a rename, so
 * a reader never sees half a file. The gateway re-reads it when its
 * modification time changes.
 */
import { readFileSync, renameSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { virtualKeySchema, type VirtualKey } from '../config/auth.js';
import type { KeyStore } from './key-store.js';

const fileSchema = z.object({ keys: z.array(virtualKeySchema) }).strict();

export class FileKeyStore implements KeyStore {
  readonly kind = 'file' as const;
  private byId = new Map<string, VirtualKey>();
  /** mtime, inode and size of the file last read: a rename-replaced file always differs in inode. */
  private mtime = '';
  private watcher: FSWatcher | undefined;

  constructor(private readonly path: string) {}

  private load(): Map<string, VirtualKey> {
    let m: string;
    try {
      const st = statSync(this.path);
      m = `${st.mtimeMs}:${st.ino}:${st.size}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.byId = new Map();
        this.mtime = '';
        return this.byId;
      }
      throw e;
    }
    if (m === this.mtime) return this.byId;
    const parsed = fileSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
    if (!parsed.success) throw new Error(`${this.path} is not a valid key file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    this.byId = new Map(parsed.data.keys.map((k) => [k.id, k]));
    this.mtime = m;
    return this.byId;
  }

  async get(id: string): Promise<VirtualKey | undefined> {
    return this.load().get(id);
  }

  async list(): Promise<VirtualKey[]> {
    return [...this.load().values()];
  }

  private save(map: Map<string, VirtualKey>): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ keys: [...map.values()] }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
    this.mtime = '';
  }

  async put(key: VirtualKey): Promise<void> {
    const map = new Map(this.load());
    map.set(key.id, key);
    this.save(map);
  }

  async delete(id: string): Promise<boolean> {
    const map = new Map(this.load());
    if (!map.delete(id)) return false;
    this.save(map);
    return true;
  }

  /** Watches the file's folder (the CLI replaces the file by rename, which a watch on the file itself would lose). */
  watch(fn: (id?: string) => void): void {
    this.watcher?.close();
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) fn(undefined);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No folder yet, or no inotify: cached records live up to cacheTtlMs.
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
