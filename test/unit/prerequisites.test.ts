/**
 * The prerequisite rule, on a real nested vitest run of an nginx test file
 * with nginx declared missing (SWITCHYARD_TEST_PRETEND_MISSING): under
 * CI=true the run fails naming the Debian package; otherwise the tests are
 * skipped and the reason is printed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { OPTIONAL_PACKAGES, installCommand } from '../../src/optional-module.js';
import { PREREQUISITES } from '../fixtures/prerequisites.js';

function vitest(env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const bin = join(process.cwd(), 'node_modules', 'vitest', 'vitest.mjs');
  const p = spawn(process.execPath, [bin, 'run', 'test/e2e/nginx-front.test.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => p.once('close', (code) => resolve({ code, out })));
}

const base = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_TEST_PRETEND_MISSING: 'nginx', NO_COLOR: '1' };
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  return env;
};

describe('a missing prerequisite', () => {
  it('fails the run under CI=true with the Debian package to install', async () => {
    const r = await vitest({ ...base(), CI: 'true' });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('CI=true and test prerequisites are missing');
    expect(r.out).toContain('apt-get install nginx');
  }, 120_000);

  it('is skipped with the reason printed otherwise', async () => {
    const env = base();
    delete env.CI;
    const r = await vitest(env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('tests that need them are SKIPPED');
    expect(r.out).toContain('nginx is missing');
    expect(r.out).toContain('apt-get install nginx');
    expect(r.out).toMatch(/skipped/i);
    expect(r.out).not.toMatch(/Tests +\d+ passed/); // nothing ran
  }, 120_000);

  it('names an install command for each prerequisite', () => {
    for (const p of Object.values(PREREQUISITES)) expect(p.install).toMatch(/^(apt-get install \S+|npm install --no-save \S+@\d+\.\d+\.\d+)/);
  });

  it('pins the optional packages at one version everywhere: the runtime error, the test prerequisites and .ci/run', () => {
    const ci = readFileSync(join(process.cwd(), '.ci/run'), 'utf8');
    for (const name of Object.keys(OPTIONAL_PACKAGES) as (keyof typeof OPTIONAL_PACKAGES)[]) {
      const pinned = `${name}@${OPTIONAL_PACKAGES[name].version}`;
      expect(ci).toContain(pinned);
      expect(PREREQUISITES[name].install).toBe(installCommand(name));
    }
  });
});
