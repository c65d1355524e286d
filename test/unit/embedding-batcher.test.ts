import { describe, expect, it } from 'vitest';
import { BatchingEmbedder } from '../../src/embedding/batcher.js';
import type { Embedder } from '../../src/embedding/embedder.js';

/** A tiny deterministic embedder: the vector of a text is [length, charCode of first letter], normalised. */
class FakeEmbedder implements Embedder {
  readonly id = 'fake';
  readonly dim = 2;
  calls: string[][] = [];
  fail: Error | undefined;
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls.push([...texts]);
    await new Promise((r) => setTimeout(r, 1));
    if (this.fail) throw this.fail;
    return texts.map((t) => {
      const v = [t.length, t.charCodeAt(0) || 1];
      const n = Math.hypot(v[0]!, v[1]!);
      return Float32Array.from(v.map((x) => x / n));
    });
  }
}

describe('BatchingEmbedder', () => {
  it('merges concurrent calls within the window into one inner call and splits the results back in order', async () => {
    const inner = new FakeEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 32, maxWaitMs: 5 });
    const [r1, r2, r3] = await Promise.all([b.embed(['alpha', 'be']), b.embed(['gamma']), b.embed(['d', 'epsilon', 'z'])]);
    expect(inner.calls).toHaveLength(1);
    expect(inner.calls[0]).toEqual(['alpha', 'be', 'gamma', 'd', 'epsilon', 'z']);
    const direct = await new FakeEmbedder().embed(['alpha', 'be', 'gamma', 'd', 'epsilon', 'z']);
    expect([...r1!, ...r2!, ...r3!].map((v) => Array.from(v))).toEqual(direct.map((v) => Array.from(v)));
  });

  it('embeds identical texts once and gives every caller its own vector', async () => {
    const inner = new FakeEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 32, maxWaitMs: 5 });
    const [r1, r2] = await Promise.all([b.embed(['same', 'same', 'other']), b.embed(['same'])]);
    expect(inner.calls).toEqual([['same', 'other']]);
    expect(Array.from(r1![0]!)).toEqual(Array.from(r2![0]!));
    expect(Array.from(r1![1]!)).toEqual(Array.from(r1![0]!));
    expect(r1![0]).not.toBe(r2![0]);
    expect(r1![0]).not.toBe(r1![1]);
  });

  it('sends a full batch at once and splits callers bringing more than maxBatch texts', async () => {
    const inner = new FakeEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 4, maxWaitMs: 10_000 });
    const texts = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const started = Date.now();
    const out = await b.embed(texts);
    expect(Date.now() - started).toBeLessThan(1000); // did not wait for the 10 s window
    expect(inner.calls.map((c) => c.length)).toEqual([4, 4, 2]);
    expect(out).toHaveLength(10);
  });

  it('sends a partial batch after maxWaitMs', async () => {
    const inner = new FakeEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 32, maxWaitMs: 2 });
    const first = b.embed(['a']);
    await first;
    const second = await b.embed(['b']);
    expect(inner.calls).toEqual([['a'], ['b']]);
    expect(second).toHaveLength(1);
  });

  it('rejects every waiter of a failed inner call, and recovers for later calls', async () => {
    const inner = new FakeEmbedder();
    inner.fail = new Error('model exploded');
    const b = new BatchingEmbedder(inner, { maxBatch: 32, maxWaitMs: 5 });
    const results = await Promise.allSettled([b.embed(['a']), b.embed(['b']), b.embed(['c'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBe(inner.fail);
    inner.fail = undefined;
    await expect(b.embed(['d'])).resolves.toHaveLength(1);
  });

  it('answers an empty call without calling the model and exposes the inner id and dim', async () => {
    const inner = new FakeEmbedder();
    const b = new BatchingEmbedder(inner);
    expect(await b.embed([])).toEqual([]);
    expect(inner.calls).toHaveLength(0);
    expect(b.id).toBe('fake');
    expect(b.dim).toBe(2);
    expect(() => new BatchingEmbedder(inner, { maxBatch: 0 })).toThrow(/maxBatch/);
  });
});
