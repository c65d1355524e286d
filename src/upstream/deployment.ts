/**
 * One deployment: a model on the upstream that serves it. Health is kept
 * here, per deployment, so one overloaded model (429/503) never takes its
 * provider's other models down: its own breaker, Retry-After cool-down and
 * latency estimates. Connection-level failures (refused, DNS, TLS, reset
 * before headers) go to the upstream's connection breaker instead, which
 * every deployment of that upstream consults.
 */
import type { ModelConfig } from '../config/schema.js';
import { UpstreamBreaker } from './breaker.js';
import { Ewma, type UpstreamRuntime } from './upstream.js';

/**
 * A model on an upstream, with its own health.
 *
 * @example
 * const d = registry.deployment('gpt-4o')!;
 * if (!d.usable()) console.log(d.whyUnusable()); // 'gpt-4o@openai: breaker open'
 */
export class Deployment {
  /** The name sent upstream. */
  readonly upstreamModel: string;
  /** Counts every failure of calls to this model (4xx client errors but 408/429 excepted). */
  readonly breaker: UpstreamBreaker;
  /** No new calls before this time (ms since epoch), set from Retry-After. */
  coolingUntil = 0;
  /** Time to first byte (streams) and whole-answer latency, per deployment. */
  readonly ttftMs = new Ewma();
  readonly latencyMs = new Ewma();

  constructor(
    readonly model: ModelConfig,
    readonly upstream: UpstreamRuntime,
  ) {
    this.upstreamModel = model.upstreamModel ?? model.name;
    this.breaker = new UpstreamBreaker(this.name, upstream.config.breaker);
  }

  /** `model@upstream`, the label used in health and metrics. */
  get name(): string {
    return `${this.model.name}@${this.upstream.name}`;
  }

  /** Can a request be sent here now? */
  usable(now = Date.now()): boolean {
    return this.upstream.usable(now) && this.breaker.allows && this.coolingUntil <= now;
  }

  /** Why `usable()` is false, for the decision's explanation. */
  whyUnusable(now = Date.now()): string | undefined {
    const u = this.upstream.whyUnusable(now);
    if (u !== undefined) return u;
    if (!this.breaker.allows) return `${this.name}: breaker ${this.breaker.state}`;
    if (this.coolingUntil > now) return `${this.name}: cooling down ${this.coolingUntil - now}ms (Retry-After)`;
    return undefined;
  }

  /** Whether this deployment's state can be kept across a reload that kept its upstream. */
  sameAs(m: ModelConfig, u: UpstreamRuntime): boolean {
    return u === this.upstream && JSON.stringify(m) === JSON.stringify(this.model);
  }

  close(): void {
    this.breaker.shutdown();
  }
}
