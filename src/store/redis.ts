/**
 * One Redis connection (a single node or a cluster) with a deadline that
 * really fires and a breaker in front of it. Every Redis user in Switchyard
 * calls Redis through a {@link RedisStore}; `redis-pool.ts` hands out one per
 * distinct connection setting.
 *
 * Why a deadline of our own: node-redis v5 drops a command's `timeout` once
 * the command is written to the socket, so a frozen server (SIGSTOP, a full
 * disk, a long script) stalls every caller. Here each call races a timer;
 * when the timer wins the caller gets {@link StoreTimeoutError} at once,
 * the breaker counts a failure, and the command's late reply (if Redis ever
 * resumes) is read and dropped, which keeps the connection in sync. Writes
 * whose effect matters after a timeout (accounting) are written to be
 * idempotent and compensated (`src/accounting/store-redis.ts`).
 */
import { createClient, createCluster, ErrorReply } from 'redis';
import type { RedisConnectionConfig } from '../config/redis.js';
import { StoreBreaker, type BreakerState } from './breaker.js';

/** A node-redis single-node client (with the bundled modules, `ft.*`). */
export type RedisNodeClient = ReturnType<typeof createClient>;
/** A node-redis cluster client. */
export type RedisClusterClient = ReturnType<typeof createCluster>;

/**
 * The client as features call it: single-key commands, EVAL/EVALSHA and
 * streams have the same signatures on the node and the cluster client (the
 * cluster routes by the first key), so both are handed out under the node
 * client's type. Commands that differ (SCAN, multi-key UNLINK, FT.*) go
 * through {@link RedisStore.scan}, {@link RedisStore.unlink} and
 * {@link RedisStore.node}.
 */
export type RedisCommands = RedisNodeClient;

/** A call did not answer within its deadline. */
export class StoreTimeoutError extends Error {
  constructor(
    readonly store: string,
    readonly op: string,
    readonly ms: number,
  ) {
    super(`redis (${store}) ${op} did not answer within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** The breaker is open: the call was not sent. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly store: string,
    readonly retryInMs: number,
  ) {
    // A constant message: logs rate-limit repeats by message.
    super(`redis (${store}) is unavailable (breaker open after repeated failures)`);
    this.name = 'StoreUnavailableError';
  }
}

/** Whether an error means "Redis could not be reached in time" (as opposed to a reply error). */
export function isStoreFailure(err: unknown): boolean {
  return err instanceof Error && !(err instanceof ErrorReply);
}

/** What /healthz and /readyz say about one connection. */
export interface StoreHealth {
  /** The connection's name (the features sharing it, e.g. `cache+accounting`). */
  name: string;
  /** `ok`; `degraded` (recent failures, or not connected); `down` (breaker open). */
  status: 'ok' | 'degraded' | 'down';
  breaker: BreakerState;
  connected: boolean;
  cluster: boolean;
  /** Calls that hit their deadline, since start. */
  timeouts: number;
  /** Calls refused by the open breaker, since start. */
  rejected: number;
  lastError?: string;
}

/** A parsed connection target: one node or a cluster's root nodes. */
export interface RedisTarget {
  cluster: boolean;
  urls: string[];
}

/** Reads `cluster.rootNodes` or a `redis+cluster://a:1,b:2` URL. */
export function redisTarget(cfg: Pick<RedisConnectionConfig, 'url' | 'cluster'>): RedisTarget {
  if (cfg.cluster) return { cluster: true, urls: [...cfg.cluster.rootNodes] };
  const m = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)(.*)$/.exec(cfg.url);
  if (!m) return { cluster: false, urls: [cfg.url] };
  const [, scheme, auth, hosts, rest] = m;
  const urls = hosts!.split(',').filter(Boolean).map((h) => `${scheme}://${auth ? `${auth}@` : ''}${h}${rest ?? ''}`);
  return { cluster: true, urls };
}

export const SOCKET = {
  connectTimeout: 2_000,
  reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), 3_000),
};

