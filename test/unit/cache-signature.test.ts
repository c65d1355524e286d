import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSignature, signatureOf } from '../../src/cache/signature.js';
import { pairFeatures, textSignature, verifyCandidate, verifySignatures } from '../../src/cache/verify.js';

const pairs = readFileSync(new URL('../../../shared/data/cache-pairs-dev.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { a: string; b: string });

describe('verification signature (what a semantic entry keeps instead of its prompt text)', () => {
  it('gives the verifier exactly the scores of the texts, on every QQP dev pair', () => {
    let compared = 0;
    for (const [i, p] of pairs.entries()) {
      const sim = 0.85 + (i % 15) / 100;
      const fromText = verifyCandidate(p.a, p.b, sim);
      const stored = parseSignature(signatureOf(p.b));
      expect(stored).toBeDefined();
      const fromSig = verifySignatures(textSignature(p.a), stored!, sim);
      if (fromSig.score !== fromText.score || fromSig.reason !== fromText.reason) throw new Error(`differs on ${JSON.stringify(p)}`);
      compared++;
    }
    expect(compared).toBe(pairs.length);
  });

  it('holds no word, name or number of the question in readable form', () => {
    const sig = signatureOf('Is Anna Schmidt at 42 Rosenweg not eligible for the 2024 Zurich pension?');
    for (const w of ['anna', 'schmidt', 'rosenweg', 'eligib', 'zurich', 'pension', '42', '2024']) expect(sig.toLowerCase()).not.toContain(w);
    const parsed = parseSignature(sig)!;
    expect(parsed.negated).toBe(true);
    expect(parsed.questionType).toBe('yes-no');
    expect(parsed.numbers.size).toBe(2);
  });

  it('matches a word to its longer form ("russia"/"russian") through prefix digests, as on the text', () => {
    const f = pairFeatures('What is the history of Russia?', 'What is the history of the Russians?', 0.9);
    expect(f.unmatchedMass).toBe(0);
  });

  it('refuses a signature of an unknown format (the entry is then not served)', () => {
    expect(parseSignature('')).toBeUndefined();
    expect(parseSignature('s2|what|0|||')).toBeUndefined();
    expect(parseSignature('How do I learn Python?')).toBeUndefined();
  });

  it('does not read "constructor" as a number (a word looked up on an object prototype)', () => {
    expect(textSignature('What does a class constructor do?').numbers.size).toBe(0);
  });
});
