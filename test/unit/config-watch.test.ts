import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchConfig, type ConfigWatcher } from '../../src/config/watch.js';
import type { SwitchyardConfig } from '../../src/config/schema.js';

function yaml(port: number, baseUrl = 'http://127.0.0.1:8081/v1'): string {
  return `server:\n  port: ${port}\nupstreams:\n  - name: local\n    kind: openai-compatible\n    baseUrl: ${baseUrl}\n    models: [{ name: local-llama }]\n`;
}

/** Resolves with the next value pushed into `list`, or rejects after `ms`. */
async function nextItem<T>(list: T[], from: number, ms = 3000): Promise<T> {
  const start = Date.now();
  while (list.length <= from) {
    if (Date.now() - start > ms) throw new Error(`nothing arrived within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return list[from] as T;
}

describe('watchConfig', () => {
  let dir: string;
  let file: string;
  let watcher: ConfigWatcher | undefined;
  const changes: SwitchyardConfig[] = [];
  const errors: Error[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-watch-'));
    file = join(dir, 'switchyard.yaml');
    writeFileSync(file, yaml(8000));
    changes.length = 0;
    errors.length = 0;
    watcher = watchConfig(file, (c) => changes.push(c), (e) => errors.push(e), { debounceMs: 30 });
  });

  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the file at start without announcing it', () => {
    expect(watcher?.current()?.server.port).toBe(8000);
    expect(changes).toHaveLength(0);
    expect(errors).toHaveLength(0);
  });

  it('picks up a good change written in place', async () => {
    writeFileSync(file, yaml(8001));
    expect((await nextItem(changes, 0)).server.port).toBe(8001);
    expect(watcher?.current()?.server.port).toBe(8001);
  });

  it('keeps the last good configuration on a bad change and reports why', async () => {
    writeFileSync(file, yaml(8002, 'not-a-url'));
    const err = await nextItem(errors, 0);
    expect(err.message).toContain('upstreams[0].baseUrl: Invalid URL');
    expect(err.message).toContain(file);
    expect(watcher?.current()?.server.port).toBe(8000);
    expect(changes).toHaveLength(0);
    // and recovers when the file is fixed
    writeFileSync(file, yaml(8003));
    expect((await nextItem(changes, 0)).server.port).toBe(8003);
  });

  it('follows an editor that writes a temporary file and renames it over the original', async () => {
    const tmp = join(dir, '.switchyard.yaml.swp');
    writeFileSync(tmp, yaml(8004));
    renameSync(tmp, file);
    expect((await nextItem(changes, 0)).server.port).toBe(8004);
    // the watch survives the inode swap
    const tmp2 = join(dir, 'switchyard.yaml~');
    writeFileSync(tmp2, yaml(8005));
    renameSync(tmp2, file);
    expect((await nextItem(changes, 1)).server.port).toBe(8005);
    expect(errors).toHaveLength(0);
  });

  it('does not announce an event that leaves the text unchanged', async () => {
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    writeFileSync(file, yaml(8000));
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toHaveLength(0);
  });

  it('reload() (SIGHUP) re-reads on demand and never throws', () => {
    writeFileSync(file, yaml(8006));
    expect(watcher?.reload()?.server.port).toBe(8006);
    expect(changes.at(-1)?.server.port).toBe(8006);
    writeFileSync(file, 'server: [');
    expect(watcher?.reload()).toBeUndefined();
    expect(errors.at(-1)?.message).toContain('YAML syntax error');
    expect(watcher?.current()?.server.port).toBe(8006);
  });

  it('reports a file that stays deleted, keeping the last good configuration', async () => {
    rmSync(file);
    const err = await nextItem(errors, 0);
    expect(err.message).toContain('cannot read the file');
    expect(watcher?.current()?.server.port).toBe(8000);
  });

  it('turns an exception thrown by onChange into onError', () => {
    const w = watchConfig(file, () => {
      throw new Error('apply failed');
    }, (e) => errors.push(e));
    try {
      expect(() => w.reload()).not.toThrow();
      expect(errors.at(-1)?.message).toBe('apply failed');
    } finally {
      w.close();
    }
  });
});
