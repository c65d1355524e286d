import { describe, expect, it, vi } from 'vitest';
import { BatchingEmbedder, EmbedderBusyError } from '../../src/embedding/batcher.js';
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

describe('BatchingEmbedder queue bound', () => {
  /** An embedder whose calls wait until released. */
  class GatedEmbedder implements Embedder {
    readonly id = 'gated';
    readonly dim = 2;
    calls: string[][] = [];
    private gates: (() => void)[] = [];
    async ready(): Promise<void> {}
    async embed(texts: string[]): Promise<Float32Array[]> {
      this.calls.push([...texts]);
      await new Promise<void>((r) => this.gates.push(r));
      return texts.map(() => Float32Array.from([1, 0]));
    }
    release(): void {
      for (const g of this.gates.splice(0)) g();
    }
  }

  it('refuses at once, without queueing, a call that would take the queue past maxQueue', async () => {
    const inner = new GatedEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 4, maxWaitMs: 1, maxQueue: 3 });
    const first = b.embed(['a', 'b']);
    const second = b.embed(['c']);
    expect(b.queued).toBe(3);
    await expect(b.embed(['d'])).rejects.toBeInstanceOf(EmbedderBusyError);
    await expect(b.embed(['d'])).rejects.toMatchObject({ code: 'embedder_busy' });
    expect(b.queued).toBe(3); // the refused calls left nothing behind
    await vi.waitFor(() => expect(inner.calls.flat()).toEqual(['a', 'b', 'c']));
    inner.release();
    await Promise.all([first, second]);
    expect(b.queued).toBe(0);
    // Room again: the next call is accepted and answered.
    const third = b.embed(['d']);
    await vi.waitFor(() => expect(inner.calls.length).toBe(2));
    inner.release();
    expect(await third).toHaveLength(1);
  });

  it('frees the queue when the inner call fails', async () => {
    const inner = new FakeEmbedder();
    inner.fail = new Error('model crashed');
    const b = new BatchingEmbedder(inner, { maxBatch: 4, maxWaitMs: 1, maxQueue: 2 });
    await expect(b.embed(['a', 'b'])).rejects.toThrow('model crashed');
    expect(b.queued).toBe(0);
    inner.fail = undefined;
    expect(await b.embed(['a', 'b'])).toHaveLength(2);
  });

  it('lets a single call larger than maxQueue through when nothing else waits', async () => {
    const b = new BatchingEmbedder(new FakeEmbedder(), { maxBatch: 4, maxWaitMs: 1, maxQueue: 2 });
    expect(await b.embed(['a', 'b', 'c', 'd', 'e'])).toHaveLength(5);
  });

  it('refuses when the queued texts would take longer than maxQueueWaitMs at the measured time per text', async () => {
    const inner = new GatedEmbedder();
    const b = new BatchingEmbedder(inner, { maxBatch: 4, maxWaitMs: 1, maxQueue: 100, maxQueueWaitMs: 60 });
    // Time one inner call: it is released no sooner than 50 ms after it starts, so a text costs >= 50 ms.
    const timed = b.embed(['a']);
    await vi.waitFor(() => expect(inner.calls).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 50));
    inner.release();
    await timed;
    expect(b.expectedWaitMs(1)).toBeGreaterThanOrEqual(50);
    // Alone, a call is always accepted; behind one text, two texts' worth (>= 100 ms) is over 60 ms.
    const alone = b.embed(['b']);
    await expect(b.embed(['c'])).rejects.toBeInstanceOf(EmbedderBusyError);
    await vi.waitFor(() => expect(inner.calls).toHaveLength(2));
    inner.release();
    expect(await alone).toHaveLength(1);
  });
});

describe('createEmbedder queue bound', () => {
  it('bounds the queue only when asked (the cache does; offline evaluations queue freely)', async () => {
    const { createEmbedder } = await import('../../src/embedding/index.js');
    const cfg = { kind: 'openai-compatible' as const, baseUrl: 'http://127.0.0.1:9/v1', model: 'm', batch: { maxQueue: 3 } };
    const bounded = createEmbedder(cfg, { boundQueue: true }) as BatchingEmbedder;
    const free = createEmbedder(cfg) as BatchingEmbedder;
    expect(bounded.maxQueue).toBe(3);
    expect(bounded.maxQueueWaitMs).toBe(200);
    expect(free.maxQueue).toBe(Infinity);
    expect(free.maxQueueWaitMs).toBe(Infinity);
  });
});
