/**
 * Relays an upstream stream to the client as it arrives, and rescues it when
 * it fails mid-answer. Same protocol: each SSE event is re-emitted verbatim
 * (no JSON round trip); across protocols it is decoded to canonical events
 * and re-encoded. An event that cannot be parsed is skipped and counted (the
 * answer is then not cached); a stream that ends cleanly after its finish
 * reason but without its terminator is completed here.
 *
 * When the stream fails after bytes reached the client (cut, reset, stall,
 * an in-band upstream error), the answer is continued on the next candidate
 * (see `ResumeSource`): the continuation is decoded, spliced onto what was
 * delivered (`splice.ts`) and encoded in the client's protocol, so the client
 * sees one stream, with usage summed and the finishing model named. When that
 * cannot work, the stream ends with an in-band error event: never a silent,
 * complete-looking truncation, never duplicated text.
 */
import type { CanonicalResponse, Protocol, StreamEvent, Usage } from '../protocol/canonical.js';
import { StreamAccumulator } from '../protocol/accumulate.js';
import { formatSse } from '../protocol/sse.js';
import type { StreamAttempt } from '../upstream/attempt.js';
import { UpstreamFailure } from '../upstream/failure.js';
import type { StreamDecoder } from '../upstream/providers/provider.js';
import type { ClientStreamEncoder } from './render.js';
import { SpliceError, Splicer } from './splice.js';

export interface StreamEnd {
  complete: boolean;
  response: CanonicalResponse;
  /** Why the stream is incomplete. */
  error?: UpstreamFailure | string;
  /** The client went away before the end. */
  cancelled: boolean;
  /** Continuations spliced into the answer (0: one attempt answered it all). */
  resumes: number;
  /** Upstream events skipped because they could not be parsed. */
  malformed: number;
}

/** One upstream attempt feeding the relay. */
export interface Segment {
  attempt: StreamAttempt;
  decoder: StreamDecoder;
  /** Drop usage-only chunks the client did not ask for (verbatim relay). */
  dropUsageOnly: boolean;
  /** Called once when this attempt is over: `ok` when it completed the answer. */
  end(ok: boolean, failure: UpstreamFailure | undefined): void;
}

/** An attempt continuing an answer that failed mid-stream. */
export interface Continuation extends Segment {
  mode: 'prefill' | 'fresh';
  /** The prefill dropped trailing whitespace of the delivered text. */
  trimmed: boolean;
  /** The model that answers it (named in the client's chunks from now on). */
  model: string;
}

/** How one resume ended, for `switchyard_stream_resumes_total{outcome}`. */
export type ResumeOutcome =
  | 'prefill' // the candidate continued the prefill
  | 'restart' // it restarted; the repeated beginning was dropped
  | 'fresh' // a fresh generation began with the delivered text; the rest was sent
  | 'not_spliceable' // the continuation did not fit the delivered text
  | 'no_candidate' // no candidate could continue it
  | 'failed' // the continuation failed too, with no resume left
  | 'not_resumable'; // the answer cannot be continued (tool calls, resume off or used up)

/** Opens continuations: the next candidates in the chain, with prefill where accepted. */
export interface ResumeSource {
  /** How many continuations a request may use. */
  max: number;
  /** A continuation of `delivered`, or undefined when no candidate could start one. */
  open(delivered: string): Promise<Continuation | undefined>;
}

export interface RelayOptions {
  first: Segment;
  /** The client's protocol. */
  protocol: Protocol;
  /** The first attempt speaks the client's protocol: relay its events verbatim. */
  verbatim: boolean;
  /** The client-facing encoder (re-encoding, continuations, the closing error event). */
  encoder: ClientStreamEncoder;
  resume?: ResumeSource;
  onResume?(outcome: ResumeOutcome): void;
  onMalformed?(): void;
  onEnd(end: StreamEnd): void;
}

function isUsageOnly(evs: StreamEvent[]): boolean {
  return evs.length === 1 && evs[0]!.type === 'usage';
}

