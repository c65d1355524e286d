/**
 * `switchyard classify` as a user runs it (a real process, from source via
 * tsx): one JSON decision per input line, no upstream called.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { upstreamYaml } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'switchyard-classify-'));
let up: FakeProvider;

beforeAll(async () => {
  up = await startFakeOpenAI();
});
afterAll(() => up.close());

function run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'classify', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

const PROMPTS = [
  { id: 'greeting', prompt: 'hi' },
  {
    id: 'hard',
    prompt:
      'Design a distributed rate limiter in Rust: first analyse the trade-offs between token bucket and sliding window, then implement it step by step with unit tests, and prove that it never exceeds the limit under concurrent access.',
  },
  { id: 'tools', messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }] },
  { id: 'private', prompt: 'Send the invoice to jane.doe@example.com', model: 'big' },
];

describe('switchyard classify', () => {
  it('prints one decision per line (tier, model, signals, scores, reason) and calls no upstream', async () => {
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(
      cfg,
      `upstreams:
${upstreamYaml('local', up.url, 'small-local')}    local: true
${upstreamYaml('cloud', up.url, [{ name: 'mid' }, { name: 'big' }])}
tiers:
  - { name: LOW, models: [small-local] }
  - { name: MEDIUM, models: [mid] }
  - { name: HIGH, models: [big] }
  - { name: AGENTIC, models: [big] }
routing: {}
`,
    );
    const input = join(dir, 'prompts.jsonl');
    writeFileSync(input, `${PROMPTS.map((p) => JSON.stringify(p)).join('\n')}\nnot json\n`);
    const r = await run(['--in', input, '--config', cfg]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    const [greeting, hard, tools, priv, bad] = lines;
    expect(greeting).toMatchObject({ line: 1, id: 'greeting', tier: 'LOW', model: 'small-local', upstream: 'local', signals: { task: 'chat', sensitive: [] }, scores: { thresholds: [0.25, 0.7] } });
    expect(greeting.reason).toMatch(/^auto: complexity 0\.\d\d < 0\.25 -> LOW; task chat$/);
    expect(greeting.signals.complexity).toBeLessThan(0.25);
    expect(hard).toMatchObject({ tier: 'HIGH', model: 'big', signals: { task: 'code' } });
    expect(tools).toMatchObject({ tier: 'AGENTIC', signals: { tools: true } });
    expect(priv).toMatchObject({ model: 'small-local', localOnly: true, signals: { sensitive: ['email'] } });
    expect(priv.reason).toBe('explicit model; privacy (email) -> local-only: big overridden');
    expect(bad).toMatchObject({ line: 5, error: { code: 'invalid_json' } });
    expect(up.requests).toHaveLength(0);
  });

  it('reads stdin with --in - and uses the embedded defaults without --config', async () => {
    const r = await run(['--in', '-'], `${JSON.stringify({ prompt: 'hello there' })}\n`);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ line: 1, tier: 'local', model: 'local-llama' });
  });

  it('exits 2 naming the problem when routing names an unknown tier', async () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, `upstreams:\n${upstreamYaml('cloud', up.url, 'm')}\ntiers:\n  - { name: LOW, models: [m] }\nrouting: { ladder: [LOW, TOP], agenticTier: null }\n`);
    const r = await run(['--in', '-', '--config', cfg], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('routing.ladder.1: no tier named "TOP"');
  });
});
