/**
 * The benchmark commands of docs/benchmarks.md, run as a user runs them
 * (`npm run bench -- --readme`, `BENCH_ONLY=…`), at the smallest sizes
 * (`BENCH_SMOKE=1`), in a scratch copy of the clone so that the tables they
 * rewrite are the copy's: every section must finish, print its table and
 * write it between its markers in the copy's docs, and the clone's own docs
 * stay as they are. The figures of such a run mean nothing; what is checked
 * is that the harness and every section still work.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../fixtures/prerequisites.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SKIP = need('redis');

/** The development data beside the clone (`../shared/data`), as bench/cache.ts looks for it. */
function devData(name: string): string {
  for (let dir = ROOT, i = 0; i < 4; i++, dir = resolve(dir, '..')) {
    for (const f of [resolve(dir, 'data', name), resolve(dir, 'shared', 'data', name)]) if (existsSync(f)) return f;
  }
  throw new Error(`${name} not found beside the clone (../shared/data/${name}): the routing and cache benchmarks read it`);
}

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const DOCS = ['docs/benchmarks.md', 'docs/routing.md'];

let scratch: string;
const before = new Map<string, string>();

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'sy-bench-'));
  // Tracked and new (not ignored) files: what a clone holds, without dist/, node_modules/ or results.
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree
    mkdirSync(dirname(join(scratch, f)), { recursive: true });
    cpSync(join(ROOT, f), join(scratch, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
  // Every 12th prompt of the routing dev set (all subjects stay in): the section embeds them all.
  const lines = readFileSync(devData('routing-dev.jsonl'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(scratch, 'routing-smoke.jsonl'), `${lines.filter((_, i) => i % 12 === 0).join('\n')}\n`);
  for (const d of DOCS) before.set(d, digest(join(ROOT, d)));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function peerInstalled(): boolean {
  try {
    createRequire(join(ROOT, 'package.json')).resolve('@portkey-ai/gateway/package.json');
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(SKIP !== undefined)('npm run bench (BENCH_SMOKE=1, in a scratch copy)', () => {
  it('runs every section, prints its table and rewrites the tables in the copy’s docs only', async () => {
    const sections = ['gateway', 'express-face', 'cache', 'extproc', 'routing', 'soak', ...(peerInstalled() ? ['peer'] : [])];
    const env = {
      ...process.env,
      BENCH_SMOKE: '1',
      BENCH_ONLY: sections.join(','),
      ROUTING_DATA: join(scratch, 'routing-smoke.jsonl'),
      BENCH_CACHE_PAIRS: devData('cache-pairs-dev.jsonl'),
    };
    const out = await run('npm', ['run', 'bench', '--', '--readme'], { cwd: scratch, env, timeout: 900_000, maxBuffer: 1 << 26 }).catch(
      (e: { message: string; stdout?: string; stderr?: string }) => {
        throw new Error(`npm run bench failed: ${e.message}\nstdout (end):\n${(e.stdout ?? '').slice(-6000)}\nstderr (end):\n${(e.stderr ?? '').slice(-6000)}`);
      },
    );
    expect(out.stdout).toContain('BENCH_SMOKE=1');
    const results = JSON.parse(readFileSync(join(scratch, 'bench/results/latest.json'), 'utf8')) as {
      sections: { name: string; markdown: string; error?: string; seconds: number }[];
    };
    console.log(`bench smoke sections: ${results.sections.map((s) => `${s.name} ${s.seconds.toFixed(0)} s`).join(', ')}`);
    expect(results.sections.map((s) => s.name).sort()).toEqual([...sections].sort());
    for (const s of results.sections) {
      expect(s.error, `section ${s.name}`).toBeUndefined();
      expect(s.markdown, `section ${s.name}`).toMatch(/\|.*\|\n\|[-:|]+\|/); // a markdown table
    }
    // The copy's tables were rewritten (the machine line says it was a smoke run); the clone's were not.
    const copied = readFileSync(join(scratch, 'docs/benchmarks.md'), 'utf8');
    expect(copied).toMatch(/<!-- bench:machine -->\nMeasured on .*BENCH_SMOKE=1/);
    for (const name of sections.filter((s) => s !== 'routing')) {
      const block = new RegExp(`<!-- bench:${name} -->\\n([\\s\\S]*?)\\n<!-- /bench:${name} -->`).exec(copied);
      expect(block?.[1], name).toBe(results.sections.find((s) => s.name === name)!.markdown);
    }
    const routing = /<!-- bench:routing -->\n([\s\S]*?)\n<!-- \/bench:routing -->/.exec(readFileSync(join(scratch, 'docs/routing.md'), 'utf8'));
    expect(routing?.[1]).toBe(results.sections.find((s) => s.name === 'routing')!.markdown);
    for (const d of DOCS) expect(digest(join(ROOT, d)), d).toBe(before.get(d));
  }, 960_000);

  it.skipIf(peerInstalled())('names the install command when the peer gateway of BENCH_ONLY=peer is missing', async () => {
    // dist/ exists in the copy after the run above (or the clone's build); tsx runs the harness itself.
    const res = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts'], { cwd: scratch, env: { ...process.env, BENCH_SMOKE: '1', BENCH_ONLY: 'peer' }, timeout: 120_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('npm install --no-save @portkey-ai/gateway@1.15.2');
  }, 150_000);
});
