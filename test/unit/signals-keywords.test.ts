import { describe, expect, it } from 'vitest';
import { routingRulesSchema } from '../../src/config/routing-rules.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { compileRules, RuleCompileError } from '../../src/routing/signals/keywords.js';

const req: CanonicalRequest = {
  ...promptRequest('x'),
  system: 'You are the LEGAL assistant of ACME.',
  messages: [
    { role: 'user', content: 'Here is the contract draft.' },
    { role: 'assistant', content: 'Thanks, what should I check?' },
    { role: 'user', content: 'Check the termination clause, please.' },
  ],
};

describe('compileRules', () => {
  it('matches rules on the last user turn, all text or the system prompt, in rule order', () => {
    const match = compileRules([
      { name: 'termination', pattern: '\\btermination\\b' },
      { name: 'contract-last', pattern: 'contract' },
      { name: 'contract-all', pattern: 'CONTRACT', flags: 'i', field: 'all' },
      { name: 'legal-system', pattern: 'LEGAL', field: 'system' },
      { name: 'never', pattern: 'zebra' },
    ]);
    expect(match(req)).toEqual(['termination', 'contract-all', 'legal-system']);
  });

  it('returns nothing without rules', () => {
    expect(compileRules([])(req)).toEqual([]);
  });

  it('fails at compile time on an invalid pattern, naming the rule', () => {
    expect(() => compileRules([{ name: 'ok', pattern: 'a' }, { name: 'broken', pattern: '(unclosed' }])).toThrow(RuleCompileError);
    expect(() => compileRules([{ name: 'broken', pattern: '(unclosed' }])).toThrow(/#0 "broken": invalid pattern/);
  });

  it('rejects stateful or unknown flags, empty patterns and duplicate names', () => {
    expect(() => compileRules([{ name: 'g', pattern: 'a', flags: 'g' }])).toThrow(/unsupported flags/);
    expect(() => compileRules([{ name: 'x', pattern: 'a', flags: 'q' }])).toThrow(/unsupported flags/);
    expect(() => compileRules([{ name: 'e', pattern: '' }])).toThrow(/non-empty/);
    expect(() => compileRules([{ name: 'd', pattern: 'a' }, { name: 'd', pattern: 'b' }])).toThrow(/duplicate/);
  });
});

describe('routing rules config schema', () => {
  it('fills the default field and accepts valid rules', () => {
    expect(routingRulesSchema.parse([{ name: 'a', pattern: 'x', flags: 'i' }])).toEqual([{ name: 'a', pattern: 'x', flags: 'i', field: 'last-user' }]);
    expect(routingRulesSchema.parse(undefined)).toEqual([]);
  });

  it('reports an invalid pattern and a duplicate name with their paths', () => {
    const r = routingRulesSchema.safeParse([{ name: 'a', pattern: '[' }, { name: 'a', pattern: 'x' }]);
    expect(r.success).toBe(false);
    const issues = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues.some((s) => s.startsWith('0.pattern: invalid regular expression'))).toBe(true);
    expect(issues).toContain('1.name: duplicate rule name "a"');
  });
});
