/**
 * The response side for faces where someone else made the upstream call
 * (Envoy's ext_proc): fed the status, then the body chunk by chunk, it feeds
 * the breaker and latency estimates, assembles the answer (JSON, or SSE
 * decoded event by event) and hands it to the core's `observe` — which only
 * caches a complete, successful answer. A cancelled exchange leaves nothing.
 *
 * A 2xx answer that cannot be read (a compression this Node cannot decode,
 * bytes that are not JSON) is recorded as unreadable: not cached, and not a
 * breaker failure — the upstream answered; Switchyard could not read it.
 */
import type { CanonicalResponse } from '../protocol/canonical.js';
import { StreamAccumulator } from '../protocol/accumulate.js';
import { canDecode, codings, decodeBody } from '../protocol/content-encoding.js';
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

/** Response headers as the observer needs them. */
export interface ObservedHead {
  status: number;
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
}

export class ResponseObserver {
  private status = 0;
  private sse = false;
  /** Non-identity content codings: the body is collected and decoded at the end. */
  private encoding: string | undefined;
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
    /** Largest body assembled for the cache; larger ones are observed (status, latency) but not stored. */
    private readonly maxBody = 8 * 1024 * 1024,
  ) {
    deployment.upstream.inFlight++;
  }

  /** Response headers arrived (or just the status and content type). Returns whether the body is worth sending here. */
  onHeaders(headOrStatus: ObservedHead | number, contentType?: string): boolean {
    const head: ObservedHead = typeof headOrStatus === 'number' ? { status: headOrStatus, contentType } : headOrStatus;
    const status = head.status;
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
    this.sse = head.contentType?.includes('text/event-stream') ?? false;
    this.encoding = codings(head.contentEncoding).length > 0 ? head.contentEncoding : undefined;
    if (this.encoding && !canDecode(this.encoding)) {
      // Not worth the body: it could not be read (e.g. zstd on Node 20).
      this.unreadable(`content-encoding ${this.encoding} cannot be decoded by this Node (${process.version})`);
      return false;
    }
    if (this.sse && !this.encoding) this.startSse();
    return true;
  }

  /**
   * A 2xx whose body will not be seen (not asked for: nothing to cache, or too
   * large to buffer): a healthy answer for the breaker, nothing stored.
   */
  skipBody(): void {
    if (!this.done) this.settle(true, undefined, undefined);
  }

  /** A piece of the response body; `end` on the last one. */
  onBody(chunk: Uint8Array, end: boolean): void {
    if (this.done) return;
    if (this.sse && !this.encoding) {
      if (chunk.length > 0) this.pushSse(chunk);
      if (end) this.endSse();
      return;
    }
    if (chunk.length > 0) {
      if (this.size + chunk.length <= this.maxBody) this.parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.size += chunk.length;
    }
    if (!end) return;
    // Too large to keep: the answer went through; there is just nothing to store.
    if (this.size > this.maxBody) return this.settle(true, undefined, undefined);
    let body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    if (this.encoding) {
      const d = decodeBody(body, this.encoding, this.maxBody);
      if (!d.ok) return this.unreadable(d.reason);
      body = d.body;
      if (this.sse) {
        this.startSse();
        this.pushSse(body);
        return this.endSse();
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return this.unreadable(`not JSON: ${(e as Error).message}`);
    }
    let parsed;
    try {
      parsed = this.deployment.upstream.provider.parseResponse(this.ctx.operation, json);
    } catch (e) {
      return this.unreadable((e as Error).message);
    }
    this.settle(true, 'text' in parsed ? parsed : undefined, undefined);
  }

  /** The client or the proxy gave up: no cache write, no health verdict. */
  onAbort(): void {
    this.end({ status: 499, complete: false, error: 'client disconnected' });
  }

  private startSse(): void {
    this.parser = new SseParser();
    this.decoder = this.deployment.upstream.provider.decoder();
    this.acc = new StreamAccumulator();
  }

  private pushSse(chunk: Uint8Array): void {
    for (const ev of this.parser!.push(chunk)) this.decode(ev.event, ev.data);
  }

  private endSse(): void {
    for (const ev of this.parser!.end()) this.decode(ev.event, ev.data);
    const r = this.acc!.result();
    // A clean end after the finish reason is a whole answer, [DONE] or not.
    const complete = r.complete || this.acc!.finished;
    this.settle(complete, r.response, complete ? undefined : 'stream ended before the answer was complete');
  }

  /** Decodes one SSE event; an unparsable one is skipped (and the answer not cached). */
  private decode(event: string | undefined, data: string): void {
    for (const e of this.decoder!.push(event, data)) {
      if (e.type === 'error' && e.code === 'malformed_chunk') this.malformed++;
      else this.acc!.push(e);
    }
  }

  /** A 2xx Switchyard cannot read: the upstream is healthy (breaker success); nothing is cached. */
  private unreadable(reason: string): void {
    const d = this.deployment;
    d.breaker.record(true);
    const ms = performance.now() - this.startedAt;
    d.upstream.latencyMs.add(ms);
    d.latencyMs.add(ms);
    this.end({ status: this.status, complete: false, error: `unreadable upstream answer: ${reason}` });
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
