/**
 * The shadow report: stored results grouped by task type, complexity band and
 * tier pair, with the agreement rate, its Wilson bounds, the mean judge score
 * and similarity, what a downgrade would save, and a verdict per group:
 * `downgrade` when the lower bound clears the target agreement, `keep` when
 * the upper bound stays below it, `collect` otherwise (too few samples, or an
 * interval that straddles the target). Agreement is recomputed from the
 * stored scores with the current `shadow.agreement`, so thresholds can be
 * tuned after the fact.
 */
import type { ShadowAgreementConfig } from '../config/shadow.js';
import type { SwitchyardConfig } from '../config/schema.js';
import type { ShadowResult } from './result.js';
import { agreement } from './scorer.js';
import { wilson } from './stats.js';

export type Recommendation = 'downgrade' | 'keep' | 'collect';

/** One task type × complexity band × tier pair. */
export interface ReportRow {
  task: string;
  /** Complexity band `[lo, hi)` (the last band includes 1). */
  band: [number, number];
  /** Chosen by the complexity ladder (not a rule, tools or spill-over): only such rows move thresholds. */
  byComplexity: boolean;
  /** The tier that answered the user. */
  tier: string;
  /** The tier (or, outside every tier, the model) that answered the shadow request. */
  shadow: string;
  shadowIsTier: boolean;
  samples: number;
  /** Shadow calls that failed (no answer to score). */
  errors: number;
  /** Samples with a verdict. */
  scored: number;
  agreed: number;
  agreement?: number;
  /** One-sided Wilson bounds of the agreement at the report's confidence. */
  wilson: [number, number];
  meanJudge?: number;
  meanSimilarity?: number;
  costUsd: number;
  shadowCostUsd: number;
  /** Share of the cost a downgrade would save (1 − shadow/cost). */
  savingShare?: number;
  savingPerRequestUsd: number;
  recommendation: Recommendation;
  why: string;
}

/** The report's settings, from `shadow.report` and `shadow.agreement`. */
export interface ReportSettings {
  targetAgreement: number;
  confidence: number;
  minSamples: number;
  /** Band edges inside (0, 1). */
  edges: number[];
  agreement: ShadowAgreementConfig;
}

/** The whole report. */
export interface ShadowReport {
  generatedAt: string;
  /** Time of the oldest and newest result read. */
  from?: string;
  to?: string;
  results: number;
  settings: ReportSettings;
  rows: ReportRow[];
}

/** Band edges: the configured ones plus every routing threshold, sorted, inside (0, 1). */
export function bandEdges(config: SwitchyardConfig): number[] {
  const r = config.routing;
  const all = [...config.shadow.report.bands, ...(r?.thresholds ?? []), ...Object.values(r?.taskThresholds ?? {}).flat()];
  return [...new Set(all.filter((e) => e > 0 && e < 1).map((e) => Number(e.toFixed(4))))].sort((a, b) => a - b);
}

function bandOf(edges: readonly number[], c: number): [number, number] {
  let lo = 0;
  for (const e of edges) {
    if (c < e) return [lo, e];
    lo = e;
  }
  return [lo, 1];
}

