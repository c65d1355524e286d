/** The byte-preserving top-level member splice the model rewrite uses (src/protocol/json-splice.ts). */
import { describe, expect, it } from 'vitest';
import { setTopLevel } from '../../src/protocol/json-splice.js';
import { splicedBody } from '../../src/upstream/providers/provider.js';

const s = (body: string, members: Record<string, string>) => setTopLevel(Buffer.from(body), members).toString('utf8');

describe('setTopLevel', () => {
  it('replaces only the model value, keeping numbers, order, spacing and escapes', () => {
    const body = '{ "seed": 18446744073709551615, "temperature": 1.0,\n "model" : "a",  "x": "\\u00e9\\"model\\":1", "n": -0.0e+0 }';
    expect(s(body, { model: '"bb"' })).toBe(body.replace('"model" : "a"', '"model" : "bb"'));
  });

  it('leaves nested "model" keys and string lookalikes alone', () => {
    const body = '{"tools":[{"model":"nested"}],"meta":{"model":{"model":"x"}},"text":"\\"model\\": \\"y\\"","model":"top"}';
    expect(s(body, { model: '"new"' })).toBe(body.replace('"model":"top"', '"model":"new"'));
  });

  it('inserts a missing member first, in empty and non-empty objects', () => {
    expect(s('{"messages":[]}', { model: '"m"' })).toBe('{"model":"m","messages":[]}');
    expect(s(' { } ', { model: '"m"' })).toBe(' {"model":"m" } ');
    expect(s('{"stream":true}', { model: '"m"', stream_options: '{"include_usage":true}' })).toBe('{"model":"m","stream_options":{"include_usage":true},"stream":true}');
  });

  it('replaces every occurrence of a repeated key and decodes escaped key names', () => {
    expect(s('{"model":"a","mod\\u0065l":"b"}', { model: '"c"' })).toBe('{"model":"c","mod\\u0065l":"c"}');
  });

  it('returns the very same buffer when nothing changes', () => {
    const b = Buffer.from('{"model":"same"}');
    expect(setTopLevel(b, { model: '"same"' })).toBe(b);
    expect(setTopLevel(b, {})).toBe(b);
  });

  it('handles values of every JSON type before the key', () => {
    const body = '{"a":null,"b":true,"c":false,"d":[1,[2,{"e":"]}"}]],"f":{"g":"}"},"h":"\\\\","model":"x"}';
    const out = s(body, { model: '"y"' });
    expect(JSON.parse(out)).toEqual({ ...JSON.parse(body), model: 'y' });
    expect(out).toBe(body.replace('"model":"x"', '"model":"y"'));
  });

  it('throws on bytes that are not a JSON object (the providers then re-serialise)', () => {
    expect(() => setTopLevel(Buffer.from('[1,2]'), { model: '"m"' })).toThrow();
    expect(() => setTopLevel(Buffer.from('{"model":"unterminated'), { model: '"m"' })).toThrow();
    expect(splicedBody(Buffer.from('{"a" 1}'), { model: '"m"' })).toBeUndefined();
  });
});
