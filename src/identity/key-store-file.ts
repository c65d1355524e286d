/**
 * Virtual keys in a JSON file (`{"keys": [...]}`), written by
 * `switchyard keys` with mode 0600 through a temporary file and a rename, so
 * a reader never sees half a file. The gateway re-reads it when its
 * modification time changes.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { virtualKeySchema, type VirtualKey } from '../config/auth.js';
import type { KeyStore } from './key-store.js';

const fileSchema = z.object({ keys: z.array(virtualKeySchema) }).strict();

export class FileKeyStore implements KeyStore {
  readonly kind = 'file' as const;
  private byId = new Map<string, VirtualKey>();
  /** mtime, inode and size of the file last read: a rename-replaced file always differs in inode. */
  private mtime = '';

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

  async close(): Promise<void> {}
}
