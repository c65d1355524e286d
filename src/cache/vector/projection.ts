/**
 * A linear projection of vectors onto their dominant subspace (uncentred
 * PCA: the top eigenvectors of the second-moment matrix), for graph search in
 * fewer dimensions followed by an exact re-rank in the full space. Inner
 * products of unit vectors are mostly carried by a few dozen directions of a
 * sentence-embedding space, so a graph over 64-d projections finds the same
 * candidates as one over 512-d vectors at a fraction of the cost per
 * distance; the exact re-rank then restores the true order and similarities.
 *
 * Fitting is deterministic (fixed start, fixed iteration count): the same
 * samples give the same basis, so a basis can be checked against a snapshot.
 */

import { dotAt } from './flat.js';
import { Dots, simdAvailable } from './simd.js';

/** An orthonormal basis of `to` rows of `from` numbers (row-major). */
export class Projection {
  /** The basis in WebAssembly memory, then room for a query and its projection (undefined: JavaScript). */
  private readonly simd: Dots | undefined;

  private constructor(
    readonly from: number,
    readonly to: number,
    /** `to` × `from`, row-major; rows orthonormal. */
    readonly basis: Float32Array,
  ) {
    if (simdAvailable() && from % 4 === 0) {
      this.simd = new Dots(to * from + from + to);
      this.simd.f32.set(basis, 0);
    }
  }

  /** A projection from a stored basis (e.g. a snapshot); throws when the sizes disagree. */
  static of(from: number, to: number, basis: Float32Array): Projection {
    if (basis.length !== from * to) throw new Error(`basis has ${basis.length} numbers, not ${from}×${to}`);
    return new Projection(from, to, basis);
  }

  /**
   * Fits the `to` dominant directions of `samples` (each `from` long) by
   * subspace iteration on their second-moment matrix.
   *
   * @example
   * const p = Projection.fit(vectors, 64);
   * p.project(query); // Float32Array(64)
   */
  static fit(samples: readonly Float32Array[], to: number, iterations = 6): Projection {
    const steps = Projection.fitSteps(samples, to, iterations);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * {@link Projection.fit} in steps of well under a millisecond (yielding
   * between them), for a caller that spreads the fit over event-loop turns;
   * the same arithmetic in the same order: the same basis. `samples` must not
   * change until it is done.
   */
  static *fitSteps(samples: readonly Float32Array[], to: number, iterations = 6): Generator<void, Projection> {
    const from = samples[0]?.length ?? 0;
    if (from === 0) throw new Error('no samples to fit a projection on');
    const r = Math.min(to, from);
    const times = yield* secondMoment(samples, from);
    // Start: a fixed pseudo-random basis (columns stored as rows of q: r × from).
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const q = new Float64Array(r * from);
    for (let i = 0; i < q.length; i++) q[i] = rnd();
    yield* orthonormalise(q, r, from);
    const z = new Float64Array(r * from);
    for (let it = 0; it < iterations; it++) {
      for (let k = 0; k < r; k++) {
        times(q.subarray(k * from, (k + 1) * from), z.subarray(k * from, (k + 1) * from));
        yield;
      }
      q.set(z);
      yield* orthonormalise(q, r, from);
    }
    // Order the directions by captured energy (Rayleigh quotient), largest first.
    const cq = new Float64Array(from);
    const energy: Array<{ k: number; e: number }> = [];
    for (let k = 0; k < r; k++) {
      const qk = q.subarray(k * from, (k + 1) * from);
      times(qk, cq);
      let e = 0;
      for (let i = 0; i < from; i++) e += cq[i]! * qk[i]!;
      energy.push({ k, e });
      yield;
    }
    energy.sort((a, b) => b.e - a.e);
    const basis = new Float32Array(r * from);
    energy.forEach(({ k }, row) => basis.set(q.subarray(k * from, (k + 1) * from), row * from));
    return new Projection(from, r, basis);
  }

  /** `x` projected (into `out` when given: no allocation). */
  project(x: Float32Array, out: Float32Array = new Float32Array(this.to)): Float32Array {
    const d = this.simd;
    if (d) {
      const q = this.to * this.from;
      d.f32.set(x, q);
      d.dots(q, 0, this.to, this.from, q + this.from);
      out.set(d.f32.subarray(q + this.from, q + this.from + this.to));
      return out;
    }
    for (let k = 0; k < this.to; k++) out[k] = dotAt(this.basis, k * this.from, x, this.from);
    return out;
  }
}

/**
 * The second-moment matrix C = Σ x xᵀ of the samples, as a function
 * `times(v, out)`: out = C v. Built and applied with the SIMD kernel when
 * available (C in float32: ~50 ms for 768 samples of 512-d, against ~1 s in
 * JavaScript, which blocked the event loop that long), else in float64.
 */
function* secondMoment(samples: readonly Float32Array[], from: number): Generator<void, (v: Float64Array, out: Float64Array) => void> {
  if (simdAvailable() && from % 4 === 0) {
    const n = Math.ceil(samples.length / 4) * 4; // zero columns pad the sample count to a multiple of 4
    const cols = 0;
    const c = from * n;
    const v = c + from * from;
    const out = v + from;
    const d = new Dots(out + from);
    const f = d.f32;
    for (let s = 0; s < samples.length; s++) {
      const x = samples[s]!;
      for (let i = 0; i < from; i++) f[cols + i * n + s] = x[i]!;
      if (s % 64 === 63) yield;
    }
    for (let i = 0; i < from; i++) {
      d.dots(cols + i * n, cols, from, n, c + i * from);
      yield;
    }
    return (vec, res) => {
      for (let i = 0; i < from; i++) d.f32[v + i] = vec[i]!;
      d.dots(v, c, from, from, out);
      for (let i = 0; i < from; i++) res[i] = d.f32[out + i]!;
    };
  }
  // Upper triangle then mirrored, float64 sums.
  const c = new Float64Array(from * from);
  for (const x of samples) {
    for (let i = 0; i < from; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const row = i * from;
      for (let j = i; j < from; j++) c[row + j]! += xi * x[j]!;
    }
    yield;
  }
  for (let i = 0; i < from; i++) for (let j = 0; j < i; j++) c[i * from + j] = c[j * from + i]!;
  return (vec, res) => {
    for (let i = 0; i < from; i++) {
      const row = i * from;
      let s = 0;
      for (let j = 0; j < from; j++) s += c[row + j]! * vec[j]!;
      res[i] = s;
    }
  };
}

/** Modified Gram–Schmidt on the `r` rows of `q` (a degenerate row is replaced by a unit axis). */
function* orthonormalise(q: Float64Array, r: number, n: number): Generator<void, void> {
  let alt = 0;
  for (let k = 0; k < r; k++) {
    const ko = k * n;
    for (let p = 0; p < k; p++) {
      const po = p * n;
      let d = 0;
      for (let i = 0; i < n; i++) d += q[ko + i]! * q[po + i]!;
      for (let i = 0; i < n; i++) q[ko + i]! -= d * q[po + i]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[ko + i]! ** 2;
    if (norm < 1e-20 && alt < n) {
      q.fill(0, ko, ko + n);
      q[ko + ((k + alt++) % n)] = 1;
      k--; // re-orthogonalise the replacement
      continue;
    }
    const s = 1 / Math.sqrt(norm);
    for (let i = 0; i < n; i++) q[ko + i]! *= s;
    yield;
  }
}
