/**
 * The routing evaluation: scores every prompt of a RouteLLM-style set
 * (`{prompt, weak_correct, strong_correct}` JSON lines) and compares the
 * complexity signal with the random and prompt-length baselines, in-sample
 * (the shipped weights) and 5-fold cross-validated (weights refitted on four
 * folds, scored on the fifth; folds split by prompt text).
 */
import { readFileSync } from 'node:fs';
import type { CanonicalRequest } from '../protocol/canonical.js';
import { COMPLEXITY_FEATURES, complexityFeatures } from '../routing/signals/complexity-features.js';
import { complexityLogit, DEFAULT_COMPLEXITY_MODEL, type ComplexityModel } from '../routing/signals/complexity.js';
import { DEFAULT_FIT, fitComplexityModel, type FitOptions, type FitRow } from './complexity-fit.js';
import { metricsFromCurve, randomCurve, routerMetrics, type Outcome, type RouterMetrics } from './routing-metrics.js';

/** One labelled prompt. */
export interface EvalRow extends Outcome {
  prompt: string;
  source?: string;
}

/** What `runRoutingEval` measures. */
export interface RoutingEvalReport {
  n: number;
  /** All-weak and all-strong quality. */
  weakQuality: number;
  strongQuality: number;
  random: RouterMetrics;
  length: RouterMetrics;
  /** The shipped weights (fitted on this very set when it is the dev set: in-sample). */
  shipped: RouterMetrics;
  /** Out-of-fold scores of weights refitted per fold, pooled. */
  crossValidated: RouterMetrics;
  /** APGR of each held-out fold on its own. */
  foldApgr: number[];
}

/** Options of `runRoutingEval`. */
export interface RoutingEvalOptions {
  model?: ComplexityModel;
  fit?: FitOptions;
  folds?: number;
}

/** Reads a JSON-lines routing set. */
export function readRoutingSet(file: string): EvalRow[] {
  const rows: EvalRow[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = JSON.parse(line) as { prompt?: unknown; weak_correct?: unknown; strong_correct?: unknown; source?: unknown };
    if (typeof r.prompt !== 'string' || typeof r.weak_correct !== 'boolean' || typeof r.strong_correct !== 'boolean') {
      throw new Error(`${file}: each line needs prompt (string), weak_correct and strong_correct (boolean)`);
    }
    rows.push({ prompt: r.prompt, weak: r.weak_correct, strong: r.strong_correct, source: typeof r.source === 'string' ? r.source : undefined });
  }
  return rows;
}

/** A prompt as a one-turn chat request, the way the router sees it. */
export function promptRequest(prompt: string): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'switchyard/auto', messages: [{ role: 'user', content: prompt }], stream: false, extra: {} };
}

/** Soft training label: 1 when only the strong model is right, 0 when only the weak one is, else 0.5. */
export function softLabel(o: Outcome): number {
  return (1 + Number(o.strong) - Number(o.weak)) / 2;
}

/** Fold of a prompt: FNV-1a of its text, so identical prompts share a fold. */
export function foldOf(prompt: string, folds: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) h = Math.imul(h ^ prompt.charCodeAt(i), 0x01000193);
  return (h >>> 0) % folds;
}

/** Feature rows of a set, ready for fitting. */
export function featureRows(rows: readonly EvalRow[]): FitRow[] {
  return rows.map((r) => {
    const f = complexityFeatures(promptRequest(r.prompt));
    return { x: Float64Array.from(COMPLEXITY_FEATURES, (k) => f[k]), y: softLabel(r) };
  });
}

/**
 * Runs the routing evaluation on a JSON-lines file.
 *
 * @example
 * const report = runRoutingEval('/work/shared/data/routing-dev.jsonl');
 * console.log(formatRoutingReport(report));
 */
export function runRoutingEval(file: string, opts: RoutingEvalOptions = {}): RoutingEvalReport {
  const rows = readRoutingSet(file);
  const model = opts.model ?? DEFAULT_COMPLEXITY_MODEL;
  const folds = opts.folds ?? 5;
  const feats = featureRows(rows);
  const logit = (x: Float64Array, m: ComplexityModel) => {
    const f = Object.fromEntries(COMPLEXITY_FEATURES.map((k, j) => [k, x[j]!])) as Parameters<typeof complexityLogit>[0];
    return complexityLogit(f, m);
  };

  const shippedScores = feats.map((r) => logit(r.x, model));
  const fold = rows.map((r) => foldOf(r.prompt, folds));
  const oof = new Float64Array(rows.length);
  const foldApgr: number[] = [];
  for (let k = 0; k < folds; k++) {
    const m = fitComplexityModel(feats.filter((_, i) => fold[i] !== k), opts.fit ?? DEFAULT_FIT);
    const idx = rows.flatMap((_, i) => (fold[i] === k ? [i] : []));
    for (const i of idx) oof[i] = logit(feats[i]!.x, m);
    foldApgr.push(routerMetrics(idx.map((i) => oof[i]!), idx.map((i) => rows[i]!)).apgr);
  }

  const n = rows.length;
  return {
    n,
    weakQuality: rows.filter((r) => r.weak).length / n,
    strongQuality: rows.filter((r) => r.strong).length / n,
    random: metricsFromCurve(randomCurve(rows)),
    length: routerMetrics(rows.map((r) => r.prompt.length), rows),
    shipped: routerMetrics(shippedScores, rows),
    crossValidated: routerMetrics(oof, rows),
    foldApgr,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Renders a report as a plain-text table. */
export function formatRoutingReport(r: RoutingEvalReport): string {
  const routers: [string, RouterMetrics][] = [
    ['random', r.random],
    ['length', r.length],
    ['complexity (shipped, in-sample)', r.shipped],
    ['complexity (5-fold CV)', r.crossValidated],
  ];
  const out: string[] = [];
  out.push(`prompts ${r.n}; all-weak ${pct(r.weakQuality)}; all-strong ${pct(r.strongQuality)}`);
  out.push('', 'quality at share of strong calls:');
  out.push(['share', ...routers.map(([name]) => name)].map((s, i) => (i === 0 ? s.padEnd(6) : s.padStart(32))).join(''));
  r.random.curve.forEach((pt, i) => {
    out.push([`${Math.round(pt.share * 100)}%`.padEnd(6), ...routers.map(([, m]) => pct(m.curve[i]!.quality).padStart(32))].join(''));
  });
  out.push('', 'router'.padEnd(34) + 'APGR'.padStart(8) + 'CPT(50)'.padStart(10) + 'CPT(80)'.padStart(10) + '95% of strong'.padStart(15));
  for (const [name, m] of routers) {
    out.push(name.padEnd(34) + m.apgr.toFixed(3).padStart(8) + pct(m.cpt50).padStart(10) + pct(m.cpt80).padStart(10) + pct(m.shareFor95).padStart(15));
  }
  out.push('', `held-out fold APGR: ${r.foldApgr.map((a) => a.toFixed(3)).join(', ')}`);
  return out.join('\n');
}
