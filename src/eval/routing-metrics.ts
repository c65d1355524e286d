/**
 * RouteLLM-style routing metrics: quality against the share of strong calls,
 * PGR, APGR and CPT. A router is a score per prompt; the highest scores go to
 * the strong model first. Tied scores are ordered at random, in expectation.
 */

/** Correctness of both models on one prompt. */
export interface Outcome {
  weak: boolean;
  strong: boolean;
}

/** One point of a quality curve. */
export interface CurvePoint {
  /** Share of prompts sent to the strong model (0..1). */
  share: number;
  /** Mean correctness of the routed answers. */
  quality: number;
  /** (quality − weak) / (strong − weak). */
  pgr: number;
}

/** Summary of one router on one set. */
export interface RouterMetrics {
  /** Mean PGR over every number of strong calls 0..n. */
  apgr: number;
  /** Smallest strong share reaching PGR ≥ 50%. */
  cpt50: number;
  /** Smallest strong share reaching PGR ≥ 80%. */
  cpt80: number;
  /** Smallest strong share reaching 95% of all-strong quality. */
  shareFor95: number;
  /** Quality at the requested shares. */
  curve: CurvePoint[];
}

/** The shares the report prints: 10%..100% and 25/50/75%. */
export const REPORT_SHARES: readonly number[] = [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1];

/**
 * Expected quality after k strong calls, for k = 0..n (tie groups averaged).
 *
 * @example
 * qualityCurve([0.9, 0.1], [{ weak: false, strong: true }, { weak: true, strong: true }]); // [0.5, 1, 1]
 */
export function qualityCurve(scores: ArrayLike<number>, outcomes: readonly Outcome[]): Float64Array {
  const n = outcomes.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let weakTotal = 0;
  for (const o of outcomes) weakTotal += o.weak ? 1 : 0;
  const q = new Float64Array(n + 1);
  q[0] = weakTotal / n;
  let gained = 0;
  let k = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    let groupGain = 0;
    while (j < n && scores[order[j]!] === scores[order[i]!]) {
      const o = outcomes[order[j]!]!;
      groupGain += Number(o.strong) - Number(o.weak);
      j++;
    }
    const mean = groupGain / (j - i);
    for (let t = 1; t <= j - i; t++) q[k + t] = (weakTotal + gained + mean * t) / n;
    gained += groupGain;
    k = j;
    i = j;
  }
  return q;
}

/**
 * Metrics of a router given its scores.
 *
 * @example
 * routerMetrics(scores, outcomes).apgr; // 0.5 for a random router
 */
export function routerMetrics(scores: ArrayLike<number>, outcomes: readonly Outcome[], shares = REPORT_SHARES): RouterMetrics {
  return metricsFromCurve(qualityCurve(scores, outcomes), shares);
}

/** Metrics from a quality curve over k = 0..n strong calls. */
export function metricsFromCurve(q: Float64Array, shares = REPORT_SHARES): RouterMetrics {
  const n = q.length - 1;
  const weak = q[0]!;
  const strong = q[n]!;
  const pgr = (x: number) => (x - weak) / (strong - weak);
  let sum = 0;
  for (let k = 0; k <= n; k++) sum += pgr(q[k]!);
  const first = (ok: (k: number) => boolean) => {
    for (let k = 0; k <= n; k++) if (ok(k)) return k / n;
    return 1;
  };
  const eps = 1e-12;
  return {
    apgr: sum / (n + 1),
    cpt50: first((k) => pgr(q[k]!) >= 0.5 - eps),
    cpt80: first((k) => pgr(q[k]!) >= 0.8 - eps),
    shareFor95: first((k) => q[k]! >= 0.95 * strong - eps),
    curve: shares.map((share) => {
      const quality = q[Math.round(share * n)]!;
      return { share, quality, pgr: pgr(quality) };
    }),
  };
}

/** The expected curve of a random router: weak + k/n · (strong − weak). */
export function randomCurve(outcomes: readonly Outcome[]): Float64Array {
  const n = outcomes.length;
  let weak = 0;
  let strong = 0;
  for (const o of outcomes) {
    weak += Number(o.weak);
    strong += Number(o.strong);
  }
  const q = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) q[k] = (weak + (k / n) * (strong - weak)) / n;
  return q;
}

/**
 * Percentile bootstrap of a router's metrics: rows resampled with replacement
 * `rounds` times (a fixed seed, so a run is reproducible), the metrics
 * recomputed on each resample. Returns the 2.5% and 97.5% percentiles of
 * APGR and of the strong share for 95% of all-strong quality: how much of a
 * difference between two figures the set's size alone could make.
 *
 * @example
 * bootstrapMetrics(scores, outcomes).shareFor95; // [0.47, 0.53]
 */
export function bootstrapMetrics(scores: ArrayLike<number>, outcomes: readonly Outcome[], rounds = 200, seed = 1): { apgr: [number, number]; shareFor95: [number, number] } {
  const n = outcomes.length;
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const apgr: number[] = [];
  const share: number[] = [];
  const sc = new Float64Array(n);
  const oc: Outcome[] = new Array<Outcome>(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rnd() * n);
      sc[i] = scores[j]!;
      oc[i] = outcomes[j]!;
    }
    const m = routerMetrics(sc, oc, []);
    apgr.push(m.apgr);
    share.push(m.shareFor95);
  }
  const ci = (xs: number[]): [number, number] => {
    xs.sort((a, b) => a - b);
    return [xs[Math.floor(0.025 * (xs.length - 1))]!, xs[Math.ceil(0.975 * (xs.length - 1))]!];
  };
  return { apgr: ci(apgr), shareFor95: ci(share) };
}
