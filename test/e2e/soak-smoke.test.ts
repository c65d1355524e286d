/**
 * bench/soak.ts as a user runs it (docs/limits.md), for a few seconds: it
 * starts `switchyard serve` from dist/ and a faulty upstream, sends mixed
 * traffic at a fixed rate, and prints RSS and p50/p99 per window and a table.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('runs a short soak and prints RSS and p50/p99 for every window', async () => {
  if (!existsSync('dist/cli/main.js')) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  const out = await run(process.execPath, ['--import', 'tsx', 'bench/soak.ts', '--seconds', '6', '--window', '3', '--warmup', '3', '--rate', '10'], { timeout: 120_000, maxBuffer: 1 << 22 }).catch(
    (e: { message: string; stdout?: string; stderr?: string }) => {
      throw new Error(`soak failed: ${e.message}\nstdout:\n${e.stdout ?? ''}\nstderr:\n${e.stderr ?? ''}`);
    },
  );
  const stdout = out.stdout;
  const rows = stdout.split('\n').filter((l) => /^t=\s*\d+s rss [\d.]+ MiB/.test(l));
  expect(rows.length, stdout).toBeGreaterThanOrEqual(2);
  for (const r of rows) expect(r).toMatch(/p50 [\d.]+ ms p99 [\d.]+ ms/);
  expect(stdout).toMatch(/RSS after warm-up [\d.]+ MiB, at the end [\d.]+ MiB/);
  expect(stdout).toMatch(/RSS after warm-up \(\d+ windows\): [\d.]+–[\d.]+ MiB; .* outside the V8 heap [\d.]+ → [\d.]+ MiB/);
  expect(stdout).toMatch(/\| t \(s\) \| RSS MiB \| heap used MiB \| heap committed MiB \|/);
  const sent = /Sent (\d+): (\d+) ok, (\d+) non-2xx, (\d+) transport errors; the upstream injected (\d+) faults/.exec(stdout);
  expect(sent, stdout).not.toBeNull();
  expect(Number(sent![1])).toBe(60);
  expect(Number(sent![4]), stdout).toBe(0);
}, 150_000);
