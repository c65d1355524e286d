/**
 * The live state of one configured upstream: its connection pool, provider,
 * breaker, cool-down (Retry-After) and load/latency estimates.
 */
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { IN_PROCESS_MOCK_ORIGIN, InProcessMock } from '../mock/in-process.js';
import { UpstreamBreaker } from './breaker.js';
import { AnthropicProvider } from './providers/anthropic.js';
import { OpenAICompatibleProvider } from './providers/openai-compatible.js';
import type { Provider } from './providers/provider.js';

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
  readonly breaker: UpstreamBreaker;
  /** No new calls before this time (ms since epoch), set from Retry-After. */
  coolingUntil = 0;
  inFlight = 0;
  readonly ttftMs = new Ewma();
  /** The in-process server of a `kind: mock` upstream. */
  private readonly mock: InProcessMock | undefined;
  readonly latencyMs = new Ewma();

  constructor(config: UpstreamConfig, env: NodeJS.ProcessEnv) {
    this.name = config.name;
    this.config = config;
    const apiKey = config.apiKeyEnv ? env[config.apiKeyEnv] : undefined;
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
    this.breaker = new UpstreamBreaker(config.name, config.breaker);
  }

  /** Can a request be sent here now? */
  usable(now = Date.now()): boolean {
    return this.available && this.breaker.allows && this.coolingUntil <= now;
  }

  /** Why `usable()` is false, for the decision's explanation. */
  whyUnusable(now = Date.now()): string | undefined {
    if (!this.available) return this.unavailableReason;
    if (!this.breaker.allows) return `breaker ${this.breaker.state}`;
    if (this.coolingUntil > now) return `cooling down ${this.coolingUntil - now}ms (Retry-After)`;
    return undefined;
  }

  /** True when this runtime can be kept across a config reload (same connection and auth settings). */
  sameAs(other: UpstreamConfig): boolean {
    return JSON.stringify(other) === JSON.stringify(this.config);
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close().catch(() => undefined);
    await this.mock?.close();
  }
}
