/**
 * `switchyard shadow report`: reads the stored shadow results named by the
 * config's `shadow.store`, prints the report (text or JSON) and the
 * suggested `routing.taskThresholds`, and with `--apply OUT.yaml` writes the
 * config with them applied, once the real config loader and the router's
 * cross-checks accept it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, defaultConfig, loadConfigFile, parseConfig } from '../config/load.js';
import { routingIssues } from '../routing/validate.js';
import { applyThresholds, patchYaml, suggestThresholds } from './patch.js';
import { buildReport, formatReport } from './report.js';
import type { ShadowResult } from './result.js';
import { openShadowStore } from './store.js';

/** Options of {@link shadowReport}. */
export interface ShadowReportOptions {
  /** Config file (required with `apply`); the embedded defaults otherwise. */
  config?: string;
  /** Where to write the patched config. */
  apply?: string;
  /** Only results newer than this: `30m`, `12h`, `7d`. */
  since?: string;
  json?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where the report goes (default stdout). */
  out?: (text: string) => void;
  /** Where a refusal goes (default stderr). */
  err?: (text: string) => void;
}

/** `30m` / `12h` / `7d` → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`--since: expected a duration such as 30m, 12h or 7d, got "${s}"`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/**
 * Runs the report; resolves to the exit code (0, or 2 for a usage error or
 * when the patched config would be refused: nothing is written then).
 * Throws `ConfigError` for an invalid input config.
 *
 * @example
 * await shadowReport({ config: 'switchyard.yaml', apply: 'switchyard.next.yaml' });
 */
export async function shadowReport(o: ShadowReportOptions): Promise<number> {
  const env = o.env ?? process.env;
  const out = o.out ?? ((t: string) => void process.stdout.write(t));
  const err = o.err ?? ((t: string) => void process.stderr.write(t));
  if (o.apply && !o.config) {
    err('switchyard shadow report: --apply needs --config, the file the patch is applied to\n');
    return 2;
  }
  let sinceMs: number | undefined;
  try {
    sinceMs = o.since ? Date.now() - parseDuration(o.since) : undefined;
  } catch (e) {
    err(`switchyard shadow report: ${(e as Error).message}\n`);
    return 2;
  }
  const config = o.config ? loadConfigFile(o.config, env) : defaultConfig(env);
  const store = openShadowStore(config.shadow.store);
  const results: ShadowResult[] = [];
  try {
    for await (const r of store.read(sinceMs !== undefined ? { sinceMs } : {})) results.push(r);
  } finally {
    await store.close();
  }
  const report = buildReport(results, config);
  const changes = suggestThresholds(report, config);
  if (o.json) out(`${JSON.stringify({ ...report, changes }, null, 2)}\n`);
  else {
    out(formatReport(report));
    out(changes.length > 0 ? `\nSuggested patch:\n${patchYaml(changes)}` : '\nNo threshold change suggested.\n');
  }
  if (!o.apply) return 0;
  const patched = applyThresholds(readFileSync(o.config!, 'utf8'), changes);
  try {
    const next = parseConfig(patched, env, o.apply);
    const issues = routingIssues(next);
    if (issues.length > 0) throw new ConfigError(issues, o.apply);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`switchyard: the patched config would be refused; nothing written\n${e.message}\n`);
    return 2;
  }
  writeFileSync(o.apply, patched);
  if (!o.json) out(`\nWrote ${o.apply} (${changes.length} task(s) changed).\n`);
  return 0;
}
