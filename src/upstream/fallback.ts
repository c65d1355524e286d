/**
 * Walks the ordered candidates: each deployment through its breaker, with
 * retries bounded per failure class (`retry.on`: connect, reset, 5xx, 429,
 * timeout; exponential backoff with jitter, Retry-After honoured), moving on
 * along the chain otherwise. A silent upstream (first-token timeout) goes to
 * the next candidate by default. A context overflow moves to a model whose
 * window is larger or undeclared, never to the same model. Client errors
 * such as a content-policy rejection go straight back to the caller.
 */
import { SwitchyardError } from '../errors.js';
import { sendAttempt, type AttemptResult } from './attempt.js';
import { isOpenBreakerError } from './breaker.js';
import { UpstreamFailure, transportFailure, type RetryClass } from './failure.js';
import type { UpstreamRequestSpec } from './providers/provider.js';
import type { Deployment } from './registry.js';
import { backoffDelay, sleep } from './retry.js';
import { localDownReason } from './probe.js';

export interface AttemptRecord {
  upstream: string;
  model: string;
  outcome: 'ok' | 'failed' | 'skipped';
  reason?: string;
  status?: number;
  ms?: number;
  /** This attempt continued an answer that failed mid-stream (`prefill` or `fresh` generation). */
  resume?: 'prefill' | 'fresh';
}

export interface FallbackSuccess {
  result: AttemptResult;
  deployment: Deployment;
  spec: UpstreamRequestSpec;
  attempts: AttemptRecord[];
  /** Marks the end of the call for load accounting; call once the answer is fully read. */
  release(ok: boolean, latencyMs: number): void;
}

export interface FallbackOptions {
  stream: boolean;
  signal?: AbortSignal;
  build(d: Deployment): UpstreamRequestSpec;
  /** Called for every attempt, for metrics and events. */
  onAttempt?(rec: AttemptRecord): void;
  /** Tags the attempt records (resume attempts). */
  tag?: Pick<AttemptRecord, 'resume'>;
}

/** Thrown when every candidate failed; carries the attempt log for the response headers. */
export class FallbackExhausted extends SwitchyardError {
  attempts: AttemptRecord[] = [];
  /** The last upstream failure, when there was one. */
  failure: UpstreamFailure | undefined;
}

function fail(err: SwitchyardError, attempts: AttemptRecord[], failure?: UpstreamFailure): never {
  const e = new FallbackExhausted(err.code, err.message, {
    status: err.status,
    ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
    cause: err,
  });
  e.attempts = attempts;
  e.failure = failure;
  throw e;
}

/** Tracks context overflows: the models that overflowed and the largest declared window among them. */
class ContextFloor {
  private readonly overflowed = new Set<string>();
  private minWindow = 0;

  add(d: Deployment): void {
    this.overflowed.add(d.upstreamModel);
    this.overflowed.add(d.model.name);
    if (d.model.contextWindow !== undefined) this.minWindow = Math.max(this.minWindow, d.model.contextWindow);
  }

  /** Why `d` cannot take a request that overflowed before; undefined when it may. */
  rules(d: Deployment): string | undefined {
    if (this.overflowed.size === 0) return undefined;
    if (this.overflowed.has(d.upstreamModel) || this.overflowed.has(d.model.name)) return 'same model overflowed its context';
    if (d.model.contextWindow !== undefined && d.model.contextWindow <= this.minWindow) return 'context window too small';
    return undefined;
  }
}

