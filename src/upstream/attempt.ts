/**
 * One HTTP attempt against one upstream, with the phase timeouts:
 * connect (pool), first token (headers + first SSE event, or the whole JSON
 * body), stream idle (pool bodyTimeout) and total. A stream is handed back as
 * soon as its first event arrived, so a failure before that can still fail
 * over without the client having seen a byte.
 */
import type { Dispatcher } from 'undici';
import { classifyUpstreamError } from '../protocol/upstream-errors.js';
import { SseParser, type SseEvent } from '../protocol/sse.js';
import { codings, decodeBody } from '../protocol/content-encoding.js';

/** Largest decompressed answer read from a compressed upstream body. */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;
import { CLIENT_ABORTED, UpstreamFailure, timeoutFailure, transportFailure } from './failure.js';
import type { UpstreamRequestSpec } from './providers/provider.js';
import { parseRetryAfter } from './retry.js';
import type { UpstreamRuntime } from './upstream.js';

export interface JsonAttempt {
  kind: 'json';
  status: number;
  json: unknown;
  /** The upstream body as received (forwarded as-is when protocols match). */
  text: string;
  ttftMs: number;
}

export interface StreamAttempt {
  kind: 'stream';
  status: number;
  /** Events of the first chunk(s); at least one. */
  first: SseEvent[];
  /** Next batch of events; `null` when the upstream ended the stream. Throws an UpstreamFailure mid-stream. */
  next(): Promise<SseEvent[] | null>;
  /** Stops reading and releases the connection (client gone, or a fatal chunk). */
  cancel(): void;
  ttftMs: number;
}

export type AttemptResult = JsonAttempt | StreamAttempt;

function failureFromAbort(signal: AbortSignal, err: unknown, beforeHeaders = false): UpstreamFailure {
  if (signal.aborted && signal.reason instanceof UpstreamFailure) return signal.reason;
  return transportFailure(err, beforeHeaders);
}

/** Reads an error response into an UpstreamFailure. */
async function statusFailure(u: UpstreamRuntime, res: Dispatcher.ResponseData): Promise<UpstreamFailure> {
  const text = await res.body.text().catch(() => '');
  const status = res.statusCode;
  const c = classifyUpstreamError(status, text, u.provider.protocol);
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
  return new UpstreamFailure('status', c.message, {
    status,
    code: c.code,
    retryable: c.retryable,
    countsAsFailure: status >= 500 || status === 408 || status === 429,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

export async function sendAttempt(
  u: UpstreamRuntime,
  spec: UpstreamRequestSpec,
  wantStream: boolean,
  clientSignal: AbortSignal | undefined,
): Promise<AttemptResult> {
  const t = u.config.timeouts;
  const ac = new AbortController();
  const started = performance.now();
  const onClientAbort = () => ac.abort(CLIENT_ABORTED);
  if (clientSignal?.aborted) throw CLIENT_ABORTED;
  clientSignal?.addEventListener('abort', onClientAbort, { once: true });
  const firstTimer = setTimeout(() => ac.abort(timeoutFailure('first token', t.firstTokenMs)), t.firstTokenMs);
  const totalTimer = setTimeout(() => ac.abort(timeoutFailure('total', t.totalMs)), t.totalMs);
  const cleanup = () => {
    clearTimeout(firstTimer);
    clearTimeout(totalTimer);
    clientSignal?.removeEventListener('abort', onClientAbort);
  };

  let res: Dispatcher.ResponseData;
  try {
    res = await u.pool.request({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body, signal: ac.signal });
  } catch (err) {
    cleanup();
    throw failureFromAbort(ac.signal, err, true);
  }

  try {
    if (res.statusCode < 200 || res.statusCode >= 300) throw await statusFailure(u, res);
    const ct = res.headers['content-type'];
    const isSse = typeof ct === 'string' && ct.includes('text/event-stream');
    const encoding = res.headers['content-encoding'];
    const coded = typeof encoding === 'string' && codings(encoding).length > 0 ? encoding : undefined;
    if (!wantStream || !isSse || coded) {
      // Switchyard asks for identity; an upstream that compresses anyway is decoded (gzip, deflate, br).
      let text: string;
      let unreadable: string | undefined;
      if (coded) {
        const d = decodeBody(Buffer.from(await res.body.arrayBuffer()), coded, MAX_DECODED_BYTES);
        text = d.ok ? d.body.toString('utf8') : '';
        if (!d.ok) unreadable = d.reason;
        // A compressed event stream would have to be decoded incrementally; upstreams asked for identity do not send one.
        else if (isSse) unreadable = `a ${coded}-compressed event stream is not read`;
      } else text = await res.body.text();
      let json: unknown;
      try {
        if (unreadable) throw new Error(unreadable);
        json = JSON.parse(text);
      } catch (e) {
        // An unreadable 2xx: the upstream answered, Switchyard cannot read it. Try the next candidate,
        // but it is not the upstream's failure: the breaker does not count it.
        // No `status`: a 2xx status would be passed through to the client with an error body (a 502 it is).
        throw new UpstreamFailure('status', `upstream sent an unreadable answer: ${unreadable ?? 'not JSON: ' + (e as Error).message}`, {
          code: 'upstream_unavailable',
          retryable: true,
          countsAsFailure: false,
        });
      }

      cleanup();
      return { kind: 'json', status: res.statusCode, json, text, ttftMs: performance.now() - started };
    }

    const parser = new SseParser();
    const it = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let first: SseEvent[] = [];
    while (first.length === 0) {
      const r = await it.next();
      if (r.done) {
        throw new UpstreamFailure('stream', 'stream ended before its first event', {
          code: 'upstream_unavailable',
          retryable: true,
          countsAsFailure: true,
        });
      }
      first = parser.push(r.value);
    }
    clearTimeout(firstTimer);
    const ttftMs = performance.now() - started;
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      cleanup();
    };
    return {
      kind: 'stream',
      status: res.statusCode,
      first,
      ttftMs,
      async next() {
        if (ended) return null;
        try {
          for (;;) {
            const r = await it.next();
            if (r.done) {
              const tail = parser.end();
              finish();
              return tail.length > 0 ? tail : null;
            }
            const evs = parser.push(r.value);
            if (evs.length > 0) return evs;
          }
        } catch (err) {
          finish();
          throw failureFromAbort(ac.signal, err);
        }
      },
      cancel() {
        if (ended) return;
        finish();
        ac.abort(CLIENT_ABORTED);
        res.body.destroy();
      },
    };
  } catch (err) {
    cleanup();
    res.body.destroy();
    throw err instanceof UpstreamFailure ? err : failureFromAbort(ac.signal, err);
  }
}
