/**
 * The small dense linear algebra route-fit needs (offline only): a principal
 * component basis of the embeddings and a ridge-penalised logistic
 * regression by Newton's method. Matrices are row-major Float64Arrays.
 */

/**
 * Solves `A x = b` for a symmetric positive definite `A` (n × n, row-major)
 * by Cholesky; `A` is not modified.
 *
 * @example
 * solveSpd(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2); // ≈[0.5, 0]
 */
export function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  return cholSolve(cholesky(a, n), b, n);
}

/** The mean of equal-length vectors. */
export function meanVector(vs: readonly Float32Array[]): Float64Array {
  const dim = vs[0]?.length ?? 0;
  const m = new Float64Array(dim);
  for (const v of vs) for (let i = 0; i < dim; i++) m[i]! += v[i]!;
  for (let i = 0; i < dim; i++) m[i]! /= vs.length || 1;
  return m;
}

/**
 * The top `r` principal directions of `vs` around `mean` (r × dim,
 * row-major, orthonormal rows), by subspace iteration on the covariance
 * from a fixed start, so a fit is reproducible.
 *
 * @example
 * const basis = principalBasis(vectors, meanVector(vectors), 64);
 */
export function principalBasis(vs: readonly Float32Array[], mean: Float64Array, r: number, iterations = 40): Float64Array {
  const dim = mean.length;
  // Covariance (dim × dim), upper triangle then mirrored.
  const c = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (const v of vs) {
    for (let i = 0; i < dim; i++) x[i] = v[i]! - mean[i]!;
    for (let i = 0; i < dim; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const row = i * dim;
      for (let j = i; j < dim; j++) c[row + j]! += xi * x[j]!;
    }
  }
  for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) c[i * dim + j] = c[j * dim + i]!;
  // Fixed pseudo-random start.
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
  let q = new Float64Array(r * dim);
  for (let i = 0; i < q.length; i++) q[i] = rnd();
  orthonormalise(q, r, dim);
  const next = new Float64Array(r * dim);
  for (let it = 0; it < iterations; it++) {
    next.fill(0);
    for (let k = 0; k < r; k++) {
      const qk = k * dim;
      for (let i = 0; i < dim; i++) {
        let sum = 0;
        const row = i * dim;
        for (let j = 0; j < dim; j++) sum += c[row + j]! * q[qk + j]!;
        next[qk + i] = sum;
      }
    }
    q.set(next);
    orthonormalise(q, r, dim);
  }
  // Rayleigh-Ritz would order them exactly; subspace iteration from Gram-Schmidt already leaves them by variance.
  return q;
}

function orthonormalise(q: Float64Array, r: number, dim: number): void {
  for (let k = 0; k < r; k++) {
    const a = k * dim;
    for (let p = 0; p < k; p++) {
      const b = p * dim;
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += q[a + i]! * q[b + i]!;
      for (let i = 0; i < dim; i++) q[a + i]! -= dot * q[b + i]!;
    }
    let norm = 0;
    for (let i = 0; i < dim; i++) norm += q[a + i]! ** 2;
    const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < dim; i++) q[a + i]! *= s;
  }
}

/**
 * Ridge-penalised logistic regression by Newton's method: `rows` are
 * feature vectors (the intercept is added and not penalised), `y` targets
 * in 0..1. Returns `[intercept, ...weights]`.
 *
 * @example
 * const b = logisticFit(rows, labels, 10);
 */
export function logisticFit(rows: readonly Float64Array[], y: ArrayLike<number>, ridge: number, iterations = 30): Float64Array {
  const d = (rows[0]?.length ?? 0) + 1;
  const b = new Float64Array(d);
  const h = new Float64Array(d * d);
  const g = new Float64Array(d);
  const z = new Float64Array(d);
  for (let it = 0; it < iterations; it++) {
    h.fill(0);
    g.fill(0);
    for (let n = 0; n < rows.length; n++) {
      const r = rows[n]!;
      z[0] = 1;
      z.set(r, 1);
      let eta = 0;
      for (let i = 0; i < d; i++) eta += b[i]! * z[i]!;
      const p = 1 / (1 + Math.exp(-eta));
      const w = p * (1 - p);
      const e = p - y[n]!;
      for (let i = 0; i < d; i++) {
        const zi = z[i]!;
        g[i]! += e * zi;
        const wz = w * zi;
        const row = i * d;
        for (let j = i; j < d; j++) h[row + j]! += wz * z[j]!;
      }
    }
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) h[i * d + j] = h[j * d + i]!;
    for (let i = 1; i < d; i++) {
      g[i]! += ridge * b[i]!;
      h[i * d + i]! += ridge;
    }
    h[0]! += 1e-9;
    const step = solveSpd(h, g, d);
    let moved = 0;
    for (let i = 0; i < d; i++) {
      b[i]! -= step[i]!;
      moved = Math.max(moved, Math.abs(step[i]!));
    }
    if (moved < 1e-7) break;
  }
  return b;
}

/**
 * Ridge-penalised logistic regressions of several targets on the same rows,
 * by Böhning's bound (a minorise-maximise step with the fixed Hessian bound
 * `Zᵀ Z / 4 + ridge`): the Gram matrix and its Cholesky factor are computed
 * once and shared by every target, so each iteration is two passes over the
 * rows. Same optimum as {@link logisticFit}, several times faster for wide
 * rows (the probe's 514 features). `ridge` is one strength for every weight
 * or one per feature. Returns `[intercept, ...weights]` per target.
 *
 * @example
 * const [weak, strong] = logisticFitShared(rows, [weakLabels, strongLabels], 3000);
 */
export function logisticFitShared(rows: readonly Float64Array[], ys: readonly ArrayLike<number>[], ridge: number | ArrayLike<number>, iterations = 500, tol = 1e-6): Float64Array[] {
  const lam = (i: number) => (typeof ridge === 'number' ? ridge : ridge[i - 1]!);
  const d = (rows[0]?.length ?? 0) + 1;
  const n = rows.length;
  const h = new Float64Array(d * d);
  const z = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    z[0] = 1;
    z.set(rows[r]!, 1);
    for (let i = 0; i < d; i++) {
      const zi = 0.25 * z[i]!;
      if (zi === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) h[row + j]! += zi * z[j]!;
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) h[i * d + j] = h[j * d + i]!;
  for (let i = 1; i < d; i++) h[i * d + i]! += lam(i);
  h[0]! += 1e-9;
  const l = cholesky(h, d);
  const penalty = Float64Array.from({ length: d }, (_, i) => (i === 0 ? 0 : lam(i)));
  const g = new Float64Array(d);
  return ys.map((y) => {
    const b = new Float64Array(d);
    for (let it = 0; it < iterations; it++) {
      g.fill(0);
      for (let r = 0; r < n; r++) {
        const x = rows[r]!;
        let eta = b[0]!;
        for (let i = 1; i < d; i++) eta += b[i]! * x[i - 1]!;
        const e = 1 / (1 + Math.exp(-eta)) - y[r]!;
        g[0]! += e;
        for (let i = 1; i < d; i++) g[i]! += e * x[i - 1]!;
      }
      for (let i = 1; i < d; i++) g[i]! += penalty[i]! * b[i]!;
      const step = cholSolve(l, g, d);
      let moved = 0;
      for (let i = 0; i < d; i++) {
        b[i]! -= step[i]!;
        moved = Math.max(moved, Math.abs(step[i]!));
      }
      if (moved < tol) break;
    }
    return b;
  });
}

function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(sum, 1e-12));
      else l[i * n + j] = sum / l[j * n + j]!;
    }
  }
  return l;
}

function cholSolve(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}
