/**
 * The WebAssembly SIMD dot-product kernel: the same numbers as a JavaScript
 * float64 sum (within float32 rounding), across memory growth, and a refused
 * dimension that is not a multiple of 4.
 */
import { describe, expect, it } from 'vitest';
import { Dots, simdAvailable } from '../../src/cache/vector/simd.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

describe('Dots (WebAssembly SIMD)', () => {
  it('computes count × dim inner products like JavaScript does', () => {
    expect(simdAvailable()).toBe(true); // Node 20+ has WebAssembly SIMD
    const r = rng(1);
    for (const [dim, count] of [[4, 1], [64, 7], [512, 64]] as const) {
      const d = new Dots(8);
      const q = Float32Array.from({ length: dim }, r);
      const rows = Float32Array.from({ length: dim * count }, r);
      d.reserve(dim + count + dim * count); // grows the memory: the view is replaced
      d.f32.set(q, 0);
      d.f32.set(rows, dim + count);
      d.dots(0, dim + count, count, dim, dim);
      for (let c = 0; c < count; c++) {
        let s = 0;
        for (let i = 0; i < dim; i++) s += q[i]! * rows[c * dim + i]!;
        expect(d.f32[dim + c]!).toBeCloseTo(s, 4);
      }
    }
    expect(() => new Dots(16).dots(0, 4, 1, 6, 0)).toThrow(/multiple of 4/);
  });
});
