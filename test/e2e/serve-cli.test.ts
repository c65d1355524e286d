/**
 * `switchyard serve` as a user runs it: a real process from dist/, embedded
 * defaults, missing keys, reload on SIGHUP and on file change, a bad reload
 * keeping the last good config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');
let up: FakeProvider;
let proc: ChildProcess | undefined;
let logs = '';

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
  up = await startFakeOpenAI();
});
afterAll(() => up.close());
afterEach(async () => {
  if (proc && proc.exitCode === null) {
    const p = proc;
    await new Promise((r) => {
      p.once('exit', r);
      p.kill('SIGTERM');
    });
  }
  proc = undefined;
});

function serve(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  logs = '';
  proc = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      logs += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(logs);
      if (m) resolve(m[1]!);
    };
    proc!.stdout!.on('data', onData);
    proc!.stderr!.on('data', onData);
    proc!.once('exit', (c) => reject(new Error(`serve exited with ${c}: ${logs}`)));
  });
}

async function waitFor(pred: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met in ${ms}ms; logs:\n${logs}`);
}

const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.OPENAI_API_KEY;
  delete env.ANTHROPIC_API_KEY;
  return env;
};

describe('switchyard serve', () => {
  it('starts on the embedded defaults with no keys, reports what is unavailable, and answers 503 naming what to set', async () => {
    const url = await serve([], { ...cleanEnv(), SWITCHYARD_LOCAL_URL: 'http://127.0.0.1:9/v1' });
    expect(logs).toContain('OPENAI_API_KEY');
    const health = (await (await fetch(`${url}/healthz`)).json()) as { upstreams: { name: string }[] };
    expect(health.upstreams.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['openai', 'anthropic', 'local']));
    const r = await postJson(`${url}/v1/chat/completions`, chat('hi', { model: 'gpt-4o' }));
    expect(r.status).toBe(503);
    expect(r.json.error.message).toContain('set OPENAI_API_KEY');
    expect(logs).not.toMatch(/sk-/);
  });

  it('reloads on SIGHUP and on file change, and keeps the last good config when the new one is invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    const file = join(dir, 'switchyard.yaml');
    const cfg = (model: string) => `upstreams:
  - name: fake
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [{ name: ${model} }]
`;
    writeFileSync(file, cfg('model-a'));
    const url = await serve(['--config', file], cleanEnv());
    expect((await postJson(`${url}/v1/chat/completions`, chat('x', { model: 'model-a' }))).status).toBe(200);

    writeFileSync(file, cfg('model-b'));
    await waitFor(async () => (await postJson(`${url}/v1/chat/completions`, chat('x', { model: 'model-b' }))).status === 200);

    writeFileSync(file, 'upstreams:\n  - name: fake\n    kind: nonsense\n');
    await waitFor(() => logs.includes('config reload rejected'));
    expect(logs).toContain('upstreams[0].kind');
    expect((await postJson(`${url}/v1/chat/completions`, chat('x', { model: 'model-b' }))).status).toBe(200);

    // SIGHUP re-reads the file even when no change event fires.
    writeFileSync(file, cfg('model-c'));
    proc!.kill('SIGHUP');
    await waitFor(async () => (await postJson(`${url}/v1/chat/completions`, chat('x', { model: 'model-c' }))).status === 200);
  });

  it('exits with a clear message on an invalid config at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'upstreams:\n  - name: x\n    kind: openai-compatible\n    baseUrl: nope\n    models: [{ name: m }]\n');
    await expect(serve(['--config', file], cleanEnv())).rejects.toThrow(/exited with 2/);
    expect(logs).toContain('upstreams[0].baseUrl');
  });
});