export async function callWithFallback(candidates: readonly Deployment[], opts: FallbackOptions): Promise<FallbackSuccess> {
  const attempts: AttemptRecord[] = [];
  const log = (r: AttemptRecord) => {
    const rec = opts.tag?.resume ? { ...r, resume: opts.tag.resume } : r;
    attempts.push(rec);
    opts.onAttempt?.(rec);
  };
  let last: { failure: UpstreamFailure; upstream: string; local: boolean } | undefined;
  const context = new ContextFloor();

  for (const d of candidates) {
    const u = d.upstream;
    const ruled = context.rules(d);
    if (ruled !== undefined) {
      log({ upstream: u.name, model: d.model.name, outcome: 'skipped', reason: ruled });
      continue;
    }
    const why = d.whyUnusable();
    if (why !== undefined) {
      log({ upstream: u.name, model: d.model.name, outcome: 'skipped', reason: why });
      continue;
    }
    const spec = opts.build(d);
    const retry = u.config.retry;
    const used: Partial<Record<RetryClass, number>> = {};
    let retries = 0;
    for (;;) {
      const t0 = performance.now();
      u.inFlight++;
      let result: AttemptResult;
      try {
        result = await d.breaker.run(() => sendAttempt(u, spec, opts.stream, opts.signal));
      } catch (err) {
        u.inFlight--;
        if (isOpenBreakerError(err)) {
          log({ upstream: u.name, model: d.model.name, outcome: 'skipped', reason: 'breaker open' });
          break;
        }
        const f = err instanceof UpstreamFailure ? err : transportFailure(err);
        if (f.kind === 'aborted') throw f;
        log({
          upstream: u.name,
          model: d.model.name,
          outcome: 'failed',
          reason: f.message,
          ...(f.status !== undefined ? { status: f.status } : {}),
          ms: performance.now() - t0,
        });
        // Connection-level: the upstream's connection breaker, which every deployment of it consults.
        if (f.connection) {
          u.breaker.record(false, f);
          // A local sidecar that refuses connections is down until its probe answers again.
          if (u.config.local) u.markDown(localDownReason(u, f.message));
        }
        last = { failure: f, upstream: u.name, local: u.config.local };
        if (f.code === 'context_length_exceeded') {
          context.add(d);
          break;
        }
        if (!f.retryable) fail(f.toClientError(u.name), attempts, f);
        if (f.retryAfterMs !== undefined) d.coolingUntil = Math.max(d.coolingUntil, Date.now() + f.retryAfterMs);
        const cls = f.retryClass;
        if (cls === undefined || retries >= retry.max || (used[cls] ?? 0) >= retry.on[cls]) break;
        if (f.retryAfterMs !== undefined && f.retryAfterMs > retry.maxRetryAfterMs) break;
        if (!d.breaker.allows || !u.breaker.allows) break;
        used[cls] = (used[cls] ?? 0) + 1;
        retries++;
        await sleep(backoffDelay(retries, retry, f.retryAfterMs), opts.signal).catch(() => undefined);
        if (opts.signal?.aborted) throw f;
        continue;
      }
      u.breaker.record(true); // the connection breaker judges a failure rate, so successes count too
      u.ttftMs.add(result.ttftMs);
      d.ttftMs.add(result.ttftMs);
      log({ upstream: u.name, model: d.model.name, outcome: 'ok', status: result.status, ms: performance.now() - t0 });
      let released = false;
      const release = (ok: boolean, latencyMs: number) => {
        if (released) return;
        released = true;
        u.inFlight--;
        if (ok) {
          u.latencyMs.add(latencyMs);
          d.latencyMs.add(latencyMs);
        }
      };
      if (result.kind === 'json') release(true, performance.now() - t0);
      return { result, deployment: d, spec, attempts, release };
    }
  }

  // Only local upstreams that are not running: a 503 naming what to start, not a 502.
  if (last && !(last.failure.connection && last.local)) {
    fail(last.failure.toClientError(last.upstream), attempts, last.failure);
  }
  fail(new SwitchyardError('no_upstream_available', describeUnavailable(candidates)), attempts);
}

/** A 503 message that names what to configure or start. */
export function describeUnavailable(candidates: readonly Deployment[]): string {
  if (candidates.length === 0) return 'no upstream is configured for this model: add one under `upstreams` in the config';
  const reasons = [...new Set(candidates.map((d) => `${d.model.name}: ${d.whyUnusable() ?? 'skipped'}`))];
  return `no upstream is available (${reasons.join('; ')})`;
}
