/**
 * The sidecar's admission control: `slots` requests run at once (one per
 * llama context sequence), up to `capacity` more wait in FIFO order, and the
 * rest are refused at once. Its length is the load signal the router reads
 * (response header, `/health`, `/metrics`).
 */

/** Thrown by {@link SlotQueue.acquire} when every slot is busy and the waiting line is full. */
export class QueueFullError extends Error {
  constructor(readonly waiting: number, readonly capacity: number) {
    super(`the request queue is full (${waiting} waiting, capacity ${capacity}); retry later`);
    this.name = 'QueueFullError';
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

/**
 * A bounded FIFO semaphore.
 *
 * @example
 * const q = new SlotQueue(1, 16);
 * const release = await q.acquire(signal); // throws QueueFullError when full
 * try { await work(); } finally { release(); }
 */
export class SlotQueue {
  private running = 0;
  private readonly line: Waiter[] = [];

  constructor(
    /** Requests served at once. */
    readonly slots: number,
    /** Requests allowed to wait for a slot. */
    readonly capacity: number,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }

  /** Requests waiting for a slot (the queue length). */
  get waiting(): number {
    return this.line.length;
  }

  /** Requests holding a slot. */
  get active(): number {
    return this.running;
  }

  /**
   * Waits for a slot and resolves with its release function (call it once).
   * Rejects with {@link QueueFullError} when the line is full, or with the
   * signal's reason when the caller gives up while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.slots) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.line.length >= this.capacity) return Promise.reject(new QueueFullError(this.line.length, this.capacity));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.line.indexOf(waiter);
        if (i !== -1) this.line.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.line.push(waiter);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.line.shift();
      if (next) {
        next.cleanup();
        next.resolve(this.releaser()); // the slot passes straight to the next in line
      } else this.running--;
    };
  }
}
