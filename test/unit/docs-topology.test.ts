/** docs/topology.md: every ```yaml block is a complete config the real loader accepts; other blocks are annotated. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/topology.md'), 'utf8');
const blocks = [...doc.matchAll(/(?:<!-- snippet: ([^>]*) -->\n)?```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ note: m[1], lang: m[2]!, body: m[3]! }));

describe('docs/topology.md', () => {
  it('has the fleet config and the query-tuning config as yaml blocks', () => {
    expect(blocks.filter((b) => b.lang === 'yaml')).toHaveLength(2);
  });

  it.each(blocks.filter((b) => b.lang === 'yaml').map((b, i) => [i, b.body] as const))('yaml block %i loads through the real loader', (_i, body) => {
    const cfg = parseConfig(body, { OPENAI_API_KEY: 'sk-dummy' });
    expect(cfg.upstreams.length).toBeGreaterThan(0);
  });

  it('says where the fleet config puts each store', () => {
    const fleet = parseConfig(blocks.find((b) => b.lang === 'yaml')!.body, { OPENAI_API_KEY: 'sk-dummy' });
    expect(fleet.cache.redis.url).toMatch(/^redis\+cluster:\/\//);
    expect(fleet.cache.semantic.redis?.url).toBe('redis://10.0.0.20:6379');
    expect(fleet.accounting.redis.cluster?.rootNodes).toHaveLength(2);
    expect(fleet.accounting.onStoreError).toBe('open');
  });

  it('annotates every block that is not a config', () => {
    for (const b of blocks.filter((x) => x.lang !== 'yaml')) expect(b.note, b.body.slice(0, 40)).toMatch(/^(illustration|covered-by \S+)$/);
  });
});
