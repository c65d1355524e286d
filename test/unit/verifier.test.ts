import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hitMetrics, loadPairs, seededRandom } from '../../src/eval/cache-eval.js';
import {
  DEFAULT_SIMILARITY_THRESHOLD,
  DEFAULT_VERIFIER_MIN_SCORE,
  FEATURE_NAMES,
  normalizeQuestion,
  pairFeatures,
  verifyCandidate,
} from '../../src/cache/verify.js';
import { BatchingEmbedder } from '../../src/embedding/batcher.js';
import { UseLiteEmbedder } from '../../src/embedding/use-lite.js';

const DEV_PAIRS = process.env.SWITCHYARD_CACHE_PAIRS ?? resolve(import.meta.dirname, '../../../shared/data/cache-pairs-dev.jsonl');

describe('verifyCandidate', () => {
  it('rejects a near-identical question whose numbers differ', () => {
    const v = verifyCandidate('How can I lose 10 kg in 2 months?', 'How can I lose 10 kg in 6 months?', 0.98);
    expect(v.accept).toBe(false);
    expect(v.reason).toBe('numbers differ');
    const years = verifyCandidate('Who won the Golden Globe Awards in 2017?', 'Who won the Golden Globe Awards in 2015?', 0.99);
    expect(years).toMatchObject({ accept: false, reason: 'numbers differ' });
  });

  it('rejects a negated question', () => {
    const v = verifyCandidate('Is there any proof that God exists?', "Is there any proof that God doesn't exist?", 0.97);
    expect(v).toMatchObject({ accept: false, reason: 'negation differs' });
    expect(verifyCandidate('How do I gain weight?', 'How do I gain weight without eating junk food?', 0.95).accept).toBe(false);
  });

  it('rejects a question about another named thing', () => {
    const v = verifyCandidate(
      'What are the best rehab centers in Carroll County?',
      'What are the best rehab centers in Howard County?',
      0.98,
    );
    expect(v.accept).toBe(false);
    expect(v.reason).toMatch(/names differ|rare word/);
  });

  it('accepts a true paraphrase with a high similarity', () => {
    const v = verifyCandidate('How can I get rid of a bad habit?', 'How can I get rid of bad habits?', 0.98);
    expect(v.accept).toBe(true);
    expect(v.reason).toBe('ok');
    expect(v.score).toBeGreaterThanOrEqual(DEFAULT_VERIFIER_MIN_SCORE);
    expect(verifyCandidate('What are the new features in iPhone 7?', 'What are some new features of the iPhone 7?', 0.97).accept).toBe(true);
  });

  it('does not accept what the similarity alone rules out, and minScore moves the bar', () => {
    expect(verifyCandidate('How can I get rid of a bad habit?', 'How can I get rid of bad habits?', 0.6).accept).toBe(false);
    const v = verifyCandidate('How do I learn Python?', 'What is the best way to learn Python?', 0.9);
    expect(verifyCandidate('How do I learn Python?', 'What is the best way to learn Python?', 0.9, { minScore: v.score }).accept).toBe(true);
    expect(verifyCandidate('How do I learn Python?', 'What is the best way to learn Python?', 0.9, { minScore: v.score + 1e-6 }).accept).toBe(false);
  });

  it('undoes the QQP "" doubling, trims, and is symmetric', () => {
    expect(normalizeQuestion('  What does ""Namaste"" mean?  ')).toBe('What does "Namaste" mean?');
    const a = pairFeatures('What does ""Namaste"" mean? ', 'What is the meaning of "Namaste"?', 0.9);
    const b = pairFeatures('What is the meaning of "Namaste"?', ' What does ""Namaste"" mean?', 0.9);
    for (const n of FEATURE_NAMES) expect(a[n]).toBeCloseTo(b[n], 12);
    expect(a.entityMismatch).toBe(0);
  });

  it('takes well under a millisecond per pair', () => {
    verifyCandidate('warm up', 'the frequency table', 0.9);
    const started = performance.now();
    for (let i = 0; i < 2000; i++) verifyCandidate(`How do I learn Python in ${i % 7} weeks?`, 'What is the fastest way to learn Python?', 0.9);
    expect((performance.now() - started) / 2000).toBeLessThan(0.5);
  });
});

describe('verifier with USE Lite on QQP dev pairs', () => {
  it.skipIf(!existsSync(DEV_PAIRS))(
    'serves hits with precision >= 0.85 on a fixed seeded sample of 400 lexically close pairs',
    async () => {
      const { pairs } = await loadPairs(DEV_PAIRS);
      // Lexically close pairs are the ones a semantic cache has to judge; a uniform sample would serve too few hits to measure.
      const words = (t: string) => new Set(normalizeQuestion(t).toLowerCase().match(/[a-z0-9]+/g) ?? []);
      const jaccard = (a: Set<string>, b: Set<string>) => {
        let shared = 0;
        for (const x of a) if (b.has(x)) shared++;
        return shared / (a.size + b.size - shared);
      };
      const close = pairs.filter((p) => p.source === 'qqp' && jaccard(words(p.a), words(p.b)) >= 0.5);
      const rnd = seededRandom(1);
      const sample = close
        .map((p) => [rnd(), p] as const)
        .sort((x, y) => x[0] - y[0])
        .slice(0, 400)
        .map(([, p]) => p);

      const embedder = new BatchingEmbedder(new UseLiteEmbedder(), { maxBatch: 32, maxWaitMs: 2 });
      const vectors = await Promise.all(sample.flatMap((p) => [p.a, p.b]).map((t) => embedder.embed([normalizeQuestion(t)])));
      const scored = sample.map((p, i) => {
        const [va, vb] = [vectors[2 * i]![0]!, vectors[2 * i + 1]![0]!];
        return { ...p, similarity: va.reduce((s, x, j) => s + x * vb[j]!, 0) };
      });
      const plain = hitMetrics(scored, (p) => p.similarity >= DEFAULT_SIMILARITY_THRESHOLD);
      const verified = hitMetrics(
        scored,
        (p) => p.similarity >= DEFAULT_SIMILARITY_THRESHOLD && verifyCandidate(p.a, p.b, p.similarity).accept,
      );
      expect(verified.served).toBeGreaterThanOrEqual(30);
      expect(verified.precision).toBeGreaterThanOrEqual(0.85);
      expect(verified.precision).toBeGreaterThan(plain.precision + 0.1);
    },
    60_000,
  );
});
