import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { estimateTextTokens, estimateTokens, fitsContext } from '../../src/routing/signals/length.js';

describe('estimateTokens', () => {
  it('counts about four characters a token for English text', () => {
    expect(estimateTextTokens('a'.repeat(400))).toBe(100);
  });

  it('counts CJK characters about one token each', () => {
    expect(estimateTextTokens('東京は日本の首都です')).toBe(10);
  });

  it('adds per-message overhead, the system prompt, tools and images', () => {
    const one = estimateTokens(promptRequest('hello there'));
    expect(one).toBeGreaterThan(estimateTextTokens('hello there'));
    const withSystem = estimateTokens({ ...promptRequest('hello there'), system: 'You are a helpful assistant.' });
    expect(withSystem).toBeGreaterThan(one + 5);
    const withTools: CanonicalRequest = {
      ...promptRequest('hello there'),
      tools: [{ name: 'search', description: 'Search the web for a query', parameters: { type: 'object', properties: { query: { type: 'string' } } } }],
    };
    expect(estimateTokens(withTools)).toBeGreaterThan(one + 10);
    const withImage: CanonicalRequest = { ...promptRequest(''), messages: [{ role: 'user', content: [{ type: 'image', url: 'https://x/y.png' }] }] };
    expect(estimateTokens(withImage)).toBeGreaterThan(500);
  });

  it('grows with the conversation', () => {
    const long: CanonicalRequest = {
      ...promptRequest('x'),
      messages: Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'word '.repeat(100) }) as const),
    };
    expect(estimateTokens(long)).toBeGreaterThan(10 * 125);
  });
});

describe('fitsContext', () => {
  it('checks prompt plus completion against the window', () => {
    expect(fitsContext(7000, 1024, 8192)).toBe(true);
    expect(fitsContext(7168, 1024, 8192)).toBe(true);
    expect(fitsContext(7169, 1024, 8192)).toBe(false);
    expect(fitsContext(100, -5, 100)).toBe(true);
  });
});
