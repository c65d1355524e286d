/**
 * The shadow request itself: the user's request, non-streamed, sent once to
 * one cheaper deployment through the same provider code and connection pool
 * as user traffic (`sendAttempt`), but outside the breaker and without
 * retries or fallback. Shadow outcomes never feed the breaker or the latency
 * estimates routing uses, so a slow or failing shadow target cannot move
 * user traffic; in-flight counts are kept, so user routing sees the real load.
 */
import { usageOf, type ObservedUsage } from '../accounting/usage.js';
import type { CanonicalRequest, CanonicalResponse, Operation } from '../protocol/canonical.js';
import { sendAttempt } from '../upstream/attempt.js';
import type { Deployment } from '../upstream/registry.js';

/** The cheap side's answer. */
export interface ShadowAnswer {
  text: string;
  usage: ObservedUsage;
  latencyMs: number;
}

/** What the shadow call needs of the user's request. */
export interface ShadowRequest {
  req: CanonicalRequest;
  raw: Record<string, unknown>;
  operation: Operation;
}

/**
 * Sends the request to `d` and returns its text answer. Throws on any
 * failure (the caller records it); `signal` aborts it (timeout, shutdown).
 */
export async function callShadow(d: Deployment, r: ShadowRequest, signal: AbortSignal): Promise<ShadowAnswer> {
  const req: CanonicalRequest = { ...r.req, stream: false };
  const raw = { ...r.raw };
  delete raw['stream'];
  delete raw['stream_options'];
  const spec = d.upstream.provider.build({ req, raw, rawBytes: undefined, upstreamModel: d.upstreamModel });
  const started = performance.now();
  d.upstream.inFlight++;
  try {
    const res = await sendAttempt(d.upstream, spec, false, signal).catch((e: unknown) => {
      throw signal.aborted ? new Error(`shadow call aborted: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}`) : e;
    });
    if (res.kind !== 'json') {
      res.cancel();
      throw new Error('upstream streamed an answer to a non-stream request');
    }
    const parsed = d.upstream.provider.parseResponse(r.operation, res.json) as CanonicalResponse;
    if (typeof parsed.text !== 'string' || parsed.text.length === 0) throw new Error('the shadow answer has no text');
    return { text: parsed.text, usage: usageOf(req, parsed)!, latencyMs: performance.now() - started };
  } finally {
    d.upstream.inFlight--;
  }
}
