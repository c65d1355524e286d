/**
 * Relays an upstream stream to the client as it arrives. Same protocol: each
 * SSE event is re-emitted verbatim (no JSON round trip); across protocols it
 * is decoded to canonical events and re-encoded. Either way the events are
 * accumulated, so `observe` sees the whole answer. A stream that fails or
 * ends early after the first byte ends with an in-band error event, never as
 * a silent, complete-looking answer.
 */
import type { CanonicalResponse, StreamEvent } from '../protocol/canonical.js';
import { StreamAccumulator } from '../protocol/accumulate.js';
import { formatSse } from '../protocol/sse.js';
import type { StreamAttempt } from '../upstream/attempt.js';
import { UpstreamFailure } from '../upstream/failure.js';
import type { StreamDecoder } from '../upstream/providers/provider.js';
import type { StreamEncoder } from './render.js';

export interface StreamEnd {
  complete: boolean;
  response: CanonicalResponse;
  /** Why the stream is incomplete. */
  error?: UpstreamFailure | string;
  /** The client went away before the end. */
  cancelled: boolean;
}

export interface RelayOptions {
  attempt: StreamAttempt;
  decoder: StreamDecoder;
  /** Re-encoder into the client's protocol; null when the protocols match (verbatim relay). */
  encoder: StreamEncoder | null;
  /** For verbatim relay: renders the closing error event in the client's protocol. */
  errorEncoder: StreamEncoder;
  /** Drop usage-only chunks the client did not ask for. */
  dropUsageOnly: boolean;
  onEnd(end: StreamEnd): void;
}

function isUsageOnly(evs: StreamEvent[]): boolean {
  return evs.length === 1 && evs[0]!.type === 'usage';
}

/** The client-facing SSE text, chunk by chunk. */
export async function* relayStream(o: RelayOptions): AsyncGenerator<string, void, undefined> {
  const acc = new StreamAccumulator();
  let batch: Awaited<ReturnType<StreamAttempt['next']>> = o.attempt.first;
  let error: UpstreamFailure | string | undefined;
  let finished = false;
  try {
    while (batch !== null) {
      let out = '';
      for (const sse of batch) {
        const evs = o.decoder.push(sse.event, sse.data);
        let bad: StreamEvent | undefined;
        for (const ev of evs) {
          acc.push(ev);
          if (ev.type === 'error') bad = ev;
        }
        if (bad && bad.type === 'error') {
          error = bad.code === 'malformed_chunk' ? 'upstream sent a malformed stream chunk' : `upstream error: ${bad.message}`;
          break;
        }
        if (o.encoder) {
          for (const ev of evs) out += o.encoder.encode(ev);
        } else if (!(o.dropUsageOnly && isUsageOnly(evs))) {
          out += formatSse(sse.data, sse.event);
        }
      }
      if (out !== '') yield out;
      if (error !== undefined) break;
      batch = await o.attempt.next();
    }
    const r = acc.result();
    if (error === undefined && !r.complete) error = 'upstream stream ended before the answer was complete';
    if (error !== undefined) {
      const message = typeof error === 'string' ? error : error.message;
      yield o.errorEncoder.encode({ type: 'error', message, code: 'stream_interrupted' });
    }
    finished = true;
    o.onEnd({ complete: error === undefined, response: r.response, ...(error !== undefined ? { error } : {}), cancelled: false });
  } catch (err) {
    error = err instanceof UpstreamFailure ? err : String(err);
    const message = typeof error === 'string' ? error : error.message;
    finished = true;
    const cancelled = err instanceof UpstreamFailure && err.kind === 'aborted';
    o.onEnd({ complete: false, response: acc.result().response, error, cancelled });
    if (cancelled) return;
    yield o.errorEncoder.encode({ type: 'error', message: `upstream stream failed: ${message}`, code: 'stream_interrupted' });
  } finally {
    o.attempt.cancel();
    if (!finished) o.onEnd({ complete: false, response: acc.result().response, error: 'client disconnected', cancelled: true });
  }
}