/**
 * A deadline- and breaker-guarded connection.
 *
 * @example
 * ```ts
 * const redis = new RedisStore('cache', { url: 'redis://127.0.0.1:6379', commandTimeoutMs: 250, breaker: { failures: 5, cooldownMs: 2000 } });
 * const v = await redis.call('get', (c) => c.get('k')); // StoreTimeoutError after 250 ms
 * ```
 */
export class RedisStore {
  /** The node-redis client: a single-node client or a cluster client. */
  readonly client: RedisNodeClient | RedisClusterClient;
  readonly cluster: boolean;
  readonly timeoutMs: number;
  private readonly breaker: StoreBreaker;
  private connected = false;
  private everConnected = false;
  private readonly firstConnect: Promise<void>;
  private closed = false;
  private timeouts = 0;
  private lastError: string | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly recoverListeners = new Set<() => void>();

  constructor(
    public name: string,
    cfg: Pick<RedisConnectionConfig, 'url' | 'cluster' | 'commandTimeoutMs' | 'breaker'>,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.timeoutMs = cfg.commandTimeoutMs;
    this.breaker = new StoreBreaker(cfg.breaker, (s) => this.breakerChanged(s));
    const target = redisTarget(cfg);
    this.cluster = target.cluster;
    let resolveFirst!: () => void;
    this.firstConnect = new Promise((r) => (resolveFirst = r));
    const up = () => {
      this.connected = true;
      this.everConnected = true;
      resolveFirst();
    };
    const down = (err?: Error) => {
      this.connected = false;
      if (err) this.noteError(err);
    };
    if (target.cluster) {
      const c = createCluster({
        rootNodes: target.urls.map((url) => ({ url })),
        defaults: { disableOfflineQueue: true, socket: SOCKET },
        maxCommandRedirections: 8,
      });
      this.client = c;
      c.on('error', (err: Error) => down(err));
      c.on('connect', up);
      c.on('disconnect', () => down());
      this.connectCluster(c, up);
    } else {
      const c = createClient({ url: target.urls[0]!, disableOfflineQueue: true, socket: SOCKET });
      this.client = c;
      // Without a listener an 'error' event would crash the process.
      c.on('error', (err: Error) => down(err));
      c.on('ready', up);
      c.on('end', () => down());
      c.connect().catch((err: unknown) => down(err instanceof Error ? err : new Error(String(err))));
    }
  }

  /** The single-node client; for features that need a node (RediSearch). Throws for a cluster. */
  node(feature: string): RedisNodeClient {
    if (this.cluster) {
      throw new Error(`${feature} needs a single Redis node (Redis Cluster does not serve it); give it a redis:// URL of its own`);
    }
    return this.client as RedisNodeClient;
  }

