import { describe, expect, it } from 'vitest';
import { SseParser, formatSse, type SseEvent } from '../../src/protocol/sse.js';
import { fixtureText } from './protocol-fixtures.js';

const enc = new TextEncoder();

function parseWhole(input: Uint8Array | string): SseEvent[] {
  const p = new SseParser();
  return [...p.push(input), ...p.end()];
}

function parseSplit(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(...p.push(bytes.subarray(prev, c)));
    prev = c;
  }
  out.push(...p.end());
  return out;
}

/** A deterministic PRNG so a failing split can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TRICKY = [
  ': this is a comment\r\n',
  'event: greeting\r\n',
  'data: héllo wörld 😊 — 日本語\r\n',
  'data: second line\r\n',
  '\r\n',
  'data:no-space\r',
  '\r',
  'data\n',
  '\n',
  'id: 7\nretry: 1000\ndata:  two spaces\n\n',
  'event: empty-data-skipped\n\n',
  'data: {"type":"ping"}\n\n',
].join('');

const TRICKY_EVENTS: SseEvent[] = [
  { event: 'greeting', data: 'héllo wörld 😊 — 日本語\nsecond line' },
  { data: 'no-space' },
  { data: '' },
  { data: ' two spaces' },
  { data: '{"type":"ping"}' },
];

describe('SseParser', () => {
  it('follows the event-stream rules: CRLF/CR/LF, comments, multi-line data, one leading space stripped', () => {
    expect(parseWhole(TRICKY)).toEqual(TRICKY_EVENTS);
  });

  it('gives the same events fed byte by byte', () => {
    const bytes = enc.encode(TRICKY);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(parseSplit(bytes, cuts)).toEqual(TRICKY_EVENTS);
  });

  it('gives the same events at random split points (inside UTF-8 sequences and CRLF pairs too)', () => {
    const bytes = enc.encode(TRICKY + fixtureText('anthropic-tools.sse') + fixtureText('openai-chat-text.sse'));
    const expected = parseWhole(bytes);
    expect(expected.length).toBe(TRICKY_EVENTS.length + 14 + 7);
    const rand = rng(12345);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rand() * 40);
      const cuts = Array.from({ length: n }, () => 1 + Math.floor(rand() * (bytes.length - 1))).sort((a, b) => a - b);
      expect(parseSplit(bytes, cuts), `round ${round} cuts ${cuts.join(',')}`).toEqual(expected);
    }
  });

  it('does not treat a CR at the end of a chunk plus an LF at the start of the next as two line ends', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\ndata: b\r\n\r\n')).toEqual([{ data: 'a\nb' }]);
  });

  it('dispatches as soon as the blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('data: [DONE]\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ data: '[DONE]' }]);
  });

  it('strips a leading BOM and accepts string chunks', () => {
    expect(parseWhole('\uFEFFdata: x\n\n')).toEqual([{ data: 'x' }]);
    expect(parseWhole(new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('data: y\n\n')]))).toEqual([{ data: 'y' }]);
  });

  it('flushes a final event without its blank line on end()', () => {
    const p = new SseParser();
    expect(p.push('data: [DONE]')).toEqual([]);
    expect(p.end()).toEqual([{ data: '[DONE]' }]);
  });

  it('resets the event name after each dispatch', () => {
    expect(parseWhole('event: a\ndata: 1\n\ndata: 2\n\n')).toEqual([{ event: 'a', data: '1' }, { data: '2' }]);
  });

  it('handles a long data line split into many chunks', () => {
    const long = 'x'.repeat(200_000);
    const p = new SseParser();
    const out: SseEvent[] = [];
    for (let i = 0; i < long.length; i += 1000) out.push(...p.push(`${i === 0 ? 'data: ' : ''}${long.slice(i, i + 1000)}`));
    out.push(...p.push('\n\n'));
    expect(out).toEqual([{ data: long }]);
  });
});

describe('formatSse', () => {
  it('writes data and optional event lines', () => {
    expect(formatSse('[DONE]')).toBe('data: [DONE]\n\n');
    expect(formatSse('{"type":"ping"}', 'ping')).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });

  it('splits multi-line data so it parses back identically', () => {
    const text = formatSse('a\nb\r\nc', 'e');
    expect(text).toBe('event: e\ndata: a\ndata: b\ndata: c\n\n');
    expect(parseWhole(text)).toEqual([{ event: 'e', data: 'a\nb\nc' }]);
  });
});
