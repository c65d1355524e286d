/**
 * The live state of one configured upstream: its connection pool, provider,
 * connection breaker, probe state (local upstreams) and load/latency
 * estimates. Per-model health lives in `deployment.ts`.
 */
import { addKnownSecrets, addSecretHeaders } from '../observability/known-secrets.js';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { IN_PROCESS_MOCK_ORIGIN, InProcessMock } from '../mock/in-process.js';
import { UpstreamBreaker } from './breaker.js';
import { AnthropicProvider } from './providers/anthropic.js';
import { OpenAICompatibleProvider } from './providers/openai-compatible.js';
import type { Provider } from './providers/provider.js';
import { probeLocal } from './probe.js';

/** Exponentially weighted moving average; `undefined` until the first sample. */
export class Ewma {
  value: number | undefined;
  constructor(private readonly alpha = 0.2) {}
  add(sample: number): void {
    this.value = this.value === undefined ? sample : this.value + this.alpha * (sample - this.value);
  }
}

export class UpstreamRuntime {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly available: boolean;
  /** Why the upstream is unavailable (e.g. which env var to set). */
  readonly unavailableReason: string | undefined;
  readonly provider: Provider;
  readonly pool: Pool;
  /**
   * The connection breaker: counts connection-level failures only (refused,
   * DNS, TLS, reset before headers), and while open makes every deployment
   * of this upstream unusable.
   */
  readonly breaker: UpstreamBreaker;
  /** Why the last probe of a `local: true` upstream failed; undefined when it answered (or before the first probe). */
  probeDown: string | undefined;
  inFlight = 0;
  readonly ttftMs = new Ewma();
  /** The in-process server of a `kind: mock` upstream. */
  private readonly mock: InProcessMock | undefined;
  readonly latencyMs = new Ewma();

  constructor(config: UpstreamConfig, env: NodeJS.ProcessEnv) {
    this.name = config.name;
    this.config = config;
    const apiKey = config.apiKeyEnv ? env[config.apiKeyEnv] : undefined;
    // Never shown to a client, whatever an upstream echoes back (errors.ts, the stream encoders).
    addKnownSecrets([apiKey]);
    addSecretHeaders(config.headers);
    this.available = !config.apiKeyEnv || Boolean(apiKey);
    this.unavailableReason = this.available
      ? undefined
      : `upstream "${config.name}" is unavailable: set ${config.apiKeyEnv} to enable it`;
    this.mock = config.kind === 'mock' ? new InProcessMock(config.mock, config.timeouts.connectMs, config.name) : undefined;
    const url = new URL(config.baseUrl ?? `${IN_PROCESS_MOCK_ORIGIN}/v1`);
    const basePath = url.pathname.replace(/\/+$/, '');
    const protocol = config.kind === 'mock' ? this.mock!.config.protocol : config.kind === 'anthropic' ? 'anthropic' : 'openai';
    this.provider =
      protocol === 'anthropic'
        ? new AnthropicProvider({ basePath, apiKey, headers: config.headers, defaultMaxTokens: 4096 })
        : new OpenAICompatibleProvider({ basePath, apiKey, headers: config.headers, streamUsage: config.streamUsage });
    this.pool = new Pool(url.origin, {
      connections: config.maxConnections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: this.mock ? this.mock.connect : { timeout: config.timeouts.connectMs },
      headersTimeout: config.timeouts.firstTokenMs,
      bodyTimeout: config.timeouts.idleMs,
    });
    this.breaker = new UpstreamBreaker(config.name, config.breaker, (e) => e?.connection !== true);
  }

  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private closed = false;

  /**
   * Probes a local upstream now and every `probeIntervalMs` (idempotent; a
   * no-op for other upstreams); `ready` resolves after the first probe.
   * Faces start it (`Switchyard.ready()`); offline commands never probe.
   */
  startProbe(): void {
    if (!this.config.local || this.probeTimer !== undefined || this.closed) return;
    this.ready = this.probeNow();
    this.probeTimer = setInterval(() => void this.probeNow(), this.config.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** A request found a local upstream not running: unavailable until a probe answers (probing starts if it had not). */
  markDown(reason: string): void {
    this.probeDown = reason;
    this.startProbe();
  }

  /** Resolves once the first probe of a local upstream finished (immediately for others). */
  ready: Promise<void> = Promise.resolve();

  /** Probes a local upstream once (concurrent calls share one probe). */
  probeNow(): Promise<void> {
    if (!this.config.local) return Promise.resolve();
    this.probing ??= probeLocal(this).then((down) => {
      this.probeDown = down;
      this.probing = undefined;
    });
    return this.probing;
  }

  /** Can a request be sent here now (any of its models)? */
  usable(_now = Date.now()): boolean {
    return this.available && this.probeDown === undefined && this.breaker.allows;
  }

  /** Why `usable()` is false, for the decision's explanation. */
  whyUnusable(_now = Date.now()): string | undefined {
    if (!this.available) return this.unavailableReason;
    if (this.probeDown !== undefined) return this.probeDown;
    if (!this.breaker.allows) return `upstream "${this.name}": connection breaker ${this.breaker.state}`;
    return undefined;
  }

  /** True when this runtime can be kept across a config reload (same connection and auth settings). */
  sameAs(other: UpstreamConfig): boolean {
    return JSON.stringify(other) === JSON.stringify(this.config);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.breaker.shutdown();
    await this.pool.close().catch(() => undefined);
    await this.mock?.close();
  }
}
