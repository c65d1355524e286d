import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { ibanValid, luhnValid, shannonEntropy, ssnValid } from '../../src/routing/signals/privacy-checks.js';
import { detectSensitive, privacySignal, type SensitiveKind } from '../../src/routing/signals/privacy.js';

const kinds = (t: string) => detectSensitive(t).kinds;

describe('checksums', () => {
  it('Luhn accepts valid card numbers and rejects one-digit changes', () => {
    for (const n of ['4111111111111111', '5500 0055 5555 5559', '378282246310005', '6011111111111117']) expect(luhnValid(n)).toBe(true);
    for (const n of ['4111111111111112', '5500 0055 5555 5558', '378282246310006']) expect(luhnValid(n)).toBe(false);
  });

  it('IBAN mod-97 accepts valid IBANs and rejects a changed digit or a wrong length', () => {
    for (const s of ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300']) expect(ibanValid(s)).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false);
    expect(ibanValid('de89370400440532013000')).toBe(false);
  });

  it('SSN ranges exclude area 000, 666, 900-999, group 00 and serial 0000', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    expect(ssnValid('899', '99', '9999')).toBe(true);
    for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['900', '12', '3456'], ['999', '12', '3456'], ['123', '00', '4567'], ['123', '45', '0000']] as const) {
      expect(ssnValid(a, g, s)).toBe(false);
    }
  });

  it('entropy is 0 for repeated characters and high for random-looking strings', () => {
    expect(shannonEntropy('aaaaaaaa')).toBe(0);
    expect(shannonEntropy('9fA3kLm2Qx7Zp4Rt8Vw1Yb6Nc5Hd0Js')).toBeGreaterThan(4);
  });
});

describe('detectSensitive: positives', () => {
  const cases: [string, SensitiveKind][] = [
    ['mail me at ann.smith+tag@example.co.uk please', 'email'],
    ['call +44 20 7946 0958 tomorrow', 'phone'],
    ['my number is +1 (415) 555-2671', 'phone'],
    ['reach me at (415) 555-2671', 'phone'],
    ['415-555-2671', 'phone'],
    ['call me at 415.555.2671', 'phone'],
    ['Phone: 020 7946 0958', 'phone'],
    ['card 4111 1111 1111 1111 exp 12/25', 'credit-card'],
    ['4111-1111-1111-1111', 'credit-card'],
    ['5500005555555559', 'credit-card'],
    ['amex 3782 822463 10005', 'credit-card'],
    ['IBAN DE89 3704 0044 0532 0130 00', 'iban'],
    ['GB82WEST12345698765432', 'iban'],
    ['pay to FR14 2004 1010 0505 0001 3M02 606 now', 'iban'],
    ['DE89 3704 0044 0532 0130 00 AND MORE TEXT', 'iban'],
    ['SSN 123-45-6789', 'us-ssn'],
    ['my social security number: 219099999', 'us-ssn'],
    ['NI number AB 12 34 56 C', 'uk-nino'],
    ['AB123456C', 'uk-nino'],
    ['OPENAI_API_KEY=sk-proj-abc123DEF456ghi789JKL012mno345', 'api-key'],
    ['sk-ant-api03-AbCdEf123456GhIjKl789012MnOpQr', 'api-key'],
    ['aws AKIAIOSFODNN7EXAMPLE', 'api-key'],
    ['ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', 'api-key'],
    ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'api-key'],
    ['token: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'api-key'],
    ['api_key = "9fA3kLm2Qx7Zp4Rt8Vw1Yb6Nc5Hd0Js"', 'api-key'],
    ['Authorization: Bearer ya29.a0AfH6SMBx3k9Lm2Qx7Zp4Rt8Vw1Yb6Nc5Hd0Js', 'api-key'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow...', 'private-key'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----', 'private-key'],
    ['-----BEGIN PRIVATE KEY-----', 'private-key'],
  ];
  it.each(cases)('%s → %s', (text, kind) => {
    expect(kinds(text)).toContain(kind);
  });

  it('reports spans of the sensitive part only', () => {
    const r = detectSensitive('phone: 415 555 2671, card 4111 1111 1111 1111', { spans: true });
    expect(r.kinds).toEqual(['phone', 'credit-card']);
    const text = 'phone: 415 555 2671, card 4111 1111 1111 1111';
    expect(r.spans!.map((s) => text.slice(s.start, s.end))).toEqual(['415 555 2671', '4111 1111 1111 1111']);
  });
});

describe('detectSensitive: negatives', () => {
  const negatives = [
    'The meeting is on 2024-03-15 at 10:30.',
    'Dates: 03/15/2024, 15.03.2024, 2019-2020 season, the years 1914-1918 and 1939-1945',
    'It costs $1,299.99 or €2.500,00',
    'Order #123-456-7890 shipped',
    'version 1.2.3, build 10.0.19045.2846, Version 4.12.8-1',
    'uuid 123e4567-e89b-12d3-a456-426614174000',
    'population 8,336,817 in 2020; we sold 250 300 1000 units',
    'ISBN 978-0-13-468599-1 and 9780134685991; timestamp 1700000000000',
    'use @decorator and user@localhost; npm i lodash@4.17.21',
    'risk-adjusted-return-on-capital-model; sk-learn is a typo for scikit-learn',
    'api_key = "YOUR_API_KEY_HERE"; password = request.form.get; api_key: ${OPENAI_API_KEY}',
    'password: xxxxxxxxxxxxxxxxxxxx',
    'SSN 666-12-3456, 900-12-3456, 000-12-3456, 123-00-4567, 123-45-0000',
    'IBAN DE89 3704 0044 0532 0130 01',
    'card 4111 1111 1111 1112 and 1234 5678 9012 3456 and 0000 0000 0000 0000',
    'The equation 3x + 5 = 20 has x = 5',
    'IP 192.168.1.254 and 10.0.0.1; call 911; room 1234, floor 5; Page 555 of 1234',
    '-----BEGIN PUBLIC KEY----- and -----BEGIN CERTIFICATE-----',
    'model gpt-4-1106-preview; temperature +15 degrees; zip 90210-1234',
    'coordinates 40.7128, -74.0060; sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'QQ123456C is the HMRC example number',
    'see RFC 7231 section 6.5.1; tests: 1 passed; 3 failed; +15 -3',
  ];
  it.each(negatives)('nothing in %s', (text) => {
    expect(kinds(text)).toEqual([]);
  });
});

describe('privacySignal', () => {
  it('scans system, every turn and tool-call arguments', () => {
    const req: CanonicalRequest = {
      operation: 'chat',
      protocol: 'openai',
      model: 'm',
      system: 'Contact: ops@example.com',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'my card is 4111 1111 1111 1111' }] },
        { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'lookup', arguments: '{"ssn":"123-45-6789"}' }] },
        { role: 'tool', content: 'ok', toolCallId: '1' },
      ],
      stream: false,
      extra: {},
    };
    expect(privacySignal(req)).toEqual(['email', 'credit-card', 'us-ssn']);
  });

  it('returns nothing for ordinary text', () => {
    const req: CanonicalRequest = { operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: 'What is the capital of France?' }], stream: false, extra: {} };
    expect(privacySignal(req)).toEqual([]);
  });
});