interface Acc {
  row: Omit<ReportRow, 'agreement' | 'wilson' | 'meanJudge' | 'meanSimilarity' | 'savingShare' | 'savingPerRequestUsd' | 'recommendation' | 'why'>;
  judgeSum: number;
  judgeN: number;
  simSum: number;
  simN: number;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

function verdict(row: ReportRow, s: ReportSettings): Pick<ReportRow, 'recommendation' | 'why'> {
  const conf = pct(s.confidence);
  if (row.scored < s.minSamples) return { recommendation: 'collect', why: `${s.minSamples - row.scored} more scored sample(s) needed` };
  const [lo, hi] = row.wilson;
  if (lo >= s.targetAgreement) return { recommendation: 'downgrade', why: `agreement >= ${lo.toFixed(2)} at ${conf} confidence (target ${s.targetAgreement})` };
  if (hi < s.targetAgreement) return { recommendation: 'keep', why: `agreement <= ${hi.toFixed(2)} at ${conf} confidence (target ${s.targetAgreement})` };
  return { recommendation: 'collect', why: `inconclusive: ${lo.toFixed(2)}..${hi.toFixed(2)} straddles the target ${s.targetAgreement}` };
}

/**
 * Builds the report from stored results.
 *
 * @example
 * const results = [];
 * for await (const r of store.read()) results.push(r);
 * const report = buildReport(results, config);
 * report.rows.filter((r) => r.recommendation === 'downgrade');
 */
export function buildReport(results: Iterable<ShadowResult>, config: SwitchyardConfig, now = new Date()): ShadowReport {
  const rc = config.shadow.report;
  const settings: ReportSettings = { targetAgreement: rc.targetAgreement, confidence: rc.confidence, minSamples: rc.minSamples, edges: bandEdges(config), agreement: config.shadow.agreement };
  const groups = new Map<string, Acc>();
  let n = 0;
  let from: string | undefined;
  let to: string | undefined;
  for (const r of results) {
    n++;
    if (from === undefined || r.time < from) from = r.time;
    if (to === undefined || r.time > to) to = r.time;
    const band = bandOf(settings.edges, r.complexity);
    const shadow = r.shadowTier ?? r.shadowModel;
    const key = [r.task, band[0], r.byComplexity, r.tier, shadow].join('\u0000');
    let g = groups.get(key);
    if (!g) {
      g = {
        row: { task: r.task, band, byComplexity: r.byComplexity, tier: r.tier, shadow, shadowIsTier: r.shadowTier !== undefined, samples: 0, errors: 0, scored: 0, agreed: 0, costUsd: 0, shadowCostUsd: 0 },
        judgeSum: 0,
        judgeN: 0,
        simSum: 0,
        simN: 0,
      };
      groups.set(key, g);
    }
    g.row.samples++;
    if (r.error !== undefined) {
      g.row.errors++;
      continue;
    }
    g.row.costUsd += r.cost;
    g.row.shadowCostUsd += r.shadowCost;
    if (r.judge !== undefined) {
      g.judgeSum += r.judge;
      g.judgeN++;
    }
    if (r.similarity !== undefined) {
      g.simSum += r.similarity;
      g.simN++;
    }
    const ok = agreement(r, settings.agreement);
    if (ok === undefined) continue;
    g.row.scored++;
    if (ok) g.row.agreed++;
  }
  const rows: ReportRow[] = [];
  for (const g of groups.values()) {
    const r = g.row;
    const ok = r.samples - r.errors;
    const row: ReportRow = {
      ...r,
      ...(r.scored > 0 ? { agreement: r.agreed / r.scored } : {}),
      wilson: wilson(r.agreed, r.scored, settings.confidence),
      ...(g.judgeN > 0 ? { meanJudge: g.judgeSum / g.judgeN } : {}),
      ...(g.simN > 0 ? { meanSimilarity: g.simSum / g.simN } : {}),
      ...(r.costUsd > 0 ? { savingShare: 1 - r.shadowCostUsd / r.costUsd } : {}),
      savingPerRequestUsd: ok > 0 ? (r.costUsd - r.shadowCostUsd) / ok : 0,
      recommendation: 'collect',
      why: '',
    };
    Object.assign(row, verdict(row, settings));
    rows.push(row);
  }
  rows.sort((a, b) => a.task.localeCompare(b.task) || a.tier.localeCompare(b.tier) || a.band[0] - b.band[0] || Number(b.byComplexity) - Number(a.byComplexity));
  return { generatedAt: now.toISOString(), ...(from ? { from } : {}), ...(to ? { to } : {}), results: n, settings, rows };
}

const f2 = (x: number) => x.toFixed(2);

/** The report as a text table, one line per row. */
export function formatReport(rep: ShadowReport): string {
  const s = rep.settings;
  const head = [
    `Shadow report: ${rep.results} result(s)${rep.from ? ` from ${rep.from} to ${rep.to}` : ''}`,
    `target agreement ${s.targetAgreement} (Wilson bound, ${pct(s.confidence)} one-sided), min ${s.minSamples} scored samples; agree = similarity >= ${s.agreement.similarity} ${s.agreement.require === 'all' ? 'and' : 'or'} judge >= ${s.agreement.judge}`,
    '',
  ];
  if (rep.rows.length === 0) return `${head.join('\n')}No shadow results yet.\n`;
  const table: string[][] = [['task', 'band', 'tier -> shadow', 'n', 'err', 'agree', 'wilson', 'judge', 'sim', 'saving', 'recommendation']];
  for (const r of rep.rows) {
    table.push([
      r.task,
      `${f2(r.band[0])}-${f2(r.band[1])}${r.byComplexity ? '' : '*'}`,
      `${r.tier} -> ${r.shadow}`,
      String(r.samples),
      String(r.errors),
      r.agreement === undefined ? '-' : `${r.agreed}/${r.scored} ${pct(r.agreement)}`,
      r.scored === 0 ? '-' : `${f2(r.wilson[0])}-${f2(r.wilson[1])}`,
      r.meanJudge === undefined ? '-' : r.meanJudge.toFixed(1),
      r.meanSimilarity === undefined ? '-' : f2(r.meanSimilarity),
      r.savingShare === undefined ? '-' : `${pct(r.savingShare)} $${r.savingPerRequestUsd.toPrecision(2)}/req`,
      `${r.recommendation}: ${r.why}`,
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const lines = table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  const note = rep.rows.some((r) => !r.byComplexity) ? ['', '* routed by a rule, tools or spill-over, not the complexity ladder: informative, never applied'] : [];
  return `${[...head, ...lines, ...note].join('\n')}\n`;
}
