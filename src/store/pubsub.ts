/**
 * Redis pub/sub through the shared layer: {@link publish} goes through a
 * {@link RedisStore} call (deadline, breaker); {@link RedisSubscription} holds
 * the one extra connection a subscriber needs (a subscribed connection can
 * run no other command). node-redis reconnects it with the same back-off as
 * every other connection and subscribes again; `onUp` fires on every
 * (re)subscription, because messages published while it was down are lost:
 * a subscriber drops whatever the missed messages could have invalidated.
 */
import { createClient, createCluster } from 'redis';
import type { RedisConnectionConfig } from '../config/redis.js';
import { redisTarget, SOCKET, type RedisStore } from './redis.js';

/** Publishes `message` on `channel`; rejects on a deadline or an open breaker like any call. */
export function publish(store: RedisStore, channel: string, message: string, timeoutMs?: number): Promise<number> {
  return store.call('publish', (c) => c.publish(channel, message), timeoutMs);
}

/** What a subscriber is told. */
export interface SubscriptionHandlers {
  message(text: string): void;
  /** Subscribed (first time or after a reconnect): anything missed while down must be assumed changed. */
  up?(): void;
  /** The connection dropped: messages are missed until `up`. */
  down?(err?: Error): void;
}

/**
 * One subscribed connection on one channel.
 *
 * @example
 * const sub = new RedisSubscription(cfg.redis, 'switchyard:keys:invalidate', { message: (id) => cache.delete(id), up: () => cache.clear() });
 * await sub.close();
 */
export class RedisSubscription {
  private readonly client: ReturnType<typeof createClient> | ReturnType<typeof createCluster>;
  private subscribed = false;
  private closed = false;

  constructor(
    cfg: Pick<RedisConnectionConfig, 'url' | 'cluster'>,
    private readonly channel: string,
    private readonly on: SubscriptionHandlers,
  ) {
    const target = redisTarget(cfg);
    const listener = (text: string) => this.on.message(text);
    if (target.cluster) {
      const c = createCluster({ rootNodes: target.urls.map((url) => ({ url })), defaults: { socket: SOCKET } });
      this.client = c;
      c.on('error', (err: Error) => this.lost(err));
      void this.start(() => c.connect().then(() => c.subscribe(channel, listener)));
    } else {
      const c = createClient({ url: target.urls[0]!, socket: SOCKET });
      this.client = c;
      c.on('error', (err: Error) => this.lost(err));
      c.on('end', () => this.lost());
      // node-redis subscribes again by itself after a reconnect; 'ready' follows.
      c.on('ready', () => {
        if (this.subscribed) this.on.up?.();
      });
      void this.start(() => c.connect().then(() => c.subscribe(channel, listener)));
    }
  }

  /** Whether messages arrive now. */
  get active(): boolean {
    return this.subscribed && !this.closed && (this.client as { isReady?: unknown }).isReady !== false;
  }

  private async start(connect: () => Promise<unknown>): Promise<void> {
    try {
      await connect();
      if (this.closed) return;
      this.subscribed = true;
      this.on.up?.();
    } catch (e) {
      this.lost(e instanceof Error ? e : new Error(String(e)));
      if (this.closed) return;
      const t = setTimeout(() => void this.start(connect), 1_000);
      t.unref();
    }
  }

  private lost(err?: Error): void {
    if (!this.closed) this.on.down?.(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      this.client.destroy();
    } catch {
      // already gone
    }
  }
}
