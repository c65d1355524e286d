/** Splicing a continuation onto delivered text: whitespace-normalised overlap, continuation, rewrite, fresh generation. */
import { describe, expect, it } from 'vitest';
import { SpliceError, Splicer, matchPrefix } from '../../src/core/splice.js';

const run = (s: Splicer, parts: string[]) => parts.map((p) => s.push(p)).join('') + s.end();

describe('matchPrefix', () => {
  it('matches with whitespace runs normalised and leading whitespace ignored', () => {
    expect(matchPrefix('Hello  world', 'Hello world, and more')).toEqual({ kind: 'match', rest: 11 });
    expect(matchPrefix('Hello\n\nworld', '  Hello world!')).toEqual({ kind: 'match', rest: 13 });
  });
  it('needs more text while the continuation agrees so far, including a trailing whitespace run', () => {
    expect(matchPrefix('Hello world', 'Hello')).toEqual({ kind: 'need-more' });
    expect(matchPrefix('Hello ', 'Hello ')).toEqual({ kind: 'need-more' });
    expect(matchPrefix('Hello ', 'Hello there')).toEqual({ kind: 'match', rest: 6 });
  });
  it('diverges where the texts differ, whitespace against a letter included', () => {
    expect(matchPrefix('Hello world', ' and more')).toEqual({ kind: 'diverged', at: 0 });
    expect(matchPrefix('Hello world', 'Helloworld')).toEqual({ kind: 'diverged', at: 5 });
  });
});

describe('Splicer', () => {
  it('prefill continuation: appended, a leading space dropped when the prefill was trimmed', () => {
    expect(run(new Splicer('The answer is', 'prefill', false), [' 42', '.'])).toBe(' 42.');
    expect(run(new Splicer('The answer is ', 'prefill', true), [' 42', '.'])).toBe('42.');
  });
  it('prefill restart: the repeated beginning is dropped, even split across pieces and respaced', () => {
    const s = new Splicer('The answer  is', 'prefill', true);
    expect(run(s, ['The ', 'answer ', 'is', ' 42.'])).toBe(' 42.');
    expect(s.restarted).toBe(true);
  });
  it('prefill rewrite: starts like the delivered text, then departs from it', () => {
    expect(() => run(new Splicer('The answer to your question is', 'prefill', false), ['The answer to your query is 42.'])).toThrow(SpliceError);
  });
  it('prefill with an empty continuation: nothing more to say', () => {
    expect(run(new Splicer('Done.', 'prefill', false), [])).toBe('');
  });
  it('fresh generation: spliced only when it begins with the delivered text', () => {
    expect(run(new Splicer('The quick brown ', 'fresh', false), ['The ', 'quick ', 'brown ', 'fox.'])).toBe('fox.');
    expect(() => run(new Splicer('The quick brown ', 'fresh', false), ['A ', 'different ', 'answer.'])).toThrow(SpliceError);
    expect(() => run(new Splicer('The quick brown fox', 'fresh', false), ['The ', 'quick'])).toThrow(SpliceError);
  });
  it('passes everything through once decided', () => {
    const s = new Splicer('ab', 'fresh', false);
    expect(s.push('a')).toBe('');
    expect(s.push('bc')).toBe('c');
    expect(s.push('ab')).toBe('ab');
  });
});
