/**
 * One state machine per ext_proc stream (= one HTTP request through Envoy):
 *
 *   request_headers ─► request_body (BUFFERED) ─► response_headers ─► response_body … (end) ─► done
 *         │                    │                          │
 *         └─ not an LLM route: └─ respond (hit, listing,  └─ nothing to learn (non-2xx, no body): done
 *            pass, done           rejection): immediate
 *                                 response, done
 *
 * `decide` runs on the buffered request body; a forward becomes header and
 * body mutations and a `ResponseObserver` that the response side feeds (the
 * breaker, latency, the assembled answer, the cache write). A stream that
 * ends before the answer is complete aborts the observer: no state is left
 * and nothing is cached.
 */
import { endpointFor } from '../../core/context.js';
import type { ResponseObserver } from '../../core/observer.js';
import type { Outcome } from '../../core/outcome.js';
import type { Switchyard } from '../../core/pipeline.js';
import { decisionHeaders } from '../../core/render.js';
import { planForward } from './forward.js';
import { requestHead, responseHead, type RequestHead } from './headers.js';
import { continueToBody, continueUnchanged, forwardRequest, immediate, observeResponse, passHeaders } from './mutations.js';
import type { HttpBody, HttpHeaders, ProcessingRequest, ProcessingResponse, RequestKind } from './wire.js';

/** Where a stream is in its exchange. */
export type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'done';

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
  private replyHeaders: Record<string, string> = {};

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

  /** One message in, its answer out. Messages that do not fit the phase get a no-op answer. */
  async handle(msg: ProcessingRequest): Promise<ProcessingResponse> {
    const kind = msg.request ?? KINDS.find((k) => msg[k] !== undefined);
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
        break;
      case 'response_trailers':
        // Trailers (HTTP/2 upstreams) end a body that did not say end_of_stream.
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
    this.bodyParts = [];
    this.phase = 'done';
  }

  private async onRequestHeaders(h: HttpHeaders): Promise<ProcessingResponse> {
    const head = requestHead(h.headers);
    this.head = head;
    if (!isLlmRequest(head.method, head.path)) {
      this.verdictValue = 'pass';
      this.phase = 'done';
      return passHeaders();
    }
    if (h.end_of_stream) return this.answer(await this.sy.decide({ ...head, body: EMPTY, peer: this.peer }), 'request_headers');
    this.phase = 'request_body';
    return continueToBody();
  }

  private async onRequestBody(b: HttpBody): Promise<ProcessingResponse> {
    // BUFFERED mode sends the whole body in one message (end_of_stream is false only when trailers follow).
    if (b.body && b.body.length > 0) this.bodyParts.push(Buffer.from(b.body));
    const body = this.bodyParts.length === 1 ? this.bodyParts[0]! : Buffer.concat(this.bodyParts);
    this.bodyParts = [];
    return this.answer(await this.sy.decide({ ...this.head!, body, peer: this.peer }), 'request_body');
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
    const plan = planForward(this.sy, outcome, this.head!.path);
    if (plan.type === 'respond') {
      this.verdictValue = 'respond';
      this.phase = 'done';
      return immediate(plan.out);
    }
    this.verdictValue = 'forward';
    this.observer = this.sy.observer(plan.outcome, plan.deployment);
    this.replyHeaders = decisionHeaders(plan.outcome.ctx);
    this.phase = 'response_headers';
    return forwardRequest(plan.mutation, kind);
  }

  private onResponseHeaders(h: HttpHeaders): ProcessingResponse {
    const { status, contentType } = responseHead(h.headers);
    const wanted = this.observer!.onHeaders(status, contentType);
    if (!wanted) {
      this.finish();
      return observeResponse(this.replyHeaders, 'NONE');
    }
    if (h.end_of_stream) {
      this.endResponse(EMPTY, true);
      return observeResponse(this.replyHeaders, 'NONE');
    }
    this.phase = 'response_body';
    // SSE is observed as it passes (each chunk answered at once); JSON arrives whole.
    const sse = contentType?.toLowerCase().includes('text/event-stream') ?? false;
    return observeResponse(this.replyHeaders, sse ? 'STREAMED' : 'BUFFERED');
  }

  private onResponseBody(b: HttpBody): ProcessingResponse {
    this.endResponse(b.body ?? EMPTY, b.end_of_stream === true);
    return continueUnchanged('response_body');
  }

  private endResponse(chunk: Uint8Array, end: boolean): void {
    this.observer!.onBody(chunk, end);
    if (end) this.finish();
  }

  private finish(): void {
    this.observer = undefined;
    this.phase = 'done';
  }
}
