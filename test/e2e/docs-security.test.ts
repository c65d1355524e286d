/**
 * docs/security.md as a user meets it: every ```yaml block is a complete
 * config the real loader accepts, every ```sh block runs (from a clean
 * directory, with `dist/` as after `npm run build`), and every other block
 * names the test that covers it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const DOC = join(process.cwd(), 'docs/security.md');
const text = readFileSync(DOC, 'utf8');
const blocks = [...text.matchAll(/(?:^(<!-- snippet: [^\n]+ -->)\n)?^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ marker: m[1], lang: m[2]!, body: m[3]! }));

describe('docs/security.md', () => {
  it('has yaml and sh blocks to check', () => {
    expect(blocks.filter((b) => b.lang === 'yaml').length).toBeGreaterThan(4);
    expect(blocks.filter((b) => b.lang === 'sh').length).toBeGreaterThan(0);
  });

  it.each(blocks.filter((b) => b.lang === 'yaml').map((b, i) => [i, b.body] as const))('yaml block %i loads through the real loader', (_i, body) => {
    expect(() => parseConfig(body, { SWITCHYARD_PROXY_SECRET: 'x', SWITCHYARD_NGINX_SECRET: 'x' })).not.toThrow();
  });

  it('marks every block that is neither yaml nor sh with the test that covers it', () => {
    for (const b of blocks.filter((x) => x.lang !== 'yaml' && x.lang !== 'sh')) {
      expect(b.marker, b.body).toMatch(/^<!-- snippet: (illustration|covered-by test\/\S+\.test\.ts) -->$/);
      const file = /covered-by (\S+)/.exec(b.marker!)?.[1];
      if (file) expect(existsSync(join(process.cwd(), file))).toBe(true);
    }
  });

  it.each(blocks.filter((b) => b.lang === 'sh').map((b, i) => [i, b.body] as const))('sh block %i runs and prints a key once', async (_i, body) => {
    if (!existsSync(join(process.cwd(), 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
    const dir = mkdtempSync(join(tmpdir(), 'sy-docs-'));
    symlinkSync(join(process.cwd(), 'dist'), join(dir, 'dist'));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', body], { cwd: dir, env: { PATH: process.env.PATH } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const keys = out.stdout.match(/sy-[a-z0-9]{12}\.[A-Za-z0-9_-]{43}/g) ?? [];
    expect(keys).toHaveLength(1);
    expect(out.stdout).toMatch(/acme\t-\tci bot\tactive/);
  }, 60_000);
});
