import { describe, expect, it } from 'vitest';
import { MemoryExactStore } from '../../src/cache/stores/memory.js';
import type { ExactEntry } from '../../src/cache/types.js';

function entry(text: string, tenant = 't'): ExactEntry {
  return { response: { id: 'r', model: 'm', created: 0, text, finishReason: 'stop' }, tenant, modelGroup: 'g', storedAt: 0 };
}

describe('MemoryExactStore', () => {
  it('returns what was set until the TTL passes', async () => {
    let now = 1_000;
    const s = new MemoryExactStore({ maxBytes: 1 << 20, maxEntries: 100, now: () => now });
    await s.set('a', entry('A'), 10);
    expect((await s.get('a'))?.response.text).toBe('A');
    now += 9_999;
    expect(await s.get('a')).toBeDefined();
    now += 1;
    expect(await s.get('a')).toBeUndefined();
    expect(s.size()).toBe(0);
    expect(s.byteSize).toBe(0);
  });

  it('evicts the least recently used entry when the entry bound is reached', async () => {
    const s = new MemoryExactStore({ maxBytes: 1 << 20, maxEntries: 3 });
    await s.set('a', entry('A'), 60);
    await s.set('b', entry('B'), 60);
    await s.set('c', entry('C'), 60);
    await s.get('a'); // a is now the most recent; b is the oldest
    await s.set('d', entry('D'), 60);
    expect(await s.get('b')).toBeUndefined();
    expect(await s.get('a')).toBeDefined();
    expect(await s.get('c')).toBeDefined();
    expect(await s.get('d')).toBeDefined();
  });

  it('stays within its byte bound, evicting oldest first, and refuses an entry larger than the bound', async () => {
    const text = 'x'.repeat(1000); // ~2 KB each in UTF-16
    const s = new MemoryExactStore({ maxBytes: 10_000, maxEntries: 1000 });
    for (let i = 0; i < 20; i++) {
      await s.set(`k${i}`, entry(text), 60);
      expect(s.byteSize).toBeLessThanOrEqual(10_000);
    }
    expect(s.size()).toBe(4);
    expect(await s.get('k0')).toBeUndefined();
    expect(await s.get('k19')).toBeDefined();
    await s.set('huge', entry('y'.repeat(10_000)), 60);
    expect(await s.get('huge')).toBeUndefined();
    expect(s.size()).toBe(4);
  });

  it('replaces an entry without double-counting its bytes', async () => {
    const s = new MemoryExactStore({ maxBytes: 1 << 20, maxEntries: 10 });
    await s.set('a', entry('A'), 60);
    const bytes = s.byteSize;
    await s.set('a', entry('B'), 60);
    expect(s.byteSize).toBe(bytes);
    expect((await s.get('a'))?.response.text).toBe('B');
  });

  it('purges by key prefix', async () => {
    const s = new MemoryExactStore({ maxBytes: 1 << 20, maxEntries: 10 });
    await s.set('t1:g1:p:q1', entry('1'), 60);
    await s.set('t1:g2:p:q2', entry('2'), 60);
    await s.set('t2:g1:p:q3', entry('3'), 60);
    expect(await s.purge('t1:g1:')).toBe(1);
    expect(await s.purge('t1:')).toBe(1);
    expect(s.size()).toBe(1);
    expect(await s.get('t2:g1:p:q3')).toBeDefined();
  });
});
