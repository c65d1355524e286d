/**
 * docs/cache-safety.md: every ```yaml block is a complete config that the real
 * loader accepts, every ```sh block runs from the repository root after
 * `npm run build` and prints what the page says, and every other fenced block
 * is marked with a snippet comment.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const page = readFileSync(`${ROOT}docs/cache-safety.md`, 'utf8');

function blocks(lang: string): string[] {
  const out: string[] = [];
  for (const m of page.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) if (m[1] === lang) out.push(m[2]!);
  return out;
}

describe('docs/cache-safety.md', () => {
  it('its yaml blocks load through the real config loader', () => {
    const yaml = blocks('yaml');
    expect(yaml.length).toBeGreaterThanOrEqual(2);
    for (const y of yaml) {
      const cfg = parseConfig(y, { OPENAI_API_KEY: 'sk-dummy' }, 'docs/cache-safety.md');
      expect(cfg.upstreams.length).toBeGreaterThan(0);
    }
    const [budgets, cache] = yaml.map((y) => parseConfig(y, { OPENAI_API_KEY: 'sk-dummy' }));
    expect(budgets!.upstreams[0]!.models[0]!.defaultOutputTokens).toBe(400);
    expect(cache!.cache.semantic.questionChars).toBe(500);
  });

  it('its sh block classifies a tool description with an e-mail address as local-only', async () => {
    const [sh] = blocks('sh');
    const { stdout } = await run('sh', ['-c', sh!], { cwd: ROOT, env: { ...process.env, SWITCHYARD_CONFIG: '' } });
    const decision = JSON.parse(stdout.trim().split('\n')[0]!) as { localOnly: boolean; signals: { sensitive: string[] } };
    expect(decision.signals.sensitive).toEqual(['email']);
    expect(decision.localOnly).toBe(true);
  }, 60_000);

  it('marks every other fenced block', () => {
    const lines = page.split('\n');
    lines.forEach((line, i) => {
      const m = /^```(\w+)$/.exec(line);
      if (!m || m[1] === 'yaml' || m[1] === 'sh') return;
      expect(lines[i - 1]).toMatch(/^<!-- snippet: (illustration|covered-by \S+) -->$/);
    });
  });
});
