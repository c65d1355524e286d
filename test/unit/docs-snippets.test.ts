/**
 * The docs snippet convention, over README.md and docs/*.md:
 * - every fenced block names its language (```text for output samples);
 * - a ```yaml block is a COMPLETE Switchyard config: it loads through the real
 *   loader (`${ENV}` placeholders get dummy values) and its routing names only
 *   tiers it declares;
 * - a ```sh block is commands run here, from the repo after `npm run build`,
 *   with bash -euo pipefail: they must exit 0;
 * - any other block that is not that (Envoy/nginx/Kubernetes YAML, a long-
 *   running server, an output sample) has, on the line right before it,
 *   `<!-- snippet: covered-by <path> -->` naming an existing test (or file)
 *   that exercises it, or `<!-- snippet: illustration -->`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { routingIssues } from '../../src/routing/validate.js';
import { PREREQUISITES } from '../fixtures/prerequisites.js';

const ROOT = process.cwd();

interface Snippet {
  file: string;
  line: number;
  lang: string;
  marker: string | undefined;
  text: string;
}

/** Markdown files the convention covers. */
export function docFiles(): string[] {
  const docs = existsSync(join(ROOT, 'docs')) ? readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  return ['README.md', ...docs.sort()];
}

/** Fenced blocks of a Markdown file, with the marker line right before each. */
export function snippets(file: string): Snippet[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) body.push(lines[j++]!);
    const prev = i > 0 ? lines[i - 1]!.trim() : '';
    out.push({ file, line: i + 1, lang: open[3]!.trim().split(/\s+/)[0] ?? '', marker: /^<!--\s*snippet:/.test(prev) ? prev : undefined, text: body.join('\n') });
    i = j;
  }
  return out;
}

/** Dummy values for the `${VAR}` placeholders of a config: URLs for *_URL, strings otherwise (`${VAR:-default}` keeps its default). */
function dummyEnv(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const m of text.matchAll(/\$\{([A-Z0-9_]+)(:-[^}]*)?\}/g)) {
    if (m[2]) continue;
    env[m[1]!] = /URL$/.test(m[1]!) ? 'http://127.0.0.1:9/v1' : 'dummy-value';
  }
  return env;
}

const SH_LIMIT_MS = 150_000;

/** Runs a block in its own process group; a block still running at the limit (a server?) is killed with its children and fails. */
function runSh(script: string): Promise<{ code: number | null; out: string }> {
  const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` };
  // From the clone itself: `npx switchyard` from any other folder installs the project into npx's cache, whose
  // `prepare` rebuilds dist/ under the feet of tests running beside this one. Files a block writes are gitignored.
  const p = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const limit = setTimeout(() => {
    out += `\n[still running after ${SH_LIMIT_MS / 1000} s: killed. A long-running command needs <!-- snippet: covered-by ... -->]`;
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, SH_LIMIT_MS);
  return new Promise((resolve) =>
    p.once('close', (code) => {
      clearTimeout(limit);
      resolve({ code, out });
    }),
  );
}

const all = docFiles().flatMap(snippets);
const where = (s: Snippet) => `${s.file}:${s.line}`;

describe('docs snippet convention', () => {
  it('finds the README and the docs', () => {
    expect(all.length).toBeGreaterThan(5);
  });

  it('the README stays a front door: at most 250 lines', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(250);
  });

  it("the README's prerequisites list everything the tests use, with its install command", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const p of Object.values(PREREQUISITES)) expect(readme, `README.md does not name \`${p.install}\``).toContain(p.install.split(' (')[0]);
  });

  for (const s of all) {
    if (s.marker) {
      it(`${where(s)} (${s.lang || 'untagged'}): the marker is well formed and names something that exists`, () => {
        const m = /^<!--\s*snippet:\s*(illustration|covered-by\s+(\S+))\s*-->$/.exec(s.marker!);
        expect(m, `${where(s)}: expected <!-- snippet: covered-by <path> --> or <!-- snippet: illustration -->, got ${s.marker}`).not.toBeNull();
        if (m![2]) expect(existsSync(join(ROOT, m![2])), `${where(s)}: ${m![2]} does not exist`).toBe(true);
      });
      continue;
    }
    if (s.lang === '') {
      it(`${where(s)}: the fenced block names its language`, () => {
        expect.fail(`${where(s)}: untagged fence; use \`\`\`text for output, \`\`\`ts for code, or mark it (see test/unit/docs-snippets.test.ts)`);
      });
    } else if (s.lang === 'yaml' || s.lang === 'yml') {
      it(`${where(s)}: the yaml block is a complete Switchyard config that loads`, () => {
        try {
          const cfg = parseConfig(s.text, dummyEnv(s.text), where(s));
          expect(routingIssues(cfg), `${where(s)}: routing names tiers the config does not declare`).toEqual([]);
        } catch (e) {
          if (e instanceof ConfigError) expect.fail(`${where(s)}: ${e.message}\n(not a Switchyard config? mark it with <!-- snippet: covered-by ... --> or <!-- snippet: illustration -->)`);
          throw e;
        }
      });
    } else if (s.lang === 'sh' || s.lang === 'bash' || s.lang === 'shell') {
      it(`${where(s)}: the sh block runs and exits 0`, async () => {
        const r = await runSh(s.text);
        expect(r.code, `${where(s)} exited ${r.code}:\n${s.text}\n--- output ---\n${r.out.slice(-3000)}`).toBe(0);
      }, SH_LIMIT_MS + 30_000);
    }
  }
});
