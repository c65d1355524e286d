/**
 * `switchyard extproc` as an operator runs it: a real process, gRPC health,
 * /metrics, a config reload on SIGHUP, a clean stop on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FakeEnvoy } from '../fixtures/envoy-proxy.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');
let up: FakeProvider;
let proc: ChildProcess | undefined;
let logs = '';

const config = (models: string[]) => `
upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${up.url}
    models: [${models.map((m) => `{ name: ${m} }`).join(', ')}]
cache: { enabled: false }
`;

beforeAll(async () => {
  up = await startFakeOpenAI();
});
afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  await up.close();
});

async function waitFor(pred: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met in ${ms}ms; logs:\n${logs}`);
}

const chat = (model: string) => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
});

describe('switchyard extproc', () => {
  it('serves ext_proc and health, exposes /metrics, reloads on SIGHUP and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-extproc-'));
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, config(['m1']));
    proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'extproc', '--config', file, '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1'], {
      env: { PATH: process.env.PATH, SWITCHYARD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await waitFor(() => /ext_proc serving/.test(logs));
    const line = logs.split('\n').find((l) => l.includes('ext_proc serving'))!;
    const { port, metricsPort } = JSON.parse(line) as { port: number; metricsPort: number };

    const envoy = new FakeEnvoy({ port, clusters: { primary: new URL(up.url).origin } });
    try {
      expect(await envoy.client.health('envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toContain('switchyard_requests_total');
      expect(text).toContain('process_cpu_seconds_total');

      const before = await envoy.request(chat('m2'));
      expect(before.immediate).toBe(true);
      expect(before.status).toBe(404);

      writeFileSync(file, config(['m1', 'm2']));
      proc.kill('SIGHUP');
      await waitFor(() => /config reloaded/.test(logs));
      const after = await envoy.request(chat('m2'));
      expect(after.status).toBe(200);
      expect(after.cluster).toBe('primary');
    } finally {
      envoy.close();
    }
    const exited = new Promise<number | null>((r) => proc!.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
