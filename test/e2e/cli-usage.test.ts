/**
 * The `switchyard` command as a user meets it (a real process from dist/):
 * every subcommand's help names itself; a bad flag, a bad number, a missing
 * file or a missing optional package ends with ONE line on stderr and exit
 * code 2, never a stack trace; `npx switchyard` works from the clone.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const MAIN = join(ROOT, 'dist/cli/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { main?: string; cwd?: string; cmd?: string } = {}): Promise<Run> {
  const [cmd, argv] = opts.cmd ? [opts.cmd, args] : [process.execPath, [opts.main ?? MAIN, ...args]];
  const p = spawn(cmd, argv, { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWITCHYARD_DEBUG: '' } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Command paths listed under "Commands:" in a help text. */
function commandsIn(help: string): string[] {
  const block = help.split(/^Commands:\n/m)[1] ?? '';
  return [...block.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** A one-line usage error: exit 2, one non-empty stderr line (plus commander's "(Did you mean …?)" hint), no stack frame. */
function expectOneLine(r: Run, pattern: RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^\(Did you mean .*\?\)$/.test(l));
  expect(r.code, r.stderr).toBe(2);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
});

describe('help', () => {
  it("every subcommand's --help exits 0 and its usage line names the subcommand", async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    const paths = commandsIn(top.stdout).map((c) => [c]);
    expect(paths.map((p) => p[0])).toEqual(expect.arrayContaining(['serve', 'extproc', 'sidecar', 'classify', 'shadow', 'mock', 'demo']));
    for (const p of [...paths]) {
      const h = await run([...p, '--help']);
      for (const sub of commandsIn(h.stdout)) paths.push([...p, sub]);
    }
    for (const p of paths) {
      const h = await run([...p, '--help']);
      expect(h.code, `${p.join(' ')} --help: ${h.stderr}`).toBe(0);
      expect(h.stdout, `${p.join(' ')} --help`).toMatch(new RegExp(`^Usage: switchyard ${p.join(' ')}( |$)`, 'm'));
    }
  }, 240_000); // a dozen node start-ups, one after another, on a busy machine
});

describe('usage errors: one line, exit 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown option', ['serve', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command (with a suggestion)', ['servee'], /unknown command 'servee'/],
    ['a port that is not a number', ['serve', '--port', 'abc'], /--port <n>.*'abc' is invalid.*whole number from 0 to 65535/],
    ['a port out of range', ['extproc', '--port', '70000'], /'70000' is invalid/],
    ['a missing config file', ['serve', '--config', '/nonexistent/switchyard.yaml'], /no such file: \/nonexistent\/switchyard\.yaml/],
    ['a directory as the config', ['shadow', 'report', '--config', '/tmp'], /not a file: \/tmp/],
    ['a missing classify input', ['classify', '--in', '/nonexistent/prompts.jsonl'], /no such file: \/nonexistent\/prompts\.jsonl/],
    ['a missing GGUF model', ['sidecar', '--model', '/nonexistent/model.gguf'], /no such file: \/nonexistent\/model\.gguf/],
    ['a missing cache-eval pairs file', ['cache-eval', '--pairs', '/nonexistent/pairs.jsonl'], /no such file/],
    ['a bad mock fault', ['mock', '--fault', '200'], /HTTP status 400-599, timeout, disconnect or truncate/],
    ['a negative thread count', ['sidecar', '--model', MAIN, '--threads', '0'], /--threads <n>.*'0' is invalid/],
  ];
  for (const [what, args, pattern] of cases) {
    it(`${what}: switchyard ${args.join(' ')}`, async () => {
      expectOneLine(await run(args), pattern);
    });
  }

  it('an invalid config lists its problems and exits 2, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'upstreams:\n  - name: x\n    kind: openai-compatible\n    models: [{ name: m }]\n');
    const r = await run(['serve', '--config', file, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('upstreams[0].baseUrl: required for kind openai-compatible (expected an http(s) URL)');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('without the optional heavy packages (a copy of dist/ whose node_modules lacks them)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-noopt-'));
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    mkdirSync(join(dir, 'node_modules'));
    const skip = new Set(['node-llama-cpp', '@node-llama-cpp', '.bin']);
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (skip.has(name)) continue;
      if (name === '@xenova') continue;
      symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('switchyard sidecar says in one line which package to install, and exits 2', async () => {
    const r = await run(['sidecar', '--model', join(dir, 'package.json')], { main: join(dir, 'dist/cli/main.js'), cwd: dir });
    expectOneLine(r, /needs the optional package node-llama-cpp: run `npm install --no-save node-llama-cpp@3\.22\.1`/);
  });

  it('the transformers embedder fails with one line naming its install command; the gateway itself starts', async () => {
    const models = join(dir, 'models', 'Xenova', 'all-MiniLM-L6-v2');
    mkdirSync(join(models, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'onnx/model_quantized.onnx']) writeFileSync(join(models, f), '{}');
    const script = `import { TransformersEmbedder } from './dist/embedding/transformers.js';
const e = new TransformersEmbedder({ localPath: ${JSON.stringify(join(dir, 'models'))} });
e.ready().then(() => console.log('loaded'), (err) => { console.log(err.message); });`;
    writeFileSync(join(dir, 'probe.mjs'), script);
    const r = await run([join(dir, 'probe.mjs')], { cmd: process.execPath, cwd: dir });
    expect(r.stdout.trim()).toBe(
      'the `transformers` embedder needs the optional package @xenova/transformers: run `npm install --no-save @xenova/transformers@2.17.2`',
    );
    const d = await run(['demo', '--print-config'], { main: join(dir, 'dist/cli/main.js'), cwd: dir });
    expect(d.code).toBe(0);
  });
});

describe('from the clone', () => {
  it('`npx switchyard --help` runs the local build (no install, no network)', async () => {
    const r = await run(['--no-install', 'switchyard', '--help'], { cmd: 'npx' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: switchyard /m);
  });
});
