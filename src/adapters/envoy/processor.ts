/**
 * One state machine per ext_proc stream (= one HTTP request through Envoy):
 *
 *   request_headers ─► request_body (BUFFERED) ─► response_headers ─► response_body … (end) ─► done
 *         │                    │                          │
 *         └─ not an LLM route: └─ respond (hit, listing,  ├─ nothing to learn (no body): done
 *            pass, done           rejection): immediate   ├─ 2xx SSE: response_body (STREAMED, always:
 *                                 response, done          │  in-band errors redacted, sse-redact.ts)
 *                                                         └─ non-2xx: error_body (BUFFERED, secrets
 *                                                             redacted) or a clean error, done
 *
 * `decide` runs on the buffered request body; a forward becomes header and
 * body mutations and a `ResponseObserver` that the response side feeds (the
 * breaker, latency, the assembled answer, the cache write). A stream that
 * ends before the answer is complete aborts the observer: no state is left
 * and nothing is cached.
 */
import { endpointFor, protocolForPath, type RequestContext } from '../../core/context.js';
import type { ResponseObserver } from '../../core/observer.js';
import type { Outcome } from '../../core/outcome.js';
import type { Switchyard } from '../../core/pipeline.js';
import { decisionHeaders, errorOutcome } from '../../core/render.js';
import { SwitchyardError } from '../../errors.js';
import { redactForClient } from '../../observability/known-secrets.js';
import { classifyUpstreamError } from '../../protocol/upstream-errors.js';
import { ROUTING_HEADER, planForward } from './forward.js';
import { requestHead, responseHead, setHeaders, type RequestHead, type ResponseHead } from './headers.js';
import { continueToBody, continueUnchanged, forwardRequest, immediate, observeResponse, passHeaders, replaceResponseBody, replaceResponseChunk } from './mutations.js';
import { SseRedactor } from './sse-redact.js';
import type { BodySendMode, HeaderValueOption, HttpBody, HttpHeaders, ProcessingRequest, ProcessingResponse, RequestKind } from './wire.js';

/** Where a stream is in its exchange. */
export type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'error_body' | 'done';

/** What the processor concluded, for logs, metrics and tests. */
export type Verdict = 'pending' | 'pass' | 'respond' | 'forward';

const EMPTY = Buffer.alloc(0);
const KINDS: readonly RequestKind[] = ['request_headers', 'request_body', 'response_headers', 'response_body', 'request_trailers', 'response_trailers'];

