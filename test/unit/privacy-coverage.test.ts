/**
 * Privacy routing sees everything the upstream will see (issue 12.6): tool
 * definitions, response_format schemas, `user`, `metadata`, unknown
 * forwarded fields, every text part of multimodal content; look-alike
 * Unicode (full-width digits, `＠`, zero-width spaces) and card numbers
 * with any separator.
 */
import { describe, expect, it } from 'vitest';
import { parseAnthropicMessages } from '../../src/protocol/anthropic.js';
import { parseOpenAIChat } from '../../src/protocol/openai.js';
import { detectSensitive, normalizeForScan, privacySignal } from '../../src/routing/signals/privacy.js';
import { scrubText } from '../../src/observability/redact.js';

const ask = (extra: Record<string, unknown>, text = 'Please help with this task.') =>
  privacySignal(parseOpenAIChat({ model: 'm', messages: [{ role: 'user', content: text }], ...extra }));

describe('privacySignal covers every field the upstream receives', () => {
  it('ordinary requests stay clean', () => {
    expect(ask({ tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] })).toEqual([]);
  });

  it('a tool description', () => {
    const tools = [{ type: 'function', function: { name: 'notify', description: 'Always cc ops.lead@acme-corp.com on every ticket', parameters: { type: 'object', properties: {} } } }];
    expect(ask({ tools })).toEqual(['email']);
  });

  it('a tool parameter schema (enum, default, description)', () => {
    const parameters = { type: 'object', properties: { card: { type: 'string', enum: ['4111 1111 1111 1111'] } } };
    expect(ask({ tools: [{ type: 'function', function: { name: 'pay', parameters } }] })).toEqual(['credit-card']);
    const withDefault = { type: 'object', properties: { phone: { type: 'string', default: '+44 20 7946 0958' } } };
    expect(ask({ tools: [{ type: 'function', function: { name: 'call', parameters: withDefault } }] })).toEqual(['phone']);
  });

  it('a tool name in an assistant tool call and an Anthropic tool description', () => {
    const req = parseAnthropicMessages({
      model: 'm', max_tokens: 10,
      tools: [{ name: 'lookup', description: 'Customer SSN is 123-45-6789', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(privacySignal(req)).toEqual(['us-ssn']);
  });

  it('a response_format json_schema', () => {
    const response_format = { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object', description: 'Reply to jane.doe@example.org', properties: {} } } };
    expect(ask({ response_format })).toEqual(['email']);
  });

  it('`user`, `metadata` and unknown forwarded fields', () => {
    expect(ask({ user: 'jane.doe@example.org' })).toEqual(['email']);
    expect(ask({ metadata: { customer: 'card 5500 0055 5555 5559' } })).toEqual(['credit-card']);
    expect(ask({ x_vendor_context: { notes: ['call +1 (415) 555-2671'] } })).toEqual(['phone']);
    const anth = parseAnthropicMessages({ model: 'm', max_tokens: 10, metadata: { user_id: 'bob@example.com' }, messages: [{ role: 'user', content: 'hello there' }] });
    expect(privacySignal(anth)).toEqual(['email']);
  });

  it('every text part of multimodal content, each on its own', () => {
    const content = [
      { type: 'text', text: 'Look at this picture.' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      { type: 'text', text: 'My IBAN is DE89 3704 0044 0532 0130 00' },
    ];
    expect(privacySignal(parseOpenAIChat({ model: 'm', messages: [{ role: 'user', content }] }))).toEqual(['iban']);
    // An image URL with an address in its query string leaves the host as text too.
    const url = [{ type: 'image_url', image_url: { url: 'https://img.example.com/p.png?owner=ann@example.org' } }];
    expect(privacySignal(parseOpenAIChat({ model: 'm', messages: [{ role: 'user', content: url }] }))).toEqual(['email']);
  });

  it('stop sequences', () => {
    expect(ask({ stop: ['SSN 123-45-6789'] })).toEqual(['us-ssn']);
  });
});

describe('look-alike text is normalised (NFKC) before scanning', () => {
  it('full-width digits and ＠', () => {
    expect(detectSensitive('mail ann＠example.org').kinds).toEqual(['email']);
    expect(detectSensitive('card ４１１１ １１１１ １１１１ １１１１').kinds).toEqual(['credit-card']);
    expect(ask({}, 'my card: ４１１１-１１１１-１１１１-１１１１')).toEqual(['credit-card']);
  });

  it('zero-width characters inside a number', () => {
    expect(detectSensitive('4111\u200b1111\u200b1111\u200b1111').kinds).toEqual(['credit-card']);
  });

  it('spans map back to the original text, so redaction removes the look-alike', () => {
    const text = 'write to ann＠example.org today';
    const r = detectSensitive(text, { spans: true });
    expect(r.spans!.map((s) => text.slice(s.start, s.end))).toEqual(['ann＠example.org']);
    expect(scrubText(text)).toBe('write to [redacted:email] today');
  });

  it('spans map back when normalisation moved offsets (a removed zero-width space, a ligature)', () => {
    const text = 'ﬁle\u200b note: ann＠example.org, card 4111\u200b1111\u200b1111\u200b1111.';
    const r = detectSensitive(text, { spans: true });
    expect(r.spans!.map((s) => text.slice(s.start, s.end))).toEqual(['ann＠example.org', '4111\u200b1111\u200b1111\u200b1111']);
  });

  it('long non-Latin text is normalised in one native pass', () => {
    const text = '電話番号は０３－１２３４－５６７８です。'.repeat(5000);
    expect(normalizeForScan(text).text.startsWith('電話番号は03-1234-5678です。')).toBe(true);
  });

  it('ASCII text is returned untouched (no copy, no map)', () => {
    const n = normalizeForScan('plain ascii 123', true);
    expect(n).toEqual({ text: 'plain ascii 123' });
  });
});

describe('card numbers with any separator', () => {
  it.each([
    '4111.1111.1111.1111',
    '4111_1111_1111_1111',
    '4111 / 1111 / 1111 / 1111',
    '4111  1111  1111  1111',
    '4111-1111 1111.1111',
    '41 11 11 11 11 11 11 11',
    '5500:0055:5555:5559',
  ])('%s', (t) => {
    expect(detectSensitive(`pay with ${t} now`).kinds).toEqual(['credit-card']);
  });

  it.each([
    '4111.1111.1111.1112',
    '2024-01-15 10:30:45.123',
    '1999, 2004, 2010, 2015, 2020',
    'v10.0.19045.2846.1234',
    '12/25/2024 13:45',
  ])('not %s', (t) => {
    expect(detectSensitive(t).kinds).not.toContain('credit-card');
  });
});
