/**
 * Offline tools (route-fit's cross-validation, `switchyard classify`) decide
 * in tight loops. The outcome indexes build their graphs in the background,
 * so without care such a loop would score through exact scans, and its
 * output would depend on how far the background got: the scores must be the
 * ones the built graphs give, on any machine.
 */
import { describe, expect, it } from 'vitest';
import { routingLearnedSchema } from '../../src/config/routing-learned.js';
import { buildModel, scoreExamples, type FitExample } from '../../src/eval/route-fit.js';
import { LearnedRouter } from '../../src/routing/learned.js';
import { rng, unit } from '../helpers/vectors.js';

const DIM = 512;

/**
 * Few wide clusters (similarity ~0.5 within one): many near-ties among the
 * nearest, where a graph over the projection can rank a neighbour differently
 * from an exact scan.
 */
function examples(n: number, seed: number): FitExample[] {
  const r = rng(seed);
  const centres = Array.from({ length: 6 }, () => unit(Float32Array.from({ length: DIM }, r)));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % centres.length]!;
    const v = unit(Float32Array.from(c, (x) => x + 0.0765 * r()));
    return { vector: v, complexity: (r() + 1) / 2, tokens: 50 + i, ok: r() > -0.2 ? 1 : 0, weak: r() > 0, strong: true };
  });
}

describe('offline scoring through the learned router', () => {
  it('scores through the built seed graphs, not through whatever the background had built', async () => {
    const all = examples(3_300, 7);
    const train = all.slice(0, 3_000);
    const test = all.slice(3_000);
    const model = buildModel(train, { embedder: 'test' });
    const sync = scoreExamples(model, test);

    // The same model with its background work left to finish on event-loop turns.
    const router = new LearnedRouter(routingLearnedSchema.parse({}), ['weak', 'strong'], { ...model, tier: 'weak' });
    const scanned = test.map((e) => router.estimate(0, { embedding: e.vector, complexity: e.complexity, tokens: e.tokens, features: undefined, tenant: undefined }, undefined).p);
    await router.settled();
    const built = test.map((e) => router.estimate(0, { embedding: e.vector, complexity: e.complexity, tokens: e.tokens, features: undefined, tenant: undefined }, undefined).p);

    // The data is such that the scan and the graph disagree somewhere (else this test could not tell them apart).
    expect(scanned.some((p, i) => p !== built[i])).toBe(true);
    expect(Array.from(sync)).toEqual(built);
  });
});
