/**
 * From report to config: per task type, the routing thresholds the verdicts
 * support, and the config with them written in as `routing.taskThresholds`.
 *
 * For a task and a ladder tier T shadowed by a cheaper ladder tier S, the
 * bands starting at T's current lower threshold are walked upwards while
 * their verdict is `downgrade`; the threshold(s) between S and T rise to the
 * top of the last such band (never past T's upper threshold). Thresholds
 * only rise: `keep` leaves them where they are, and nothing is lowered. Only
 * rows routed by the complexity ladder count. The configured (not the
 * learned) thresholds are the starting point; learning still shifts the
 * result within its guard rail.
 */
import { isMap, parseDocument } from 'yaml';
import type { SwitchyardConfig } from '../config/schema.js';
import type { ReportRow, ShadowReport } from './report.js';

/** One suggested change. */
export interface ThresholdChange {
  task: string;
  from: number[];
  to: number[];
  /** e.g. `HIGH -> MEDIUM up to complexity 0.70 (2 bands, 84 samples)` */
  why: string;
}

const lower = (s: string) => s.toLowerCase();

/**
 * The threshold changes the report supports, one per task that changes.
 *
 * @example
 * suggestThresholds(report, config); // [{ task: 'summarization', from: [0.25, 0.7], to: [0.7, 0.7], why: '...' }]
 */
export function suggestThresholds(report: ShadowReport, config: SwitchyardConfig): ThresholdChange[] {
  const r = config.routing;
  if (!r) return [];
  const ladder = r.ladder.map(lower);
  const byTask = new Map<string, ReportRow[]>();
  for (const row of report.rows) {
    if (!row.byComplexity || !row.shadowIsTier) continue;
    const list = byTask.get(row.task) ?? [];
    list.push(row);
    byTask.set(row.task, list);
  }
  const out: ThresholdChange[] = [];
  for (const [task, rows] of byTask) {
    const from = [...(r.taskThresholds[task as keyof typeof r.taskThresholds] ?? r.thresholds)];
    const th = [...from];
    const notes: string[] = [];
    for (let i = ladder.length - 1; i >= 1; i--) {
      for (let j = i - 1; j >= 0; j--) {
        const pair = rows.filter((x) => lower(x.tier) === ladder[i] && lower(x.shadow) === ladder[j]).sort((a, b) => a.band[0] - b.band[0]);
        const start = th[i - 1]!;
        const ceiling = i < th.length ? th[i]! : 1;
        let top = start;
        let bands = 0;
        let samples = 0;
        for (const row of pair) {
          if (row.band[1] <= top) continue;
          if (row.band[0] > top || row.recommendation !== 'downgrade') break;
          top = Math.min(row.band[1], ceiling);
          bands++;
          samples += row.scored;
        }
        if (top <= start) continue;
        for (let k = j; k <= i - 1; k++) th[k] = Math.max(th[k]!, top);
        notes.push(`${pair[0]!.tier} -> ${pair[0]!.shadow} up to complexity ${top.toFixed(2)} (${bands} band(s), ${samples} samples)`);
      }
    }
    if (notes.length > 0) out.push({ task, from, to: th.map((t) => Number(t.toFixed(4))), why: notes.join('; ') });
  }
  return out.sort((a, b) => a.task.localeCompare(b.task));
}

/**
 * The config text with the changes written under `routing.taskThresholds`;
 * comments and layout of the rest are kept.
 *
 * @throws {Error} when the text is not a YAML mapping with a `routing` section
 */
export function applyThresholds(yamlText: string, changes: readonly ThresholdChange[], stamp = new Date().toISOString()): string {
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) throw new Error(`the config is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.get('routing'))) throw new Error('the config has no `routing` section to patch');
  for (const c of changes) {
    const node = doc.createNode(c.to, { flow: true });
    node.comment = ` shadow report ${stamp.slice(0, 10)}: ${c.why}`;
    doc.setIn(['routing', 'taskThresholds', c.task], node);
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** The changes alone, as the YAML fragment an operator would paste. */
export function patchYaml(changes: readonly ThresholdChange[]): string {
  if (changes.length === 0) return '';
  const lines = ['routing:', '  taskThresholds:'];
  for (const c of changes) lines.push(`    ${c.task}: [${c.to.join(', ')}]   # was [${c.from.join(', ')}]: ${c.why}`);
  return `${lines.join('\n')}\n`;
}
