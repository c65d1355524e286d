import { describe, expect, it } from 'vitest';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { complexityScore, COMPLEXITY_FEATURES } from '../../src/routing/signals/complexity.js';
import { promptRequest } from '../../src/eval/routing-eval.js';

const score = (r: CanonicalRequest) => complexityScore(r).score;
const ask = (text: string) => score(promptRequest(text));

const agentLoop: CanonicalRequest = {
  ...promptRequest('Find the failing test and fix it'),
  tools: [
    { name: 'read_file', parameters: { type: 'object' } },
    { name: 'run_tests', parameters: { type: 'object' } },
    { name: 'edit_file', parameters: { type: 'object' } },
  ],
  messages: [
    { role: 'user', content: 'Find the failing test and fix it' },
    { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'run_tests', arguments: '{}' }] },
    { role: 'tool', content: 'FAIL test/a.test.ts', toolCallId: '1' },
    { role: 'assistant', content: '', toolCalls: [{ id: '2', name: 'read_file', arguments: '{"path":"src/a.ts"}' }] },
    { role: 'tool', content: 'export const a = 1;', toolCallId: '2' },
  ],
};

describe('complexityScore', () => {
  it('returns a score in 0..1 and every feature', () => {
    const r = complexityScore(promptRequest('hello'));
    expect(r.score).toBeGreaterThan(0);
    expect(r.score).toBeLessThan(1);
    expect(Object.keys(r.features).sort()).toEqual([...COMPLEXITY_FEATURES].sort());
  });

  it('scores greetings and simple facts low', () => {
    expect(ask('hi')).toBeLessThan(0.1);
    expect(ask('thanks!')).toBeLessThan(0.1);
    expect(ask("what's the capital of France")).toBeLessThan(0.3);
  });

  it('scores hard engineering asks, proofs and agent loops high', () => {
    expect(ask('write a distributed rate limiter in Rust with tests and explain the trade-offs')).toBeGreaterThan(0.8);
    expect(ask('Write a detailed 2000-word essay comparing Keynesian and Austrian economics.')).toBeGreaterThan(0.7);
    expect(score(agentLoop)).toBeGreaterThan(0.8);
  });

  it('orders clear examples', () => {
    const ordered = [
      ask('hi'),
      ask("what's the capital of France"),
      ask('Prove that the square root of 2 is irrational, step by step.'),
      ask('write a distributed rate limiter in Rust with tests and explain the trade-offs'),
    ];
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]).toBeGreaterThan(ordered[i - 1]!);
  });

  it('raises the score for tools, structured output and long requested output', () => {
    const base = promptRequest('List the planets of the solar system.');
    expect(score({ ...base, tools: [{ name: 'search', parameters: {} }] })).toBeGreaterThan(score(base));
    expect(score({ ...base, responseFormat: { type: 'json_schema', schema: {} } })).toBeGreaterThan(score(base));
    expect(score({ ...base, maxTokens: 8192 })).toBeGreaterThan(score(base));
    expect(ask('List the planets of the solar system in detail, in a comprehensive report.')).toBeGreaterThan(score(base));
  });

  it('describes a multiple-choice question by its stem and its choices', () => {
    const f = complexityScore(promptRequest('Statement 1 | A group of order 4 is abelian. Statement 2 | Every ring has a unity.\nA. True, True\nB. False, False\nC. True, False\nD. False, True\nAnswer:')).features;
    expect(f.choices).toBe(1);
    expect(f.judgementChoices).toBe(1);
    expect(f.statements).toBe(2);
    expect(f.lines).toBe(0);
    const g = complexityScore(promptRequest('A. is not a choice list on its own')).features;
    expect(g.choices).toBe(0);
  });

  it('reads math, code and reasoning cues', () => {
    expect(complexityScore(promptRequest('Compute $\\frac{3}{4} + x^2 = 5$')).features.latex).toBeGreaterThan(0);
    expect(complexityScore(promptRequest('```ts\nconst a = () => 1;\n```')).features.codeBlocks).toBe(1);
    expect(complexityScore(promptRequest('Explain why the sky is blue, step by step')).features.reasoning).toBe(2);
  });
});
