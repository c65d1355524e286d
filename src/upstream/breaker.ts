/**
 * opossum circuit breakers: one per deployment (upstream × model) and one
 * connection breaker per upstream.
 *
 * Express and `serve` run each upstream call through `run()`. Under Envoy the
 * proxy makes the call, so the observed outcome is fed in with `record()`.
 * Errors marked `countsAsFailure: false` (4xx client errors other than 408
 * and 429) pass through opossum's `errorFilter` and never trip the breaker.
 */
import CircuitBreaker from 'opossum';
import type { BreakerConfig } from '../config/schema.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** An error that says whether it should count against the upstream's health. */
export interface HealthAwareError {
  countsAsFailure?: boolean;
  /** A connection-level failure (refused, DNS, TLS, reset before headers). */
  connection?: boolean;
}

type Action = () => Promise<unknown>;

export class UpstreamBreaker {
  readonly name: string;
  readonly circuit: CircuitBreaker<[Action], unknown>;

  /** `ignore`: errors that do not count (default: those marked `countsAsFailure: false`). */
  constructor(name: string, cfg: BreakerConfig, ignore: (err: HealthAwareError | undefined) => boolean = (err) => err?.countsAsFailure === false) {
    this.name = name;
    this.circuit = new CircuitBreaker<[Action], unknown>((fn: Action) => fn(), {
      name,
      // Timeouts are enforced per phase by the upstream client, which can abort the socket.
      timeout: false,
      errorThresholdPercentage: cfg.errorThresholdPercentage,
      volumeThreshold: cfg.volumeThreshold,
      resetTimeout: cfg.resetTimeoutMs,
      rollingCountTimeout: cfg.rollingCountTimeoutMs,
      errorFilter: (err: HealthAwareError | undefined) => ignore(err),
    });
  }

  /** Runs `fn` through the breaker; rejects with code `EOPENBREAKER` when open. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.circuit.fire(fn) as Promise<T>;
  }

  /** Feeds an outcome observed elsewhere (Envoy's upstream call, a stream that died mid-answer). */
  record(ok: boolean, err?: Error & HealthAwareError): void {
    const fn: Action = ok ? () => Promise.resolve() : () => Promise.reject(err ?? new Error('upstream failure'));
    this.circuit.fire(fn).catch(() => undefined);
  }

  get state(): BreakerState {
    if (this.circuit.opened) return 'open';
    if (this.circuit.halfOpen) return 'half-open';
    return 'closed';
  }

  /** True when a call would be let through now: closed, or half-open with the probe slot free. */
  get allows(): boolean {
    return this.circuit.closed || this.circuit.pendingClose;
  }

  shutdown(): void {
    this.circuit.shutdown();
  }
}

export function isOpenBreakerError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'EOPENBREAKER';
}
