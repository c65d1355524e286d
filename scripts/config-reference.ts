/**
 * Generates docs/config-reference.md from the zod schema (the one source of
 * truth): every key with its type, default and the TSDoc comment written
 * beside it in src/config/*.ts. `npm run docs:config` rewrites the file;
 * test/unit/docs-config-reference.test.ts fails when it is stale.
 *
 * @example
 * npx tsx scripts/config-reference.ts          # rewrite docs/config-reference.md
 * npx tsx scripts/config-reference.ts --check  # exit 1 when it is stale
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
export const REFERENCE_PATH = join(ROOT, 'docs', 'config-reference.md');

type Js = {
  type?: string | string[];
  properties?: Record<string, Js>;
  items?: Js;
  additionalProperties?: Js | boolean;
  anyOf?: Js[];
  oneOf?: Js[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  format?: string;
  pattern?: string;
};

/** Path key without array and record markers, for joining comments to schema paths. */
const norm = (p: string) => p.replace(/\[\]/g, '').replace(/\.<[^>]+>/g, '');

/** TSDoc comments of the properties of every z.object literal in src/config, by config path. */
function collectComments(): Map<string, string[]> {
  const dir = join(ROOT, 'src', 'config');
  const vars = new Map<string, ts.Expression>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const sf = ts.createSourceFile(f, readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.ES2022, true);
    sf.forEachChild((node) => {
      if (!ts.isVariableStatement(node)) return;
      for (const d of node.declarationList.declarations) {
        if (ts.isIdentifier(d.name) && d.initializer && /Schema$/.test(d.name.text)) vars.set(d.name.text, d.initializer);
      }
    });
  }
  const out = new Map<string, string[]>();
  const docOf = (node: ts.Node): string => {
    const text = node.getSourceFile().getFullText();
    const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
    const docs = ranges.map((r) => text.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'));
    const last = docs.at(-1);
    if (!last) return '';
    return last
      .replace(/^\/\*\*|\*\/$/g, '')
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, '').trim())
      .join(' ')
      .replace(/\s+/g, ' ')
      .trim();
  };
  const seen = new Set<string>();
  const walk = (expr: ts.Node, prefix: string) => {
    const visit = (n: ts.Node): void => {
      if (ts.isObjectLiteralExpression(n) && isZObjectArg(n)) {
        for (const p of n.properties) {
          if (!ts.isPropertyAssignment(p)) continue;
          const key = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : p.name.getText();
          const path = prefix ? `${prefix}.${key}` : key;
          const doc = docOf(p);
          // One entry per occurrence: the variants of a union each document their own `kind`.
          out.set(norm(path), [...(out.get(norm(path)) ?? []), doc]);
          walk(p.initializer, path);
        }
        return;
      }
      if (ts.isIdentifier(n) && vars.has(n.text)) {
        const k = `${n.text}@${prefix}`;
        if (!seen.has(k)) {
          seen.add(k);
          walk(vars.get(n.text)!, prefix);
        }
        return;
      }
      n.forEachChild(visit);
    };
    visit(expr);
  };
  walk(vars.get('configSchema')!, '');
  return out;
}

function isZObjectArg(n: ts.ObjectLiteralExpression): boolean {
  const call = n.parent;
  if (!call || !ts.isCallExpression(call)) return false;
  const callee = call.expression;
  return ts.isPropertyAccessExpression(callee) && callee.name.text === 'object';
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(s: Js): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? 'any';
  const bits: string[] = [];
  if (s.minimum !== undefined) bits.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bits.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) bits.push(`≤ ${s.maximum}`);
  if (t === 'array' && s.items) return `${typeOf(s.items)}[]`;
  if (t === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties)}`;
  if (s.format) bits.push(s.format);
  return bits.length ? `${t} (${bits.join(', ')})` : t;
}

function fmtDefault(s: Js): string {
  if (s.default === undefined) return '';
  const v = JSON.stringify(s.default);
  return v.length > 60 ? `\`${v.slice(0, 57)}…\`` : `\`${v}\``;
}

interface Row {
  path: string;
  type: string;
  def: string;
  doc: string;
}

function rows(s: Js, path: string, comments: Map<string, string[]>, out: Row[], variant = 0): void {
  const docs = comments.get(norm(path)) ?? [];
  const doc = docs[variant] ?? docs[0] ?? '';
  const alts = s.anyOf ?? s.oneOf;
  const objAlts = alts?.filter((a) => a.properties);
  if (s.properties) {
    if (path && !path.endsWith('[]')) out.push({ path, type: 'object', def: '', doc });
    for (const [k, v] of Object.entries(s.properties)) rows(v, path ? `${path}.${k}` : k, comments, out, variant);
    return;
  }
  if (objAlts && objAlts.length > 0) {
    out.push({ path, type: `one of ${objAlts.length} shapes${alts!.length > objAlts.length ? ' (or ' + alts!.filter((a) => !a.properties).map(typeOf).join(', ') + ')' : ''}`, def: fmtDefault(s), doc });
    const done = new Set<string>();
    objAlts.forEach((a, i) => {
      for (const [k, v] of Object.entries(a.properties!)) {
        const key = `${k}:${typeOf(v)}`;
        if (done.has(key)) continue;
        done.add(key);
        rows(v, `${path}.${k}`, comments, out, i);
      }
    });
    return;
  }
  if (s.items && (s.items.properties || s.items.anyOf)) {
    out.push({ path, type: 'array of objects', def: fmtDefault(s), doc });
    rows(s.items, `${path}[]`, comments, out, variant);
    return;
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    out.push({ path, type: 'map of objects', def: fmtDefault(s), doc });
    rows(s.additionalProperties, `${path}.<name>`, comments, out, variant);
    return;
  }
  out.push({ path, type: typeOf(s), def: fmtDefault(s), doc });
}

/**
 * The reference as Markdown.
 *
 * @example
 * writeFileSync('docs/config-reference.md', renderConfigReference());
 */
export function renderConfigReference(): string {
  const js = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Js;
  const comments = collectComments();
  const parts: string[] = [
    '# Configuration reference',
    '',
    '<!-- GENERATED by scripts/config-reference.ts from the zod schema in src/config/: do not edit; run `npm run docs:config`. -->',
    '',
    'Every key of the YAML config, with its type, its default and what it does. A key without a default is',
    'optional unless the schema requires it. `${VAR}` and `${VAR:-default}` are substituted in string values.',
    'How to use these: [configuration.md](configuration.md).',
    '',
  ];
  for (const [section, schema] of Object.entries(js.properties ?? {})) {
    const out: Row[] = [];
    rows(schema, section, comments, out);
    parts.push(`## \`${section}\``, '');
    parts.push('| key | type | default | description |', '|---|---|---|---|');
    for (const r of out) parts.push(`| \`${cell(r.path)}\` | ${cell(r.type)} | ${r.def} | ${cell(r.doc)} |`);
    parts.push('');
  }
  return parts.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderConfigReference();
  if (process.argv.includes('--check')) {
    const current = readFileSync(REFERENCE_PATH, 'utf8');
    if (current !== text) {
      process.stderr.write('docs/config-reference.md is stale: run `npm run docs:config`\n');
      process.exit(1);
    }
  } else {
    writeFileSync(REFERENCE_PATH, text);
    process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
  }
}
