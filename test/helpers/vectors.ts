/** Deterministic vectors for index tests: a seeded generator in [-1, 1) and unit normalisation. */

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

export function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  for (let i = 0; i < v.length; i++) v[i]! /= Math.sqrt(n);
  return v;
}

/** mulberry32, a small seeded PRNG in [0, 1) (fixtures that must be the same file or text on every run): the evaluation's own. */
export { seededRandom as mulberry32 } from '../../src/eval/cache-eval.js';

/**
 * Vectors like sentence embeddings for `dim`: most of the energy in a few
 * directions (a 12-d latent space, what a projection keeps), plus some spread
 * in all. `embeddingLike(dim)(r)` draws one with the generator `r`.
 */
export function embeddingLike(dim: number): (r: () => number) => Float32Array {
  const lr = rng(77);
  const latent = Array.from({ length: 12 }, () => unit(Float32Array.from({ length: dim }, lr)));
  return (r) => {
    const v = new Float32Array(dim);
    for (const [j, d] of latent.entries()) {
      const w = r() / (1 + j * 0.15);
      for (let i = 0; i < dim; i++) v[i]! += w * d[i]!;
    }
    for (let i = 0; i < dim; i++) v[i]! += 0.02 * r();
    return unit(v);
  };
}
