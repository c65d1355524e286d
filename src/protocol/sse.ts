/**
 * Server-sent events: an incremental parser and a writer.
 *
 * The parser follows the WHATWG event-stream rules (CRLF, LF or CR line ends;
 * `data` lines joined by `\n`; comments ignored) and is byte-safe: chunks may
 * split anywhere, including inside a multi-byte UTF-8 character or between
 * `\r` and `\n`. It runs on every streamed chunk, so it scans with `indexOf`
 * and allocates little beyond the strings it hands out.
 */

/** One dispatched SSE event. `event` is absent for the default `message` type. */
export interface SseEvent {
  event?: string;
  data: string;
}

const LF = 10;
const CR = 13;

/**
 * Incremental SSE parser.
 *
 * @example
 * const p = new SseParser();
 * for await (const chunk of body) for (const ev of p.push(chunk)) handle(ev.event, ev.data);
 * for (const ev of p.end()) handle(ev.event, ev.data);
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  /** Text not yet split into lines (at most one partial line). */
  private buf = '';
  /** The previous chunk ended in `\r`: a leading `\n` in the next one belongs to it. */
  private skipLF = false;
  private started = false;
  private data: string | undefined;
  private eventType: string | undefined;

  /** Feeds one chunk; returns the events it completed (often none). */
  push(chunk: Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseEvent[] = [];
    this.consume(text, out);
    return out;
  }

  /**
   * Ends the stream: flushes a partial UTF-8 sequence and a last line with no
   * terminator, and (leniently) dispatches a pending event that lacked its
   * closing blank line.
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.consume(this.decoder.decode(), out);
    if (this.buf !== '') {
      this.line(this.buf, out);
      this.buf = '';
    }
    this.dispatch(out);
    return out;
  }

  private consume(text: string, out: SseEvent[]): void {
    if (text === '') return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLF) {
      this.skipLF = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    // The buffered partial line holds no line end, so scanning starts after it.
    const from = this.buf.length;
    const s = from === 0 ? text : this.buf + text;
    const len = s.length;
    let start = 0;
    let lf = s.indexOf('\n', from);
    let cr = s.indexOf('\r', from);
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
      } else {
        end = cr;
        if (cr + 1 < len) next = s.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        else {
          next = cr + 1;
          this.skipLF = true;
        }
      }
      this.line(s.slice(start, end), out);
      start = next;
      if (lf !== -1 && lf < start) lf = s.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = s.indexOf('\r', start);
    }
    this.buf = start === 0 ? s : s.slice(start);
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // comment
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      const v = colon + 1;
      value = line.charCodeAt(v) === 32 ? line.slice(v + 1) : line.slice(v);
    }
    if (field === 'data') this.data = this.data === undefined ? value : this.data + '\n' + value;
    else if (field === 'event') this.eventType = value === '' ? undefined : value;
    // `id` and `retry` are legal but carry nothing an LLM stream needs.
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data !== undefined) {
      out.push(this.eventType === undefined ? { data: this.data } : { event: this.eventType, data: this.data });
    }
    this.data = undefined;
    this.eventType = undefined;
  }
}

/**
 * Formats one SSE event (`event:` line when given; one `data:` line per line of `data`).
 *
 * @example
 * formatSse('[DONE]'); // 'data: [DONE]\n\n'
 * formatSse('{"type":"ping"}', 'ping'); // 'event: ping\ndata: {"type":"ping"}\n\n'
 */
export function formatSse(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) return `${head}data: ${data}\n\n`;
  return `${head}data: ${data.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}