  /**
   * Runs one call under the deadline and the breaker. `fn` gets the client;
   * the result is whatever it resolves to. Rejects with
   * {@link StoreUnavailableError} (breaker open, nothing sent) or
   * {@link StoreTimeoutError} (deadline passed), or with Redis's own error.
   */
  call<T>(op: string, fn: (client: RedisCommands) => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(this.name, 0));
    const gate = this.breaker.allow();
    if (!gate.ok) return Promise.reject(new StoreUnavailableError(this.name, this.breaker.retryInMs()));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const expire = () => {
        if (done) return;
        done = true;
        this.timeouts++;
        const err = new StoreTimeoutError(this.name, op, timeoutMs);
        this.lastError = err.message;
        this.breaker.failure(gate.probe);
        reject(err);
      };
      // Timers run before I/O in a loop turn: after a stall of the process itself, a reply already in the
      // socket would lose to its timer. setImmediate lets that I/O be read first.
      const timer = setTimeout(() => setImmediate(expire), timeoutMs);
      const c = this.client as RedisCommands;
      let run: Promise<T>;
      try {
        run = this.everConnected ? fn(c) : this.firstConnect.then(() => fn(c));
      } catch (err) {
        run = Promise.reject(err);
      }
      run.then(
        (v) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.breaker.success(gate.probe);
          resolve(v);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (isStoreFailure(err)) {
            this.noteError(err as Error);
            this.breaker.failure(gate.probe);
          } else {
            this.breaker.success(gate.probe);
          }
          reject(err);
        },
      );
    });
  }

  /** Resolves once connected, or false after `ms`. */
  async ready(ms = 3_000): Promise<boolean> {
    if (this.connected) return true;
    let t: NodeJS.Timeout | undefined;
    const ok = await Promise.race([this.firstConnect.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]);
    clearTimeout(t);
    return ok;
  }

  /** Called each time the breaker closes again (queued compensations drain then). */
  onRecover(fn: () => void): () => void {
    this.recoverListeners.add(fn);
    return () => this.recoverListeners.delete(fn);
  }

  /** Whether calls currently go out (breaker not open). */
  get available(): boolean {
    return this.breaker.state !== 'open';
  }

  health(): StoreHealth {
    const b = this.breaker.state;
    const status = b === 'open' ? 'down' : b === 'half-open' || !this.connected || this.breaker.failures > 0 ? 'degraded' : 'ok';
    return {
      name: this.name,
      status,
      breaker: b,
      connected: this.connected,
      cluster: this.cluster,
      timeouts: this.timeouts,
      rejected: this.breaker.rejected,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Every key matching `pattern`, a page at a time, on every master of a cluster. */
  async *scan(pattern: string, count = 1000): AsyncIterable<string[]> {
    const nodes: RedisNodeClient[] = [];
    if (this.cluster) {
      const c = this.client as RedisClusterClient;
      for (const m of c.masters) nodes.push((await this.call('cluster-node', () => c.nodeClient(m))) as unknown as RedisNodeClient);
    } else {
      nodes.push(this.client as RedisNodeClient);
    }
    for (const node of nodes) {
      let cursor = '0';
      do {
        const page = await this.call('scan', () => node.scan(cursor, { MATCH: pattern, COUNT: count }));
        cursor = String(page.cursor);
        if (page.keys.length > 0) yield page.keys;
      } while (cursor !== '0');
    }
  }

  /** UNLINKs keys (one call per key on a cluster, where keys of a page span slots). */
  async unlink(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.cluster) return this.call('unlink', (c) => c.unlink(keys));
    const c = this.client as RedisClusterClient;
    const n = await Promise.all(keys.map((k) => this.call('unlink', () => c.unlink(k))));
    return n.reduce((a, b) => a + b, 0);
  }

  /** Closes gracefully (pending replies are awaited) for at most `graceMs`, then drops the connection. */
  async close(graceMs = 1_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    const c = this.client;
    const destroy = () => {
      try {
        c.destroy();
      } catch {
        // already gone
      }
    };
    if (!this.connected) return destroy();
    let t: NodeJS.Timeout | undefined;
    const graceful = c.close().then(
      () => true,
      () => false,
    );
    const done = await Promise.race([graceful, new Promise<boolean>((r) => (t = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(t);
    // A frozen server never answers: do not hang the shutdown on it.
    if (!done) destroy();
  }

  private connectCluster(c: RedisClusterClient, up: () => void): void {
    c.connect().then(up, (err: unknown) => {
      this.noteError(err instanceof Error ? err : new Error(String(err)));
      if (this.closed) return;
      const t = setTimeout(() => this.connectCluster(c, up), 1_000);
      t.unref();
    });
  }

  private noteError(err: Error): void {
    this.lastError = err.message;
    this.onError(err);
  }

  /** An open breaker probes by itself after the cool-down, so health and queued work recover without traffic. */
  private breakerChanged(s: BreakerState): void {
    if (s === 'closed') {
      for (const fn of this.recoverListeners) fn();
      return;
    }
    if (s !== 'open' || this.closed) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      if (this.closed || this.breaker.state === 'closed') return;
      this.ping().catch(() => undefined);
    }, this.breaker.retryInMs() + 1);
    this.probeTimer.unref();
  }

  /** PING (on a cluster, any master). */
  ping(): Promise<unknown> {
    return this.call('ping', () => (this.cluster ? (this.client as RedisClusterClient).sendCommand(undefined, true, ['PING']) : (this.client as RedisNodeClient).ping()));
  }
}
