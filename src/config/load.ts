/**
 * Loading the configuration: YAML → `${ENV}` substitution → zod validation →
 * deep freeze. Every failure becomes one {@link ConfigError} listing each
 * problem by path (and YAML line), so an operator can fix them all at once.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { DEFAULT_CONFIG_YAML } from './defaults.js';
import { configSchema, type SwitchyardConfig } from './schema.js';

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Where, e.g. `upstreams[0].baseUrl`; empty for the whole file. */
  path: string;
  message: string;
  /** 1-based line in the YAML text, when known. */
  line?: number;
}

/**
 * A configuration that cannot be used. The message lists every issue, one per
 * line, as `upstreams[0].baseUrl: Invalid URL (line 5)`.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  /** The file the text came from, when there was one. */
  readonly source?: string;

  constructor(issues: ConfigIssue[], source?: string) {
    const where = source === undefined ? '' : ` in ${source}`;
    const lines = issues.map((i) => `  - ${formatIssue(i)}`);
    super(`invalid Switchyard configuration${where}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
    if (source !== undefined) this.source = source;
  }
}

function formatIssue(i: ConfigIssue): string {
  const at = i.line === undefined ? '' : ` (line ${i.line})`;
  return i.path === '' ? `${i.message}${at}` : `${i.path}: ${i.message}${at}`;
}

type Segment = string | number;

/** An issue before its path is formatted and its line looked up. */
interface RawIssue {
  path: readonly PropertyKey[];
  message: string;
}

/** `['upstreams', 0, 'baseUrl']` → `upstreams[0].baseUrl`; odd keys are quoted: `fallbacks["gpt-4o"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

// ---------------------------------------------------------------- ${ENV}

const REF = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Substitutes `${VAR}` and `${VAR:-default}` in one string, in a single pass
 * (a value is never re-scanned, so secrets containing `${` stay literal).
 * `$${` writes a literal `${`. The default applies when VAR is unset or empty.
 */
function substitute(text: string, env: NodeJS.ProcessEnv, problems: string[]): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const j = text.indexOf('$', i);
    if (j < 0) return out + text.slice(i);
    out += text.slice(i, j);
    if (text.startsWith('$${', j)) {
      out += '${';
      i = j + 3;
      continue;
    }
    if (text[j + 1] !== '{') {
      out += '$';
      i = j + 1;
      continue;
    }
    const end = text.indexOf('}', j + 2);
    if (end < 0) {
      problems.push('unclosed "${" (write "$${" for a literal "${")');
      return out + text.slice(j);
    }
    const expr = text.slice(j + 2, end);
    const m = REF.exec(expr);
    if (m === null) {
      problems.push(`malformed reference "\${${expr}}" (expected \${NAME} or \${NAME:-default})`);
    } else {
      const [, name = '', fallback] = m;
      const value = env[name];
      if (value !== undefined && value !== '') out += value;
      else if (fallback !== undefined) out += fallback;
      else if (value === undefined) {
        problems.push(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      }
    }
    i = end + 1;
  }
  return out;
}

/** Walks parsed YAML, substituting in string values (never keys). Records paths whose whole value was one reference. */
function substituteTree(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: Segment[],
  issues: RawIssue[],
  wholeRefs: Set<string>,
): unknown {
  if (typeof value === 'string') {
    const problems: string[] = [];
    const out = substitute(value, env, problems);
    for (const message of problems) issues.push({ path, message });
    if (out !== value && /^\$\{[^}]*\}$/.test(value)) wholeRefs.add(JSON.stringify(path));
    if (path.at(-1) === 'apiKeyEnv' && value.includes('${')) {
      issues.push({
        path,
        message: 'apiKeyEnv takes the name of the variable (e.g. OPENAI_API_KEY), not ${...}; the key is read at call time',
      });
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteTree(v, env, [...path, i], issues, wholeRefs));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteTree(v, env, [...path, k], issues, wholeRefs);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------- validation

function getAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Keys the schema allows for the object at `path`, for "did you mean" hints. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let s: unknown = configSchema;
  const unwrap = () => {
    while (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
  };
  for (const seg of path) {
    unwrap();
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, unknown>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueType;
    else return [];
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const lower = key.toLowerCase();
  const close = known
    .map((k) => {
      const kl = k.toLowerCase();
      return { k, d: kl === lower ? 0 : kl.startsWith(lower) || lower.startsWith(kl) ? 1 : editDistance(kl, lower) };
    })
    .filter((c) => c.d <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  if (close !== undefined) return `unknown key "${key}" (did you mean "${close.k}"?)`;
  return known.length > 0 ? `unknown key "${key}" (known keys: ${known.join(', ')})` : `unknown key "${key}"`;
}

function toIssues(zodIssues: readonly z.core.$ZodIssue[], data: unknown): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of zodIssues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path);
      for (const key of issue.keys) out.push({ path: [...issue.path, key], message: unknownKeyMessage(key, known) });
    } else if (issue.code === 'invalid_type' && getAt(data, issue.path) === undefined) {
      out.push({ path: issue.path, message: `required (expected ${issue.expected})` });
    } else if (issue.code === 'invalid_value' && getAt(data, issue.path) === undefined) {
      out.push({ path: issue.path, message: `required (one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})` });
    } else {
      out.push({ path: issue.path, message: issue.message });
    }
  }
  return out;
}

/**
 * `port: ${PORT:-8080}` yields the string "8080"; where the schema wants a
 * number or boolean and the whole value was one reference, convert it.
 * Returns true when something changed.
 */
function coerceRefs(data: unknown, zodIssues: readonly z.core.$ZodIssue[], wholeRefs: Set<string>): boolean {
  let changed = false;
  for (const issue of zodIssues) {
    if (issue.code !== 'invalid_type' || !wholeRefs.has(JSON.stringify(issue.path))) continue;
    const parent = getAt(data, issue.path.slice(0, -1)) as Record<PropertyKey, unknown> | undefined;
    const key = issue.path.at(-1);
    const raw = key === undefined ? undefined : parent?.[key];
    if (parent === undefined || key === undefined || typeof raw !== 'string') continue;
    if (issue.expected === 'number' && /^-?\d+(\.\d+)?$/.test(raw.trim())) parent[key] = Number(raw);
    else if (issue.expected === 'boolean' && /^(true|false)$/.test(raw.trim())) parent[key] = raw.trim() === 'true';
    else continue;
    changed = true;
  }
  return changed;
}

/** Line of the node at `path` (for a mapping entry, its key's line), or of its nearest existing ancestor. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  const segs = path.filter((p): p is Segment => typeof p !== 'symbol');
  for (let n = segs.length; n > 0; n--) {
    const parent: unknown = n === 1 ? doc.contents : doc.getIn(segs.slice(0, n - 1), true);
    const seg = segs[n - 1];
    let node: unknown;
    if (isMap(parent)) node = parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg)?.key;
    else if (isSeq(parent) && typeof seg === 'number') node = parent.items[seg];
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range !== undefined) return counter.linePos(range[0]).line;
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ---------------------------------------------------------------- public API

/**
 * Parses, substitutes `${VAR}` / `${VAR:-default}` in string values,
 * validates and deep-freezes a YAML configuration.
 *
 * API keys are not substituted: an upstream names its variable in
 * `apiKeyEnv` and the key is read at call time, so an unset key is not an
 * error here (see {@link upstreamAvailability}).
 *
 * @param source file name used in error messages
 * @throws {ConfigError} listing every problem with its path and line
 * @example
 * const cfg = parseConfig('upstreams:\n  - name: local\n    kind: openai-compatible\n    baseUrl: ${LOCAL_URL:-http://127.0.0.1:8081/v1}\n    models: [{ name: local-llama }]\n');
 */
export function parseConfig(yamlText: string, env: NodeJS.ProcessEnv = process.env, source?: string): SwitchyardConfig {
  const counter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: counter, merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({
      path: '',
      message: `YAML syntax error: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      ...(e.linePos === undefined ? {} : { line: e.linePos[0].line }),
    }));
    throw new ConfigError(issues, source);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'the configuration must be a YAML mapping (key: value)', line: 1 }], source);
  }
  const issues: RawIssue[] = [];
  const wholeRefs = new Set<string>();
  const data = substituteTree(raw, env, [], issues, wholeRefs);
  let result = configSchema.safeParse(data);
  if (!result.success && coerceRefs(data, result.error.issues, wholeRefs)) result = configSchema.safeParse(data);
  if (!result.success) {
    // A value whose substitution failed would also fail validation; say it once.
    const seen = new Set(issues.map((i) => formatPath(i.path)));
    issues.push(...toIssues(result.error.issues, data).filter((i) => !seen.has(formatPath(i.path))));
  }
  if (issues.length > 0 || !result.success) {
    const located = issues.map((i): ConfigIssue => {
      const line = lineOf(doc, counter, i.path);
      return { path: formatPath(i.path), message: i.message, ...(line === undefined ? {} : { line }) };
    });
    located.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    throw new ConfigError(located, source);
  }
  return deepFreeze(structuredClone(result.data));
}

/**
 * Reads and parses a configuration file (synchronously: it runs at start and
 * on reload, where the answer is needed before anything else happens).
 *
 * @throws {ConfigError} when the file cannot be read or is invalid
 * @example
 * const cfg = loadConfigFile('switchyard.yaml');
 */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError([{ path: '', message: `cannot read the file: ${reason}` }], path);
  }
  return parseConfig(text, env, path);
}

/**
 * The embedded configuration used when no file is given: OpenAI, Anthropic
 * and a local llama.cpp sidecar (`SWITCHYARD_LOCAL_URL` overrides its URL),
 * tiers `local`, `small`, `frontier`, and cross-cloud fallbacks.
 *
 * @example
 * const cfg = defaultConfig();
 * cfg.tiers.map((t) => t.name); // ['local', 'small', 'frontier']
 */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  return parseConfig(DEFAULT_CONFIG_YAML, env, '<built-in defaults>');
}

/** Whether an upstream can be called with the current environment. */
export interface UpstreamAvailability {
  name: string;
  available: boolean;
  /** Why not, as advice: `set OPENAI_API_KEY to enable upstream "openai"`. */
  reason?: string;
}

/**
 * Checks each upstream's `apiKeyEnv` against the environment: an upstream
 * whose key variable is unset or empty is unavailable. Upstreams without
 * `apiKeyEnv` (a local sidecar) are always available.
 *
 * @example
 * upstreamAvailability(defaultConfig(), {}).filter((u) => !u.available).map((u) => u.reason);
 * // ['set OPENAI_API_KEY to enable upstream "openai"', 'set ANTHROPIC_API_KEY to enable upstream "anthropic"']
 */
export function upstreamAvailability(cfg: SwitchyardConfig, env: NodeJS.ProcessEnv = process.env): UpstreamAvailability[] {
  return cfg.upstreams.map((u) => {
    if (u.apiKeyEnv === undefined || (env[u.apiKeyEnv] ?? '') !== '') return { name: u.name, available: true };
    return { name: u.name, available: false, reason: `set ${u.apiKeyEnv} to enable upstream "${u.name}"` };
  });
}
