/**
 * `switchyard demo`: with no API keys set, the walkthrough shows a routing
 * decision to each tier, an exact hit, a semantic hit and a fallback, then a
 * dashboard URL that answers.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import { parseConfig } from '../../src/config/load.js';
import { DEMO_CONFIG_YAML } from '../../src/cli/demo.js';
import { quietLogger } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');

function noKeys(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/API_KEY$/.test(k)) delete env[k];
  return env;
}

describe('switchyard demo', () => {
  it('runs from dist with no keys: routing to both tiers, an exact hit, a semantic hit, a fallback, and the dashboard URL', async () => {
    if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
    const p = spawn(process.execPath, [MAIN, 'demo', '--port', '0', '--once'], { env: noKeys(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.once('close', resolve));
    expect(code, err).toBe(0);
    const steps = out.split(/\n(?=\d\. )/).slice(1);
    expect(steps).toHaveLength(5);
    expect(steps[0]).toMatch(/cache=miss {2}tier=small {2}upstream=mock-small {2}attempts=1/);
    expect(steps[0]).toMatch(/route: auto: complexity 0\.\d\d < 0\.50 -> small/);
    expect(steps[1]).toMatch(/cache=hit-exact/);
    expect(steps[1]).toContain('< 200 echo: What is the capital of France?');
    expect(steps[2]).toMatch(/cache=hit-semantic \(similarity 0\.9\d+\)/);
    expect(steps[2]).toContain('< 200 echo: What is the capital of France?'); // the cached answer to the first wording
    expect(steps[3]).toMatch(/tier=large {2}upstream=mock-large/);
    expect(steps[4]).toMatch(/< 200 A considered answer/);
    expect(steps[4]).toMatch(/upstream=mock-large {2}attempts=2/);
    expect(out).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+\/switchyard\/dashboard/);
  }, 90_000);

  it('keeps serving after the walkthrough: the dashboard and the API answer, and the config is a valid Switchyard config', async () => {
    let printed = '';
    const { server, steps } = await runDemo({ port: 0, write: (t) => (printed += t), logger: quietLogger });
    try {
      expect(steps.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
      const url = /Dashboard: (\S+)/.exec(printed)![1]!;
      const dash = await fetch(url);
      expect(dash.status).toBe(200);
      expect(dash.headers.get('content-type')).toMatch(/text\/html/);
      await dash.text();
      const stats = (await (await fetch(`${server.url}/switchyard/stats`)).json()) as Record<string, unknown>;
      expect(stats).toBeTypeOf('object');
    } finally {
      await server.close();
    }
    expect(() => parseConfig(DEMO_CONFIG_YAML, {})).not.toThrow();
  }, 90_000);
});
