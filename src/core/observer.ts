/**
 * The response side for faces where someone else made the upstream call
 * (Envoy's ext_proc): fed the status, then the body chunk by chunk, it feeds
 * the breaker and latency estimates, assembles the answer (JSON, or SSE
 * decoded event by event) and hands it to the core's `observe` — which only
 * caches a complete, successful answer. A cancelled exchange leaves nothing.
 */
import type { CanonicalResponse } from '../protocol/canonical.js';
import { StreamAccumulator } from '../protocol/accumulate.js';
import { SseParser } from '../protocol/sse.js';
import { UpstreamFailure } from '../upstream/failure.js';
import type { StreamDecoder } from '../upstream/providers/provider.js';
import type { Deployment } from '../upstream/registry.js';
import type { RequestContext } from './context.js';

export interface ObservedAnswer {
  status: number;
  complete: boolean;
  /** False when events had to be skipped: served, but not to be cached. */
  cacheable?: boolean;
  response?: CanonicalResponse;
  error?: string;
}

export class ResponseObserver {
  private status = 0;
  private sse = false;
  private parser: SseParser | undefined;
  private decoder: StreamDecoder | undefined;
  private acc: StreamAccumulator | undefined;
  private parts: Buffer[] = [];
  private size = 0;
  private done = false;
  private malformed = 0;
  private readonly startedAt = performance.now();

  constructor(
    readonly ctx: RequestContext,
    readonly deployment: Deployment,
    private readonly finish: (answer: ObservedAnswer) => void,
    /** Largest non-streamed body assembled for the cache; larger ones are observed but not stored. */
    private readonly maxBody = 8 * 1024 * 1024,
  ) {
    deployment.upstream.inFlight++;
  }

  /** Response headers arrived. Returns whether the body is worth sending here. */
  onHeaders(status: number, contentType: string | undefined): boolean {
    this.status = status;
    const d = this.deployment;
    const u = d.upstream;
    const ttft = performance.now() - this.startedAt;
    u.ttftMs.add(ttft);
    d.ttftMs.add(ttft);
    if (status < 200 || status >= 300) {
      const countsAsFailure = status >= 500 || status === 408 || status === 429;
      d.breaker.record(
        !countsAsFailure,
        new UpstreamFailure('status', `upstream answered ${status}`, { status, code: 'upstream_unavailable', retryable: true, countsAsFailure }),
      );
      this.end({ status, complete: false, error: `upstream status ${status}` });
      return false;
    }
    this.sse = contentType?.includes('text/event-stream') ?? false;
    if (this.sse) {
      this.parser = new SseParser();
      this.decoder = u.provider.decoder();
      this.acc = new StreamAccumulator();
    }
    return true;
  }

  /** A piece of the response body; `end` on the last one. */
  onBody(chunk: Uint8Array, end: boolean): void {
    if (this.done) return;
    if (this.sse) {
      for (const ev of this.parser!.push(chunk)) this.decode(ev.event, ev.data);
      if (!end) return;
      for (const ev of this.parser!.end()) this.decode(ev.event, ev.data);
      const r = this.acc!.result();
      // A clean end after the finish reason is a whole answer, [DONE] or not.
      const complete = r.complete || this.acc!.finished;
      this.settle(complete, r.response, complete ? undefined : 'stream ended before the answer was complete');
      return;
    }
    if (this.size + chunk.length <= this.maxBody) this.parts.push(Buffer.from(chunk));
    this.size += chunk.length;
    if (!end) return;
    if (this.size > this.maxBody) return this.settle(true, undefined, undefined);
    try {
      const json: unknown = JSON.parse(Buffer.concat(this.parts).toString('utf8'));
      const parsed = this.deployment.upstream.provider.parseResponse(this.ctx.operation, json);
      this.settle(true, 'text' in parsed ? parsed : undefined, undefined);
    } catch (e) {
      this.settle(false, undefined, `unreadable upstream answer: ${(e as Error).message}`);
    }
  }

  /** Decodes one SSE event; an unparsable one is skipped (and the answer not cached). */
  private decode(event: string | undefined, data: string): void {
    for (const e of this.decoder!.push(event, data)) {
      if (e.type === 'error' && e.code === 'malformed_chunk') this.malformed++;
      else this.acc!.push(e);
    }
  }

  /** The client or the proxy gave up: no cache write, no health verdict. */
  onAbort(): void {
    this.end({ status: 499, complete: false, error: 'client disconnected' });
  }

  private settle(complete: boolean, response: CanonicalResponse | undefined, error: string | undefined): void {
    const d = this.deployment;
    d.breaker.record(complete, complete ? undefined : new UpstreamFailure('stream', error ?? 'incomplete', { code: 'stream_interrupted', retryable: false, countsAsFailure: true }));
    if (complete) {
      const ms = performance.now() - this.startedAt;
      d.upstream.latencyMs.add(ms);
      d.latencyMs.add(ms);
    }
    this.end({ status: this.status, complete, ...(this.malformed > 0 ? { cacheable: false } : {}), ...(response ? { response } : {}), ...(error ? { error } : {}) });
  }

  private end(a: ObservedAnswer): void {
    if (this.done) return;
    this.done = true;
    this.parts = [];
    this.deployment.upstream.inFlight--;
    this.finish(a);
  }
}