function isMalformed(evs: StreamEvent[]): boolean {
  return evs.length === 1 && evs[0]!.type === 'error' && evs[0].code === 'malformed_chunk';
}

/** The terminator a verbatim stream lacked (it ended cleanly after its finish reason). */
function terminator(protocol: Protocol): string {
  return protocol === 'anthropic' ? formatSse('{"type":"message_stop"}', 'message_stop') : 'data: [DONE]\n\n';
}

interface Produced {
  usage: Usage | undefined;
  /** Characters of text the attempt produced (before splicing). */
  chars: number;
}

/** Usage of a spliced answer: the sum of the attempts, estimated (4 characters a token) for one that died before reporting. */
function sumUsage(parts: Produced[]): Usage | undefined {
  if (parts.length === 1) return parts[0]!.usage;
  const input = Math.max(0, ...parts.map((p) => p.usage?.inputTokens ?? 0));
  let inputTokens = 0;
  let outputTokens = 0;
  for (const p of parts) {
    inputTokens += p.usage?.inputTokens ?? input;
    outputTokens += p.usage?.outputTokens ?? Math.ceil(p.chars / 4);
  }
  return { inputTokens, outputTokens };
}

/** The client-facing SSE text, chunk by chunk. */
export async function* relayStream(o: RelayOptions): AsyncGenerator<string, void, undefined> {
  const acc = new StreamAccumulator();
  const enc = o.encoder;
  let seg: Segment = o.first;
  let verbatim = o.verbatim;
  let splicer: Splicer | undefined;
  let pending: 'prefill' | 'fresh' | undefined; // the mode of the continuation being relayed
  let start: { id: string; created: number } | undefined;
  let delivered = '';
  let toolSeen = false;
  let resumes = 0;
  let malformed = 0;
  const produced: Produced[] = [];
  let cur: Produced = { usage: undefined, chars: 0 };
  let segOpen = true;
  let finished = false;

  const endSegment = (ok: boolean, failure: UpstreamFailure | undefined) => {
    if (!segOpen) return;
    segOpen = false;
    seg.end(ok, failure);
  };
  const finish = (end: Omit<StreamEnd, 'resumes' | 'malformed' | 'response'>) => {
    finished = true;
    const r = acc.result();
    o.onEnd({ ...end, response: r.response, resumes, malformed });
  };

  try {
    let batch: Awaited<ReturnType<StreamAttempt['next']>> = seg.attempt.first;
    for (;;) {
      let failure: UpstreamFailure | string | undefined;
      let spliceFailed = false;
      let sawFinish = false;
      let sawDone = false;
      try {
        while (batch !== null) {
          let out = '';
          for (const sse of batch) {
            const evs = seg.decoder.push(sse.event, sse.data);
            if (isMalformed(evs)) {
              malformed++;
              o.onMalformed?.();
              continue;
            }
            for (const ev of evs) {
              switch (ev.type) {
                case 'error':
                  failure = `upstream error: ${ev.message}`;
                  break;
                case 'start':
                  if (start === undefined) {
                    start = { id: ev.id, created: ev.created };
                    acc.push(ev);
                    if (!verbatim) out += enc.encode(ev);
                  }
                  break;
                case 'text': {
                  cur.chars += ev.text.length;
                  const t = splicer ? splicer.push(ev.text) : ev.text;
                  if (t === '') break;
                  delivered += t;
                  acc.push(t === ev.text ? ev : { type: 'text', text: t });
                  if (!verbatim) out += enc.encode({ type: 'text', text: t });
                  break;
                }
                case 'tool':
                  toolSeen = true;
                  acc.push(ev);
                  if (!verbatim) out += enc.encode(ev);
                  break;
                case 'finish': {
                  const rest = splicer ? splicer.end() : '';
                  if (rest !== '') {
                    delivered += rest;
                    acc.push({ type: 'text', text: rest });
                    out += enc.encode({ type: 'text', text: rest });
                  }
                  sawFinish = true;
                  acc.push(ev);
                  if (!verbatim) out += enc.encode(ev);
                  break;
                }
                case 'usage':
                  cur.usage = ev.usage;
                  break;
                case 'done':
                  sawDone = true;
                  break;
              }
              if (failure !== undefined) break;
            }
            if (failure !== undefined) break;
            if (verbatim && !(seg.dropUsageOnly && isUsageOnly(evs))) out += formatSse(sse.data, sse.event);
          }
          if (out !== '') yield out;
          if (failure !== undefined || sawDone) break;
          batch = await seg.attempt.next();
        }
        if (failure === undefined && !sawFinish) failure = 'upstream stream ended before the answer was complete';
      } catch (err) {
        if (err instanceof UpstreamFailure && err.kind === 'aborted') throw err;
        spliceFailed = err instanceof SpliceError;
        failure = spliceFailed ? `resume failed: ${(err as Error).message}` : err instanceof UpstreamFailure ? err : String(err);
        // The connection died after the finish reason: the answer is whole, only the terminator (and maybe usage) is missing.
        if (sawFinish && !spliceFailed) failure = undefined;
      }

      if (failure === undefined) {
        // Complete: a finish reason and a clean end, with or without the upstream's terminator.
        endSegment(true, undefined);
        produced.push(cur);
        if (pending !== undefined) o.onResume?.(pending === 'fresh' ? 'fresh' : splicer?.restarted ? 'restart' : 'prefill');
        const usage = sumUsage(produced);
        if (usage) acc.push({ type: 'usage', usage });
        acc.push({ type: 'done' });
        let tail = '';
        if (!verbatim) {
          if (usage) tail += enc.encode({ type: 'usage', usage });
          tail += enc.encode({ type: 'done' });
        } else if (!sawDone) tail = terminator(o.protocol);
        if (tail !== '') yield tail;
        finish({ complete: true, cancelled: false });
        return;
      }

      // A continuation that does not fit is not the upstream's fault: no breaker verdict.
      const f = failure instanceof UpstreamFailure ? failure : new UpstreamFailure('stream', failure, { code: 'stream_interrupted', retryable: true, countsAsFailure: !spliceFailed });
      seg.attempt.cancel();
      endSegment(false, f);
      produced.push(cur);
      if (pending !== undefined) o.onResume?.(spliceFailed ? 'not_spliceable' : 'failed');
      pending = undefined;

      let next: Continuation | undefined;
      if (o.resume && resumes < o.resume.max && !toolSeen) {
        resumes++;
        next = await o.resume.open(delivered);
        if (next === undefined) o.onResume?.('no_candidate');
      } else if (o.resume) o.onResume?.('not_resumable');

      if (next === undefined) {
        const message = typeof failure === 'string' ? failure : `upstream stream failed: ${failure.message}`;
        yield enc.encode({ type: 'error', message, code: 'stream_interrupted' });
        acc.push({ type: 'error', message, code: 'stream_interrupted' });
        finish({ complete: false, cancelled: false, error: failure });
        return;
      }
      if (verbatim) {
        enc.takeOver({ ...(start ?? {}), model: next.model, ...(seg.decoder.position ? { position: seg.decoder.position() } : {}) });
        verbatim = false;
      } else enc.setModel(next.model);
      seg = next;
      segOpen = true;
      pending = next.mode;
      splicer = new Splicer(delivered, next.mode, next.trimmed);
      cur = { usage: undefined, chars: 0 };
      batch = next.attempt.first;
    }
  } catch (err) {
    const cancelled = err instanceof UpstreamFailure && err.kind === 'aborted';
    const error = err instanceof UpstreamFailure ? err : String(err);
    endSegment(false, cancelled ? undefined : error instanceof UpstreamFailure ? error : undefined);
    finish({ complete: false, error, cancelled });
    if (cancelled) return;
    const message = typeof error === 'string' ? error : error.message;
    yield enc.encode({ type: 'error', message: `upstream stream failed: ${message}`, code: 'stream_interrupted' });
  } finally {
    seg.attempt.cancel();
    if (segOpen) endSegment(false, undefined);
    if (!finished) finish({ complete: false, error: 'client disconnected', cancelled: true });
  }
}
