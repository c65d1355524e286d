/**
 * Redaction of a 2xx SSE answer that Envoy relays chunk by chunk (STREAMED):
 * an in-band error (`event: error` of Anthropic, an OpenAI `data: {"error":…}`)
 * may quote the configured upstream key, exactly as a non-2xx body may. The
 * same rule as `serve`/Express applies: configured key values are redacted by
 * exact value everywhere, and key-shaped strings (`sk-…`, `Bearer …`,
 * `api_key=…`) inside error events (redactForClient); answer text is left alone.
 *
 * A secret split across two chunks must still be caught, and SSE has no
 * content-length, so the incomplete last line of a chunk is held back and
 * prepended to the next chunk (flushed at end of stream). Secrets and shapes
 * never span a line. A line longer than {@link MAX_HELD_LINE} is emitted in
 * pieces, holding back the longest secret's length so an exact value is still
 * caught. Upstreams end their chunks on an event boundary, so the common
 * chunk is one `lastIndexOf`, one `indexOf('error')` and one `indexOf` per
 * configured key, and is answered "unchanged" (no body mutation).
 */
import { knownSecretBytes, redactForClient, redactKnownValues } from '../../observability/known-secrets.js';

/** The longest incomplete line held back before it is emitted in pieces. */
export const MAX_HELD_LINE = 64 * 1024;

const NL = 0x0a;
const ERROR = Buffer.from('error', 'latin1');

/**
 * One relayed SSE body. {@link push} each chunk in order; it returns the bytes
 * to send in its place, or `undefined` when the chunk goes out unchanged.
 *
 * @example
 * const r = new SseRedactor();
 * r.push(Buffer.from('data: {"error":{"message":"bad key zz-li'), false); // Buffer (empty: the line is held)
 * r.push(Buffer.from('ve-123456"}}\n\n'), true); // the whole line, key replaced by [redacted]
 */
export class SseRedactor {
  private held: Buffer | undefined;
  /** The last `event:` line of the current event named `error`. */
  private errorEvent = false;

  push(chunk: Uint8Array, end: boolean): Buffer | undefined {
    const input = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const held = this.held;
    const data = held === undefined ? input : Buffer.concat([held, input]);
    let cut = end ? data.length : data.lastIndexOf(NL) + 1;
    if (data.length - cut > MAX_HELD_LINE) cut = longLineCut(data);
    this.held = cut < data.length ? Buffer.from(data.subarray(cut)) : undefined;
    const out = cut === data.length ? data : data.subarray(0, cut);
    const clean = this.scan(out);
    if (clean !== undefined) return clean;
    // Nothing to redact: unchanged unless bytes moved (held now, or held before).
    return held === undefined && cut === data.length ? undefined : Buffer.from(out);
  }

  /** The redacted copy of complete lines, or undefined when nothing in them needs it. */
  private scan(out: Buffer): Buffer | undefined {
    if (out.length === 0) return undefined;
    let suspect = this.errorEvent || out.indexOf(ERROR) !== -1;
    if (!suspect) for (const s of knownSecretBytes()) if (out.indexOf(s) !== -1) suspect = true;
    if (!suspect) return undefined;
    const text = out.toString('utf8');
    const lines = text.split('\n');
    let changed = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (bare === '') {
        if (i < lines.length - 1) this.errorEvent = false; // a blank line ends the event; the text after the last \n is not a line
      }
      else if (bare.startsWith('event:')) this.errorEvent = bare.slice(6).trim() === 'error';
      const isError = this.errorEvent || (bare.startsWith('data:') && line.includes('"error"'));
      const clean = isError ? redactForClient(line) : redactKnownValues(line);
      if (clean !== line) {
        lines[i] = clean;
        changed = true;
      }
    }
    return changed ? Buffer.from(lines.join('\n'), 'utf8') : undefined;
  }
}

/** Where to cut an over-long line: keep the longest secret's length back, at a UTF-8 character boundary. */
function longLineCut(data: Buffer): number {
  const longest = knownSecretBytes()[0]?.length ?? 0;
  let cut = Math.max(0, data.length - Math.max(longest, 256));
  while (cut > 0 && (data[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}
