/**
 * docs/resilience.md: every ```yaml block is a complete config that loads
 * through the real loader, and every other block is marked as covered or an
 * illustration (the docs snippet convention).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const DOC = readFileSync(join(process.cwd(), 'docs', 'resilience.md'), 'utf8');

function blocks(md: string): { lang: string; body: string; marker: string | undefined }[] {
  const out: { lang: string; body: string; marker: string | undefined }[] = [];
  const re = /(?:^|\n)(<!-- snippet: [^\n]*-->\n)?```(\w*)\n([\s\S]*?)\n```/g;
  for (let m = re.exec(md); m !== null; m = re.exec(md)) out.push({ lang: m[2]!, body: m[3]!, marker: m[1]?.trim() });
  return out;
}

describe('docs/resilience.md', () => {
  const all = blocks(DOC);

  it('has yaml examples, each a complete config the loader accepts', () => {
    const yaml = all.filter((b) => b.lang === 'yaml');
    expect(yaml.length).toBeGreaterThanOrEqual(2);
    for (const b of yaml) {
      const cfg = parseConfig(b.body, { OPENAI_API_KEY: 'sk-dummy', ANTHROPIC_API_KEY: 'sk-ant-dummy' }, 'docs/resilience.md');
      expect(cfg.upstreams.length).toBeGreaterThan(0);
    }
  });

  it('documents the retry classes and resume settings with the values the loader reads', () => {
    const first = parseConfig(all.find((b) => b.lang === 'yaml')!.body, {}, 'docs/resilience.md');
    expect(first.upstreams[0]!.retry.on).toEqual({ connect: 1, reset: 1, '5xx': 1, '429': 1, timeout: 0 });
    expect(first.resume).toEqual({ maxResumes: 1, cacheResumed: false });
    expect(first.upstreams[1]!.models[0]!.contextWindow).toBeUndefined();
  });

  it('marks every block that is not a config as covered by a test or an illustration', () => {
    for (const b of all.filter((x) => x.lang !== 'yaml' && x.lang !== 'sh')) {
      expect(b.marker, `block: ${b.body.slice(0, 60)}`).toMatch(/^<!-- snippet: (illustration|covered-by \S+) -->$/);
    }
  });
});
