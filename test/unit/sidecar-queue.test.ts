import { describe, expect, it } from 'vitest';
import { QueueFullError, SlotQueue } from '../../src/sidecar/queue.js';

describe('sidecar SlotQueue', () => {
  it('runs up to `slots` at once and queues the rest in FIFO order', async () => {
    const q = new SlotQueue(1, 2);
    const r1 = await q.acquire();
    const order: number[] = [];
    const p2 = q.acquire().then((r) => (order.push(2), r));
    const p3 = q.acquire().then((r) => (order.push(3), r));
    expect([q.active, q.waiting]).toEqual([1, 2]);
    r1();
    const r2 = await p2;
    expect([q.active, q.waiting]).toEqual([1, 1]);
    r2();
    (await p3)();
    expect(order).toEqual([2, 3]);
    expect([q.active, q.waiting]).toEqual([0, 0]);
  });

  it('refuses at once when the waiting line is full', async () => {
    const q = new SlotQueue(1, 1);
    const r1 = await q.acquire();
    const p2 = q.acquire();
    await expect(q.acquire()).rejects.toBeInstanceOf(QueueFullError);
    r1();
    (await p2)();
  });

  it('takes a waiter out of the line when its signal aborts', async () => {
    const q = new SlotQueue(1, 4);
    const r1 = await q.acquire();
    const ac = new AbortController();
    const p = q.acquire(ac.signal);
    expect(q.waiting).toBe(1);
    ac.abort(new Error('gone'));
    await expect(p).rejects.toThrow('gone');
    expect(q.waiting).toBe(0);
    r1();
    expect(q.active).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const q = new SlotQueue(2, 0);
    const r = await q.acquire();
    r();
    r();
    expect(q.active).toBe(0);
  });
});
