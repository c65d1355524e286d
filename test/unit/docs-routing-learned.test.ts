/**
 * docs/routing-learned.md: every ```yaml block is a complete config that the
 * real loader accepts, and every other block is marked as illustration or
 * names the test that runs it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const DOC = readFileSync('docs/routing-learned.md', 'utf8');
const BLOCK = /(?:<!-- snippet: ([^\n]*?) -->\n)?```(\w+)\n([\s\S]*?)```/g;

describe('docs/routing-learned.md', () => {
  const blocks = [...DOC.matchAll(BLOCK)].map((m) => ({ marker: m[1], lang: m[2]!, body: m[3]! }));

  it('has yaml blocks, each a valid Switchyard config with routing.learned', () => {
    const yaml = blocks.filter((b) => b.lang === 'yaml');
    expect(yaml.length).toBeGreaterThanOrEqual(2);
    for (const b of yaml) {
      const cfg = parseConfig(b.body, { OPENAI_API_KEY: 'sk-test' });
      expect(cfg.routing?.learned?.enabled).toBe(true);
    }
  });

  it('marks every other block as illustration or covered by an existing test', () => {
    for (const b of blocks.filter((x) => x.lang !== 'yaml')) {
      expect(b.marker, b.body.slice(0, 60)).toMatch(/^(illustration|covered-by test\/\S+\.test\.ts)$/);
      const path = b.marker!.startsWith('covered-by ') ? b.marker!.slice('covered-by '.length) : undefined;
      if (path) expect(() => readFileSync(path)).not.toThrow();
    }
  });
});
