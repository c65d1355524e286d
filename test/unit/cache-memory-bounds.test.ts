/**
 * The caches' byte bounds hold in real memory, not only in their own
 * accounting: a child process with `--expose-gc` fills each in-process store
 * with several times its bound and reports how much the heap (plus
 * ArrayBuffers) grew.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MAX = 16 * 1024 * 1024;

async function probe(kind: 'semantic' | 'exact', entries: number): Promise<{ entries: number; reported: number; grew: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/memory-probe.ts', kind, String(MAX), String(entries)], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { entries: number; reported: number; grew: number };
}

describe('cache memory bounds, measured', () => {
  it('the semantic index (512-d vectors, 400-char answers) stays near cache.semantic.maxBytes when offered ~8x more', async () => {
    const r = await probe('semantic', 30_000);
    expect(r.reported).toBeLessThanOrEqual(MAX);
    expect(r.entries).toBeLessThan(30_000); // it did evict
    expect(r.grew).toBeLessThan(MAX * 1.25);
  }, 60_000);

  it('the exact store stays within cache.memory.maxBytes when offered ~4x more', async () => {
    const r = await probe('exact', 30_000);
    expect(r.reported).toBeLessThanOrEqual(MAX);
    expect(r.entries).toBeLessThan(30_000);
    expect(r.grew).toBeLessThan(MAX * 1.25);
  }, 60_000);
});
