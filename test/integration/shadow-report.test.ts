/**
 * The done-when, end to end: mixed traffic through `switchyard serve`
 * with shadowing on (the cheap tier agrees on summaries, not on code, half
 * the time on translations), then `switchyard shadow report --apply` as a
 * real process reading the Redis stream. The report recommends downgrading
 * summarization only; the written config is accepted by the real loader and
 * a gateway built from it sends summaries to the cheap tier and code to the
 * strong one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { loadConfigFile } from '../../src/config/load.js';
import { startServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, quietLogger, startGateway } from '../helpers/gateway.js';
import { dropStream, freshStream, shadowYaml } from '../helpers/shadow-fixtures.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

const MAIN = join(process.cwd(), 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-shadow-report-'));
let cheap: FakeProvider;
let strong: FakeProvider;
let embed: FakeProvider;
let judge: FakeProvider;
const stream = freshStream();
const gateways: RunningServer[] = [];

beforeAll(async () => {
  [cheap, strong, embed, judge] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await dropStream(stream);
  await Promise.all([cheap, strong, embed, judge].map((f) => f.close()));
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'shadow', 'report', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

const TRAFFIC: { task: string; prompt: (i: number) => string; agrees: (i: number) => boolean }[] = [
  { task: 'summarization', prompt: (i) => `Summarize these notes in one sentence (batch ${i}): the vendor shipped late, QA found three bugs, and the launch moved to May.`, agrees: () => true },
  { task: 'code', prompt: (i) => `Write a python function number ${i} that merges two sorted lists and explain its complexity.`, agrees: () => false },
  { task: 'translation', prompt: (i) => `Translate into French (line ${i}): the meeting is moved to Thursday morning.`, agrees: (i) => i % 2 === 0 },
];
const N = 10;

describe.skipIf(SKIP !== undefined)('shadow report', () => {
  it('recommends downgrading only the task the cheap tier agrees on, and --apply writes a config the router accepts', async () => {
    const yaml = `# Switchyard with shadow tests (this comment survives --apply)\n${shadowYaml({
      cheapUrl: cheap.url,
      strongUrl: strong.url,
      embedUrl: embed.url,
      judgeUrl: judge.url,
      stream,
      shadow: '  report: { bands: [], minSamples: 8, targetAgreement: 0.7 }\n',
    })}`;
    const configPath = join(dir, 'switchyard.yaml');
    writeFileSync(configPath, yaml);
    const gw = await startGateway(yaml);
    gateways.push(gw);

    for (let i = 0; i < N; i++) {
      for (const t of TRAFFIC) {
        const ok = t.agrees(i);
        cheap.setBehavior(ok ? { kind: 'ok' } : { kind: 'ok', answer: 'Sorry, I cannot help with that.' });
        judge.setBehavior({ kind: 'ok', answer: ok ? '{"score": 8}' : '{"score": 3}' });
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: t.prompt(i) }] });
        expect(r.status).toBe(200);
        expect(r.headers.get('x-switchyard-route')).toContain(`task ${t.task}`);
        await gw.switchyard.shadow.drain();
      }
    }
    expect(gw.switchyard.shadow.stats()).toMatchObject({ completed: 3 * N, failed: 0 });

    const json = await run(['-c', configPath, '--json']);
    expect(json.code).toBe(0);
    const rep = JSON.parse(json.stdout) as { results: number; rows: { task: string; recommendation: string; scored: number; agreed: number; meanJudge: number; savingShare: number }[] };
    expect(rep.results).toBe(3 * N);
    const row = (task: string) => rep.rows.find((r) => r.task === task)!;
    expect(row('summarization')).toMatchObject({ recommendation: 'downgrade', scored: N, agreed: N, meanJudge: 8 });
    expect(row('summarization').savingShare).toBeGreaterThan(0.9);
    expect(row('code')).toMatchObject({ recommendation: 'keep', agreed: 0 });
    expect(row('translation').recommendation).not.toBe('downgrade');

    const out = join(dir, 'switchyard.next.yaml');
    const applied = await run(['-c', configPath, '--apply', out]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/summarization\s+0\.05-1\.00\s+HIGH -> LOW\s+10\s+0\s+10\/10 100%.*downgrade/);
    expect(applied.stdout).toMatch(/code\s+0\.05-1\.00\s+HIGH -> LOW.*keep/);
    expect(applied.stdout).toContain('summarization: [1]');

    const text = readFileSync(out, 'utf8');
    expect(text).toContain('this comment survives --apply');
    const next = loadConfigFile(out);
    expect(next.routing!.taskThresholds).toEqual({ summarization: [1] });

    const patched = await startServer({ config: next, port: 0, host: '127.0.0.1', logger: quietLogger });
    gateways.push(patched);
    const tierOf = async (prompt: string) =>
      (await postJson(`${patched.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: prompt }] })).headers.get('x-switchyard-tier');
    expect(await tierOf(TRAFFIC[0]!.prompt(99))).toBe('LOW');
    expect(await tierOf(TRAFFIC[1]!.prompt(99))).toBe('HIGH');
    expect(await tierOf(TRAFFIC[2]!.prompt(99))).toBe('HIGH');
  });

  it('usage errors exit 2 without writing: --apply without --config, a bad --since', async () => {
    const r = await run(['--apply', join(dir, 'x.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--apply needs --config');
    const s = await run(['--since', 'yesterday']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('expected a duration');
  });
});
