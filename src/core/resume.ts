/**
 * The pipeline's side of mid-stream resume: how an upstream stream becomes a
 * relay segment (its end releases the call and feeds the deployment's
 * breaker), and how a continuation is opened on the candidates after the one
 * that failed: prefill where accepted, a fresh generation otherwise.
 */
import { FallbackExhausted, callWithFallback, type FallbackSuccess } from '../upstream/fallback.js';
import type { StreamAttempt } from '../upstream/attempt.js';
import { UpstreamFailure } from '../upstream/failure.js';
import { acceptsPrefill, prefillInput } from '../upstream/prefill.js';
import type { Deployment } from '../upstream/deployment.js';
import type { RequestContext } from './context.js';
import type { Continuation, Segment } from './stream.js';

/**
 * One upstream stream as the relay consumes it.
 *
 * @example
 * relayStream({ first: segmentFor(ctx, ok, ok.result), ... });
 */
export function segmentFor(ctx: RequestContext, ok: FallbackSuccess, a: StreamAttempt): Segment {
  const d = ok.deployment;
  return {
    attempt: a,
    decoder: d.upstream.provider.decoder(),
    dropUsageOnly: ok.spec.injectedStreamUsage,
    end: (complete, failure) => {
      ok.release(complete, performance.now() - ctx.startedAt);
      if (!complete && failure?.countsAsFailure) d.breaker.record(false, failure);
    },
  };
}

/** A 4xx that means "not like this" (a rejected prefill), as opposed to overload or a context overflow. */
function rejectedAsBadRequest(e: unknown): boolean {
  if (!(e instanceof FallbackExhausted) || e.failure === undefined) return false;
  const st = e.failure.status;
  return st !== undefined && st >= 400 && st < 500 && st !== 408 && st !== 429 && e.failure.code !== 'context_length_exceeded';
}

/**
 * Opens a continuation of `delivered` on the candidates after `failed`:
 * prefill where the candidate accepts it (a fresh generation on the same
 * candidate when it rejects the prefill with a 4xx), a fresh generation
 * otherwise. Every attempt is appended to `ctx.attempts`. Undefined when no
 * candidate could start one.
 *
 * @example
 * const next = await openContinuation(ctx, outcome.candidates, failedDeployment, 'The answer is', signal);
 */
export async function openContinuation(
  ctx: RequestContext,
  candidates: readonly Deployment[],
  failed: Deployment,
  delivered: string,
  signal: AbortSignal | undefined,
): Promise<{ continuation: Continuation; deployment: Deployment } | undefined> {
  const from = candidates.indexOf(failed);
  for (const d of candidates.slice(from + 1)) {
    const modes: ('prefill' | 'fresh')[] = delivered.trim() !== '' && acceptsPrefill(d) ? ['prefill', 'fresh'] : ['fresh'];
    for (const mode of modes) {
      const base = { req: ctx.req, raw: ctx.raw, rawBytes: ctx.rawBytes, upstreamModel: d.upstreamModel };
      const pre = mode === 'prefill' ? prefillInput(base, delivered) : undefined;
      let ok: FallbackSuccess;
      try {
        ok = await callWithFallback([d], {
          stream: true,
          ...(signal ? { signal } : {}),
          tag: { resume: mode },
          build: (x) => x.upstream.provider.build({ ...(pre ? pre.input : base), upstreamModel: x.upstreamModel }),
        });
      } catch (e) {
        if (e instanceof UpstreamFailure && e.kind === 'aborted') throw e;
        if (e instanceof FallbackExhausted) ctx.attempts.push(...e.attempts);
        if (mode === 'prefill' && rejectedAsBadRequest(e)) continue;
        break;
      }
      ctx.attempts.push(...ok.attempts);
      if (ok.result.kind !== 'stream') {
        // It ignored `stream`: a JSON answer cannot be spliced into the stream.
        ok.release(false, 0);
        break;
      }
      const seg = segmentFor(ctx, ok, ok.result);
      return { deployment: d, continuation: { ...seg, mode, trimmed: pre?.trimmed ?? false, model: d.model.name } };
    }
  }
  return undefined;
}
