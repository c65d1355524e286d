/** Reading compressed upstream bodies (src/protocol/content-encoding.ts). */
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { canDecode, codings, decodeBody } from '../../src/protocol/content-encoding.js';

const text = Buffer.from(JSON.stringify({ hello: 'world'.repeat(100) }));

describe('decodeBody', () => {
  it.each([
    ['gzip', gzipSync(text)],
    ['x-gzip', gzipSync(text)],
    ['br', brotliCompressSync(text)],
    ['deflate', deflateSync(text)],
    ['deflate', deflateRawSync(text)],
    ['identity', text],
    ['gzip, br', brotliCompressSync(gzipSync(text))],
  ])('decodes %s', (enc, body) => {
    const d = decodeBody(body, enc, 1 << 20);
    expect(d.ok && d.body.equals(text)).toBe(true);
  });

  it('says plainly when zstd is not available in this Node, and never guesses', () => {
    const hasZstd = typeof (zlib as unknown as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';
    expect(canDecode('zstd')).toBe(hasZstd);
    if (!hasZstd) {
      const d = decodeBody(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd', 1 << 20);
      expect(d).toEqual({ ok: false, reason: expect.stringMatching(/zstd is not supported by this Node/) });
    }
  });

  it('refuses a decompression bomb instead of expanding it', () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    const d = decodeBody(bomb, 'gzip', 1024 * 1024);
    expect(d).toEqual({ ok: false, reason: expect.stringMatching(/expands beyond/) });
  });

  it('reports corrupt bytes and unknown codings', () => {
    expect(decodeBody(Buffer.from('not gzip'), 'gzip', 1024).ok).toBe(false);
    expect(decodeBody(text, 'compress', 1024)).toEqual({ ok: false, reason: 'unknown content-encoding "compress"' });
    expect(codings(' Identity , GZIP ')).toEqual(['gzip']);
  });
});
