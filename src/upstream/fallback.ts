/**
 * Walks the ordered candidates: each through its breaker, with bounded
 * retries (exponential backoff with jitter, Retry-After honoured), moving on
 * along the chain on connection errors, timeouts, 429 and 5xx. A context
 * overflow skips to a model with a larger window; client errors such as a
 * content-policy rejection go straight back to the caller.
 */
import { SwitchyardError } from '../errors.js';
import { sendAttempt, type AttemptResult } from './attempt.js';
import { isOpenBreakerError } from './breaker.js';
import { UpstreamFailure, transportFailure } from './failure.js';
import type { UpstreamRequestSpec } from './providers/provider.js';
import type { Deployment } from './registry.js';
import { backoffDelay, sleep } from './retry.js';

export interface AttemptRecord {
  upstream: string;
  model: string;
  outcome: 'ok' | 'failed' | 'skipped';
  reason?: string;
  status?: number;
  ms?: number;
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
}

/** Thrown when every candidate failed; carries the attempt log for the response headers. */
export class FallbackExhausted extends SwitchyardError {
  attempts: AttemptRecord[] = [];
}

function fail(err: SwitchyardError, attempts: AttemptRecord[]): never {
  const e = new FallbackExhausted(err.code, err.message, {
    status: err.status,
    ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
    cause: err,
  });
  e.attempts = attempts;
  throw e;
}

export async function callWithFallback(candidates: readonly Deployment[], opts: FallbackOptions): Promise<FallbackSuccess> {
  const attempts: AttemptRecord[] = [];
  const log = (r: AttemptRecord) => {
    attempts.push(r);
    opts.onAttempt?.(r);
  };
  let last: { failure: UpstreamFailure; upstream: string } | undefined;
  let minContext = 0;

  for (const d of candidates) {
    const u = d.upstream;
    if (d.model.contextWindow <= minContext) {
      log({ upstream: u.name, model: d.model.name, outcome: 'skipped', reason: 'context window too small' });
      continue;
    }
    const why = u.whyUnusable();
    if (why !== undefined) {
      log({ upstream: u.name, model: d.model.name, outcome: 'skipped', reason: why });
      continue;
    }
    const spec = opts.build(d);
    const retry = u.config.retry;
    for (let n = 0; n <= retry.max; n++) {
      const t0 = performance.now();
      u.inFlight++;
      let result: AttemptResult;
      try {
        result = await u.breaker.run(() => sendAttempt(u, spec, opts.stream, opts.signal));
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
        last = { failure: f, upstream: u.name };
        if (f.code === 'context_length_exceeded') {
          minContext = Math.max(minContext, d.model.contextWindow);
          break;
        }
        if (!f.retryable) fail(f.toClientError(u.name), attempts);
        if (f.retryAfterMs !== undefined) u.coolingUntil = Math.max(u.coolingUntil, Date.now() + f.retryAfterMs);
        if (n === retry.max) break;
        if (f.retryAfterMs !== undefined && f.retryAfterMs > retry.maxRetryAfterMs) break;
        if (!u.breaker.allows) break;
        await sleep(backoffDelay(n + 1, retry, f.retryAfterMs), opts.signal).catch(() => undefined);
        if (opts.signal?.aborted) throw f;
        continue;
      }
      u.ttftMs.add(result.ttftMs);
      log({ upstream: u.name, model: d.model.name, outcome: 'ok', status: result.status, ms: performance.now() - t0 });
      let released = false;
      const release = (ok: boolean, latencyMs: number) => {
        if (released) return;
        released = true;
        u.inFlight--;
        if (ok) u.latencyMs.add(latencyMs);
      };
      if (result.kind === 'json') release(true, performance.now() - t0);
      return { result, deployment: d, spec, attempts, release };
    }
  }

  if (last) fail(last.failure.toClientError(last.upstream), attempts);
  fail(new SwitchyardError('no_upstream_available', describeUnavailable(candidates)), attempts);
}

/** A 503 message that names what to configure. */
export function describeUnavailable(candidates: readonly Deployment[]): string {
  if (candidates.length === 0) return 'no upstream is configured for this model: add one under `upstreams` in the config';
  const reasons = [...new Set(candidates.map((d) => `${d.model.name}: ${d.upstream.whyUnusable() ?? 'skipped'}`))];
  return `no upstream is available (${reasons.join('; ')})`;
}
