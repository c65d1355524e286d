/**
 * The offline tooling as a user runs it (real processes from dist/, real
 * USE-Lite embeddings): `switchyard route-fit` writes a model from a label
 * file, `switchyard classify --model` uses it and prints a top-level
 * `score` on every line, and the CLI's usage errors (a missing label, model
 * or pairs file) are one line and exit code 2. `cache-eval --help` names itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = join(process.cwd(), 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-route-fit-'));

function run(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

// Hard arithmetic the weak side fails; easy geography it gets right.
const LABELS = [
  ...['France', 'Japan', 'Italy', 'Spain', 'Egypt', 'Canada', 'Peru', 'Kenya'].map((c) => ({ prompt: `What is the capital city of ${c}?`, weak_correct: true, strong_correct: true })),
  ...[17, 23, 29, 31, 37, 41, 43, 47].map((n) => ({ prompt: `Compute the integral of x^${n} * ln(x) from 1 to ${n} and simplify the exact result.`, weak_correct: false, strong_correct: true })),
];

describe('switchyard route-fit and classify --model', () => {
  it('fits a model from labels, then classify ranks unseen prompts of each kind by score', async () => {
    const labels = join(dir, 'labels.jsonl');
    writeFileSync(labels, LABELS.map((l) => JSON.stringify(l)).join('\n'));
    const model = join(dir, 'router-model.json');
    const fit = await run(['route-fit', '--labels', labels, '--out', model]);
    expect(fit.code, fit.stderr).toBe(0);
    expect(fit.stderr).toMatch(/route-fit: 16 labelled prompts \(use-lite\), prior: .*target p\(ok\) \d\.\d{3}/);
    expect(fit.stderr).toMatch(/5-fold out-of-fold APGR \d\.\d{3}, strong calls for 95% of all-strong \d+\.\d%/);
    const file = JSON.parse(readFileSync(model, 'utf8')) as { format: string; embedder: string; dim: number; outcomes: { scores: number[] } };
    expect(file).toMatchObject({ format: 'switchyard-router/1', embedder: 'use-lite', dim: 512 });
    expect(file.outcomes.scores).toHaveLength(16);

    const input = [
      { id: 'geo', prompt: 'What is the capital city of Portugal?' },
      { id: 'calc', prompt: 'Compute the integral of x^53 * ln(x) from 1 to 53 and simplify the exact result.' },
      { id: 'tools', messages: [{ role: 'user', content: 'weather?' }], tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }] },
    ];
    const r = await run(['classify', '--in', '-', '--model', model], `${input.map((x) => JSON.stringify(x)).join('\n')}\nnot json\n`);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id?: string; score: number; reason?: string; scores?: { learned?: { tier: string; neighbours: number }[] }; error?: unknown });
    expect(lines).toHaveLength(4);
    const [geo, calc, tools, bad] = lines;
    for (const l of [geo, calc, tools]) expect(typeof l!.score).toBe('number');
    expect(calc!.score).toBeGreaterThan(geo!.score);
    expect(geo!.scores!.learned!.find((e) => e.tier === 'small')!.neighbours).toBeGreaterThan(0);
    expect(geo!.reason).toMatch(/learned: p\(/);
    expect(bad).toMatchObject({ line: 4, error: { code: 'invalid_json' } });
  }, 180_000);

  it('--prior gain fits the probe and lets the neighbours vote on the quality gain, chosen by inner cross-validation', async () => {
    const countries = ['France', 'Japan', 'Italy', 'Spain', 'Egypt', 'Canada', 'Peru', 'Kenya', 'Chile', 'Norway', 'Sweden', 'Greece', 'Turkey', 'India', 'China', 'Brazil', 'Mexico', 'Ghana', 'Nepal', 'Cuba', 'Iran', 'Iraq', 'Oman', 'Qatar', 'Laos', 'Mali', 'Chad', 'Fiji', 'Togo', 'Benin'];
    const rows = [
      ...countries.map((c) => ({ prompt: `What is the capital city of ${c}?`, weak_correct: true, strong_correct: true })),
      ...countries.map((_, i) => ({ prompt: `Compute the integral of x^${i + 3} * ln(x) from 1 to ${i + 2} and simplify the exact result.`, weak_correct: false, strong_correct: true })),
    ];
    const labels = join(dir, 'labels-gain.jsonl');
    writeFileSync(labels, rows.map((l) => JSON.stringify(l)).join('\n'));
    const model = join(dir, 'router-model-gain.json');
    const fit = await run(['route-fit', '--labels', labels, '--out', model, '--prior', 'gain']);
    expect(fit.code, fit.stderr).toBe(0);
    expect(fit.stderr).toMatch(/probe: P\(weak right\) and P\(strong right\)/);
    expect(fit.stderr).toMatch(/neighbours vote on the gain \(\d+ neighbours, sharpness [\d.]+, prior weight \d+, chosen by inner cross-validation\)/);
    const file = JSON.parse(readFileSync(model, 'utf8')) as { knn: { vote?: string }; prior: { probe?: unknown }; outcomes: { gains?: number[] } };
    expect(file.knn.vote).toBe('gain');
    expect(file.prior.probe).toBeDefined();
    expect(file.outcomes.gains).toHaveLength(60);

    const r = await run(['classify', '--in', '-', '--model', model], `${JSON.stringify({ id: 'geo', prompt: 'What is the capital city of Portugal?' })}\n${JSON.stringify({ id: 'calc', prompt: 'Compute the integral of x^53 * ln(x) from 1 to 53 and simplify the exact result.' })}\n`);
    expect(r.code, r.stderr).toBe(0);
    const [geo, calc] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { score: number });
    expect(calc!.score).toBeGreaterThan(geo!.score);

    const bad = await run(['route-fit', '--labels', labels, '--out', join(dir, 'm.json'), '--prior', 'magic']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("switchyard route-fit: --prior must be one of signals, probe, gain (got 'magic')\n");
  }, 180_000);

  it('usage errors are one line and exit 2', async () => {
    const noLabels = await run(['route-fit', '--labels', join(dir, 'missing.jsonl'), '--out', join(dir, 'm.json')]);
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toBe(`switchyard route-fit: ${join(dir, 'missing.jsonl')}: no such file\n`);
    expect(existsSync(join(dir, 'm.json'))).toBe(false);
    const badLabel = join(dir, 'bad.jsonl');
    writeFileSync(badLabel, '{"prompt":"x"}\n');
    const bad = await run(['route-fit', '--labels', badLabel, '--out', join(dir, 'm.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`switchyard route-fit: ${badLabel}:1: needs "weak_correct" and "strong_correct" (booleans), or "ok" (0..1)\n`);
    const noModel = await run(['classify', '--in', '-', '--model', join(dir, 'nope.json')], '{"prompt":"hi"}\n');
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain(`routing.learned.model: ${join(dir, 'nope.json')}: no such model file`);
    expect(noModel.stderr).not.toMatch(/\n\s+at /);
  });

  it('cache-eval: --help names the command; a missing --pairs file is one line and exit 2', async () => {
    const help = await run(['cache-eval', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: switchyard cache-eval --pairs FILE/);
    const missing = await run(['cache-eval', '--pairs', 'no-such-pairs.jsonl']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('switchyard cache-eval: --pairs no-such-pairs.jsonl: no such file\n');
  });
});
