/**
 * Reading a compressed HTTP body (`content-encoding`): gzip, deflate and br
 * through Node's zlib; zstd only where the running Node's zlib has it
 * (`zlib.zstdDecompressSync`, Node ≥ 22.15 — Node 20 has none, so a zstd
 * answer there is reported as unsupported, never guessed at). Switchyard asks
 * upstreams for `accept-encoding: identity`; this is for those that compress
 * anyway.
 */
import * as zlib from 'node:zlib';

/** The result of {@link decodeBody}: the plain bytes, or why they cannot be had. */
export type DecodedBody = { ok: true; body: Buffer } | { ok: false; reason: string };

type SyncDecoder = (b: Buffer, o: { maxOutputLength: number }) => Buffer;

const zstd = (zlib as unknown as { zstdDecompressSync?: SyncDecoder }).zstdDecompressSync;

/** The codings of a `content-encoding` value, in the order they were applied ('identity' dropped). */
export function codings(contentEncoding: string | undefined): string[] {
  if (!contentEncoding) return [];
  const out: string[] = [];
  for (const c of contentEncoding.split(',')) {
    const t = c.trim().toLowerCase();
    if (t !== '' && t !== 'identity') out.push(t);
  }
  return out;
}

/** Whether this Node can decode every coding of a `content-encoding` value. */
export function canDecode(contentEncoding: string | undefined): boolean {
  return codings(contentEncoding).every((c) => decoderFor(c) !== undefined);
}

function inflateEither(b: Buffer, o: { maxOutputLength: number }): Buffer {
  // "deflate" is meant to be zlib-wrapped (RFC 9110), but some servers send raw deflate.
  try {
    return zlib.inflateSync(b, o);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw e;
    return zlib.inflateRawSync(b, o);
  }
}

function decoderFor(coding: string): SyncDecoder | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync;
    case 'deflate':
      return inflateEither;
    case 'br':
      return zlib.brotliDecompressSync;
    case 'zstd':
      return zstd;
    default:
      return undefined;
  }
}

/**
 * Decodes `body` per its `content-encoding`, producing at most `maxOutput`
 * bytes (a decompression bomb is refused, not expanded).
 *
 * @example
 * const d = decodeBody(gzipped, 'gzip', 8 << 20);
 * if (d.ok) JSON.parse(d.body.toString('utf8'));
 */
export function decodeBody(body: Buffer, contentEncoding: string | undefined, maxOutput: number): DecodedBody {
  const list = codings(contentEncoding);
  let out = body;
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]!;
    const dec = decoderFor(c);
    if (!dec) {
      return { ok: false, reason: c === 'zstd' ? `content-encoding zstd is not supported by this Node (${process.version}) zlib` : `unknown content-encoding "${c}"` };
    }
    try {
      out = dec(out, { maxOutputLength: maxOutput });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { ok: false, reason: code === 'ERR_BUFFER_TOO_LARGE' ? `${c} body expands beyond ${maxOutput} bytes` : `${c} body does not decode: ${(e as Error).message}` };
    }
  }
  return { ok: true, body: out };
}