/** Is this request one the core serves (the same test the Node face applies)? */
export function isLlmRequest(method: string, path: string): boolean {
  return endpointFor(path) !== undefined || (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models?')));
}

/**
 * The per-stream state machine. Feed it the messages of one stream in order
 * with {@link handle}; call {@link close} when the stream ends for any reason.
 *
 * @example
 * const p = new StreamProcessor(switchyard);
 * call.on('data', async (m) => call.write(await p.handle(m)));
 * call.on('cancelled', () => p.close());
 */
export class StreamProcessor {
  private phase: Phase = 'request_headers';
  private verdictValue: Verdict = 'pending';
  private head: RequestHead | undefined;
  private bodyParts: Buffer[] = [];
  private observer: ResponseObserver | undefined;
  private replyHeaders: HeaderValueOption[] = [];
  /** A 2xx SSE answer being relayed: its in-band errors are redacted chunk by chunk. */
  private redactor: SseRedactor | undefined;

  /**
   * @param peer The address of the Envoy talking to us (from the gRPC peer):
   *   header-mode identity trusts the headers Envoy forwards after its own
   *   filters (jwt_authn, the identity-header strip) only from it.
   */
  constructor(
    private readonly sy: Switchyard,
    private readonly peer?: string,
  ) {}

  /** The current phase. */
  get state(): Phase {
    return this.phase;
  }

  /** What was decided for this request so far. */
  get verdict(): Verdict {
    return this.verdictValue;
  }

  /**
   * One message in, its answer out. Messages that do not fit the phase get a
   * no-op answer. Only a decision waits (a promise); every other answer comes
   * back at once, so the server writes it without a promise per message.
   */
  handle(msg: ProcessingRequest): ProcessingResponse | Promise<ProcessingResponse> {
    const kind = msg.request ?? KINDS.find((k) => msg[k] != null);
    switch (kind) {
      case 'request_headers':
        if (this.phase === 'request_headers') return this.onRequestHeaders(msg.request_headers ?? {});
        break;
      case 'request_body':
        if (this.phase === 'request_body') return this.onRequestBody(msg.request_body ?? {});
        break;
      case 'response_headers':
        if (this.phase === 'response_headers') return this.onResponseHeaders(msg.response_headers ?? {});
        break;
      case 'response_body':
        if (this.phase === 'response_body') return this.onResponseBody(msg.response_body ?? {});
        if (this.phase === 'error_body') return this.onErrorBody(msg.response_body ?? {});
        break;
      case 'response_trailers':
        // Trailers (HTTP/2 upstreams) end a body that did not say end_of_stream.
        // Bytes a redactor still holds then are dropped (a trailers answer carries no body); SSE
        // upstreams end their chunks on event boundaries, so it holds none in practice.
        if (this.phase === 'response_body') this.endResponse(EMPTY, true);
        break;
      case 'request_trailers':
      case undefined:
        break;
    }
    if (kind === undefined) throw new Error('ProcessingRequest without a request member');
    return continueUnchanged(kind);
  }

  /** The stream is over (ended, cancelled or failed): drop state; an unfinished answer is aborted, never cached. */
  close(): void {
    if (this.phase === 'response_headers' || this.phase === 'response_body') this.observer?.onAbort();
    this.observer = undefined;
    this.redactor = undefined;
    this.bodyParts = [];
    this.phase = 'done';
  }

  private onRequestHeaders(h: HttpHeaders): ProcessingResponse | Promise<ProcessingResponse> {
    const head = requestHead(h.headers);
    this.head = head;
    // A client-sent routing header means envoy.yaml's early header mutation is missing: drop it and re-pick the route.
    const spoofed = head.headers[ROUTING_HEADER] !== undefined;
    if (!isLlmRequest(head.method, head.path)) {
      this.verdictValue = 'pass';
      this.phase = 'done';
      return passHeaders(spoofed);
    }
    if (h.end_of_stream) return this.sy.decide({ ...head, body: EMPTY, peer: this.peer, face: 'envoy' }).then((o) => this.answer(o, 'request_headers'));
    // Larger than Switchyard takes (or than Envoy can buffer): say so in the API's format before Envoy buffers it.
    const cl = head.headers['content-length'];
    const limit = Math.min(this.sy.config.server.bodyLimitBytes, this.sy.config.envoy.listenerBufferLimitBytes);
    if (typeof cl === 'string' && /^\d+$/.test(cl) && Number(cl) > limit) {
      this.verdictValue = 'respond';
      this.phase = 'done';
      const err = new SwitchyardError('body_too_large', `request body is ${cl} bytes; the limit is ${limit}`);
      return immediate(errorOutcome(err, protocolForPath(head.path), undefined));
    }
    this.phase = 'request_body';
    return continueToBody(spoofed);
  }

  private onRequestBody(b: HttpBody): Promise<ProcessingResponse> {
    // BUFFERED mode sends the whole body in one message (end_of_stream is false only when trailers follow).
    if (b.body && b.body.length > 0) this.bodyParts.push(Buffer.isBuffer(b.body) ? b.body : Buffer.from(b.body));
    const body = this.bodyParts.length === 1 ? this.bodyParts[0]! : Buffer.concat(this.bodyParts);
    this.bodyParts = [];
    return this.sy.decide({ ...this.head!, body, peer: this.peer, face: 'envoy' }).then((o) => this.answer(o, 'request_body'));
  }

  private answer(outcome: Outcome, kind: 'request_headers' | 'request_body'): ProcessingResponse {
    if (outcome.type === 'pass') {
      this.verdictValue = 'pass';
      this.phase = 'done';
      return kind === 'request_headers' ? passHeaders() : continueUnchanged(kind);
    }
    if (outcome.type === 'respond') {
      this.verdictValue = 'respond';
      this.phase = 'done';
      return immediate(outcome);
    }
    const plan = planForward(this.sy, outcome, this.head!.path, this.head!.headers);
    if (plan.type === 'respond') {
      this.verdictValue = 'respond';
      this.phase = 'done';
      return immediate(plan.out);
    }
    this.verdictValue = 'forward';
    this.observer = this.sy.observer(plan.outcome, plan.deployment);
    this.replyHeaders = setHeaders(Object.entries(decisionHeaders(plan.outcome.ctx)));
    this.phase = 'response_headers';
    this.head = undefined;
    return forwardRequest(plan.mutation, kind);
  }

  /**
   * How the response body should come, per route and size: not at all when
   * there is nothing to learn from it (an error status, an embedding, an
   * answer that will not be cached or settled) or when it is larger than
   * Envoy may buffer; BUFFERED for a JSON answer of known length up to
   * `envoy.bufferedResponseMaxBytes`; STREAMED (each chunk answered at once,
   * nothing held) for SSE and JSON of unknown length. Envoy turns a BUFFERED
   * body above the listener's buffer limit into a 500, so nothing else may be
   * buffered.
   */
  private onResponseHeaders(h: HttpHeaders): ProcessingResponse {
    const head = responseHead(h.headers);
    const observer = this.observer!;
    const ok = head.status >= 200 && head.status < 300;
    // A 2xx event stream may carry an in-band error quoting a key: always see it (STREAMED) to redact it.
    const sse = ok && h.end_of_stream !== true && head.contentType?.includes('text/event-stream') === true && head.contentEncoding === undefined;
    if (!observer.onHeaders(head)) {
      const ctx = observer.ctx;
      this.finish();
      if (sse) return this.relayRedacted();
      if (ok) return observeResponse(this.replyHeaders, 'NONE');
      return this.errorAnswer(head, ctx, h.end_of_stream === true);
    }
    if (h.end_of_stream) {
      this.endResponse(EMPTY, true);
      return observeResponse(this.replyHeaders, 'NONE');
    }
    const mode = this.bodyMode(head.contentType, head.contentLength);
    if (mode === 'NONE') {
      observer.skipBody();
      this.finish();
      if (sse) return this.relayRedacted();
    } else {
      this.phase = 'response_body';
      if (sse) this.redactor = new SseRedactor();
    }
    return observeResponse(this.replyHeaders, mode);
  }

  /**
   * A non-2xx upstream answer, which Envoy relays to the client as is: its
   * body may echo the configured key (`Incorrect API key provided: zz-live-…`).
   * A body of known length that Envoy can buffer comes BUFFERED and is
   * answered with a redacted copy ({@link onErrorBody}); one of unknown or
   * too large a length, or compressed, cannot be redacted safely (a key split
   * across STREAMED chunks would slip through), so it is replaced by a clean
   * error in the caller's protocol with the upstream's status.
   */
  private errorAnswer(head: ResponseHead, ctx: RequestContext, empty: boolean): ProcessingResponse {
    const protocol = ctx.protocol;
    if (empty || head.contentLength === 0) return observeResponse(this.replyHeaders, 'NONE');
    const envoy = this.sy.config.envoy;
    const limit = Math.min(envoy.bufferedResponseMaxBytes, envoy.listenerBufferLimitBytes);
    const plain = head.contentEncoding === undefined || head.contentEncoding.trim().toLowerCase() === 'identity';
    if (plain && head.contentLength !== undefined && head.contentLength <= limit) {
      this.phase = 'error_body';
      return observeResponse(this.replyHeaders, 'BUFFERED');
    }
    const cls = classifyUpstreamError(head.status, '', protocol);
    const why = head.contentLength === undefined ? 'of unknown length' : plain ? `of ${head.contentLength} bytes` : `${head.contentEncoding}-encoded`;
    const err = new SwitchyardError(cls.code, `upstream ${protocol} error (HTTP ${head.status}); its body (${why}) is withheld`, { status: head.status });
    return immediate(errorOutcome(err, protocol, ctx));
  }

  /** The buffered body of a non-2xx answer: passed on unchanged unless it holds a secret, else redacted (content-length fixed). */
  private onErrorBody(b: HttpBody): ProcessingResponse {
    this.phase = 'done';
    const raw = b.body ?? EMPTY;
    const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
    const clean = redactForClient(text);
    return clean === text ? continueUnchanged('response_body') : replaceResponseBody(Buffer.from(clean, 'utf8'));
  }

  /** A 2xx SSE answer nobody learns from: streamed anyway, only to redact in-band errors. */
  private relayRedacted(): ProcessingResponse {
    this.phase = 'response_body';
    this.redactor = new SseRedactor();
    return observeResponse(this.replyHeaders, 'STREAMED');
  }

  private bodyMode(contentType: string | undefined, contentLength: number | undefined): BodySendMode {
    if (!this.sy.wantsAnswerBody(this.observer!.ctx)) return 'NONE';
    if (contentType?.includes('text/event-stream')) return 'STREAMED';
    if (contentLength === undefined) return 'STREAMED';
    return contentLength <= this.sy.config.envoy.bufferedResponseMaxBytes ? 'BUFFERED' : 'NONE';
  }

  private onResponseBody(b: HttpBody): ProcessingResponse {
    const chunk = b.body ?? EMPTY;
    const end = b.end_of_stream === true;
    const redactor = this.redactor;
    this.endResponse(chunk, end);
    const out = redactor?.push(chunk, end);
    return out === undefined ? continueUnchanged('response_body') : replaceResponseChunk(out);
  }

  /** Feeds the observer (if one still listens) the upstream's bytes as they came. */
  private endResponse(chunk: Uint8Array, end: boolean): void {
    this.observer?.onBody(chunk, end);
    if (end) this.finish();
  }

  private finish(): void {
    this.observer = undefined;
    this.redactor = undefined;
    this.phase = 'done';
  }
}
