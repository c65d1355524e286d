import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { compileRules, computeSignals } from '../../src/routing/signals/index.js';

describe('computeSignals', () => {
  it('bundles every signal into one plain object', () => {
    const req: CanonicalRequest = {
      ...promptRequest('x'),
      tools: [{ name: 'lookup', parameters: {} }],
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'hi!' },
        { role: 'user', content: 'Translate my address to French; write to me at jo@example.com' },
      ],
    };
    const s = computeSignals(req, { rules: compileRules([{ name: 'french', pattern: 'french', flags: 'i' }]) });
    expect(s.task.type).toBe('translation');
    expect(s.sensitive).toEqual(['email']);
    expect(s.rules).toEqual(['french']);
    expect(s.tools).toBe(true);
    expect(s.depth).toBe(3);
    expect(s.tokens).toBeGreaterThan(10);
    expect(s.complexity).toBeGreaterThan(0);
    expect(s.complexity).toBeLessThan(1);
    expect(s.features.tools).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('works without options', () => {
    const s = computeSignals(promptRequest('hi'));
    expect(s).toMatchObject({ rules: [], sensitive: [], tools: false, depth: 1 });
    expect(s.task.type).toBe('chat');
  });
});

describe('computeSignals on adversarial input', () => {
  // Patterns avoid nested whitespace quantifiers; a regression here shows up as a hang (test timeout).
  it.each([
    ['newlines', '\n'.repeat(50_000) + 'x'],
    ['spaces', ' \n\t'.repeat(20_000) + 'x'],
    ['digit run', '+1' + '2'.repeat(50_000)],
    ['phone-like groups', '+12345 '.repeat(8_000)],
    ['at signs', 'a@'.repeat(25_000)],
    ['choice lines', 'A. x\n'.repeat(10_000)],
  ])('finishes on %s', (_, text) => {
    const s = computeSignals(promptRequest(text), { rules: compileRules([{ name: 'x', pattern: 'zebra', field: 'all' }]) });
    expect(s.complexity).toBeGreaterThanOrEqual(0);
  });
});
