/**
 * Assembling a streamed answer from canonical events, and replaying a stored
 * answer as events (cache hits served as SSE).
 */
import type { CanonicalResponse, FinishReason, StreamEvent, ToolCall, Usage } from './canonical.js';
import { newId, nowSeconds } from './wire-util.js';

/**
 * Collects stream events into a response. The answer is complete only when a
 * finish reason and the end of stream (`done`) were both seen and no error
 * was, so a truncated or failed stream is never cached as a whole answer.
 *
 * @example
 * const acc = new StreamAccumulator();
 * for (const ev of events) acc.push(ev);
 * const { response, complete } = acc.result();
 */
export class StreamAccumulator {
  private id = '';
  private model = '';
  private created = 0;
  private readonly text: string[] = [];
  private readonly tools = new Map<number, ToolCall>();
  private finish: FinishReason | undefined;
  private finishUnknown = false;
  private usage: Usage | undefined;
  private done = false;
  private error = false;

  /** Adds one event. */
  push(ev: StreamEvent): void {
    switch (ev.type) {
      case 'start':
        if (this.id === '') {
          this.id = ev.id;
          this.model = ev.model;
          this.created = ev.created;
        }
        return;
      case 'text':
        this.text.push(ev.text);
        return;
      case 'tool': {
        let call = this.tools.get(ev.index);
        if (!call) {
          call = { id: '', name: '', arguments: '' };
          this.tools.set(ev.index, call);
        }
        if (ev.id !== undefined) call.id = ev.id;
        if (ev.name !== undefined) call.name = ev.name;
        if (ev.argumentsDelta !== undefined) call.arguments += ev.argumentsDelta;
        return;
      }
      case 'finish':
        this.finish = ev.reason;
        this.finishUnknown = ev.unknown === true;
        return;
      case 'usage':
        this.usage = ev.usage;
        return;
      case 'error':
        this.error = true;
        return;
      case 'done':
        this.done = true;
    }
  }

  /** A finish reason was seen and no error: the answer is whole even if the stream's terminator never came. */
  get finished(): boolean {
    return this.finish !== undefined && !this.error;
  }

  /** The answer so far; `complete` is false for a truncated or failed stream (`finishReason` is then `error` if none was seen). */
  result(): { response: CanonicalResponse; complete: boolean } {
    const response: CanonicalResponse = {
      id: this.id !== '' ? this.id : newId('chatcmpl-'),
      model: this.model,
      created: this.created > 0 ? this.created : nowSeconds(),
      text: this.text.join(''),
      finishReason: this.error ? 'error' : this.finish ?? 'error',
    };
    if (this.tools.size > 0) {
      response.toolCalls = [...this.tools.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([, c]) => ({ id: c.id !== '' ? c.id : newId('call_'), name: c.name, arguments: c.arguments }));
    }
    if (this.usage) response.usage = { ...this.usage };
    if (this.finishUnknown) response.finishUnknown = true;
    return { response, complete: this.finish !== undefined && this.done && !this.error };
  }
}

/**
 * The event sequence that replays a complete stored answer:
 * start, text, one `tool` event per call, finish, usage, done.
 *
 * @example
 * let sse = '';
 * for (const ev of replayEvents(cached)) sse += encoder.encode(ev);
 */
export function replayEvents(resp: CanonicalResponse): StreamEvent[] {
  const out: StreamEvent[] = [{ type: 'start', id: resp.id, model: resp.model, created: resp.created }];
  if (resp.text !== '') out.push({ type: 'text', text: resp.text });
  resp.toolCalls?.forEach((c, index) => {
    out.push({ type: 'tool', index, id: c.id, name: c.name, argumentsDelta: c.arguments });
  });
  out.push({ type: 'finish', reason: resp.finishReason });
  if (resp.usage) out.push({ type: 'usage', usage: { ...resp.usage } });
  out.push({ type: 'done' });
  return out;
}
