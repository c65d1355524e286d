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
