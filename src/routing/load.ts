/**
 * Load facts the router weighs besides each upstream's own in-flight count:
 * the queue length of a local sidecar (fed by a poller of its `/health` JSON
 * `queue` field, a number or the sidecar's `{ waiting, ... }`,
 * or by anyone through `setQueueLength`) and whether that health check
 * fails. Kept by upstream name, so they survive config reloads.
 */
import type { RoutingLoadConfig } from '../config/routing.js';
import type { SwitchyardConfig } from '../config/schema.js';

/** Queue gauges and health of upstreams, plus the pollers that feed them. */
export class LoadMonitor {
  private readonly queues = new Map<string, number>();
  private readonly down = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];

  /**
   * Sets an upstream's queue length (requests waiting, not running).
   *
   * @example
   * router.load.setQueueLength('local', 12); // past routing.load.maxQueue → spill over
   */
  setQueueLength(upstream: string, n: number): void {
    this.queues.set(upstream, n);
  }

  /** The last reported queue length, or undefined when nobody reports one. */
  queueLength(upstream: string): number | undefined {
    return this.queues.get(upstream);
  }

  /** Marks an upstream down (health check failing) with a reason, or up with `undefined`. */
  setDown(upstream: string, reason: string | undefined): void {
    if (reason === undefined) this.down.delete(upstream);
    else this.down.set(upstream, reason);
  }

  /** Why the upstream's health check fails, or undefined when it is fine or unchecked. */
  downReason(upstream: string): string | undefined {
    return this.down.size === 0 ? undefined : this.down.get(upstream);
  }

  /** (Re)starts the sidecar pollers of a config; stops the previous ones. */
  start(load: RoutingLoadConfig, cfg: SwitchyardConfig): void {
    this.stop();
    for (const s of load.sidecars) {
      const u = cfg.upstreams.find((x) => x.name === s.upstream);
      const base = s.healthUrl ?? u?.baseUrl;
      if (!base) continue; // unknown upstream, or a mock without a health URL
      const url = s.healthUrl ?? `${new URL(base).origin}/health`;
      let busy = false;
      const tick = () => {
        if (busy) return;
        busy = true;
        void this.poll(s.upstream, url, s.timeoutMs).finally(() => {
          busy = false;
        });
      };
      tick();
      const t = setInterval(tick, s.intervalMs);
      t.unref();
      this.timers.push(t);
    }
  }

  /** One poll: `queue` from the health JSON, or the upstream marked down. */
  async poll(upstream: string, url: string, timeoutMs: number): Promise<void> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        this.setDown(upstream, `health check ${res.status}`);
        return;
      }
      const body = (await res.json()) as { queue?: unknown; status?: unknown };
      const q = queueOf(body.queue);
      if (q !== undefined) this.queues.set(upstream, q);
      this.setDown(upstream, body.status === 'error' || body.status === 'down' ? `health status ${String(body.status)}` : undefined);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      this.setDown(upstream, `health check failed (${cause ?? (e instanceof Error ? e.name : 'error')})`);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}

/** The waiting count of a health `queue` field: a number, or `{ waiting }` (the Switchyard sidecar's shape). */
function queueOf(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const w = (q as { waiting?: unknown } | null)?.waiting;
  return typeof q === 'object' && typeof w === 'number' && Number.isFinite(w) ? w : undefined;
}
