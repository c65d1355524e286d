/** docs/config-reference.md is generated from the zod schema; this fails when it is stale. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PATH, renderConfigReference } from '../../scripts/config-reference.js';

describe('docs/config-reference.md', () => {
  it('matches what scripts/config-reference.ts generates from the schema (run `npm run docs:config` after changing src/config)', () => {
    const current = readFileSync(REFERENCE_PATH, 'utf8');
    const fresh = renderConfigReference();
    if (current !== fresh) {
      const a = current.split('\n');
      const b = fresh.split('\n');
      const i = a.findIndex((l, j) => l !== b[j]);
      expect.fail(`docs/config-reference.md is stale: run \`npm run docs:config\`. First difference at line ${i + 1}:\n  file: ${a[i]}\n  schema: ${b[i]}`);
    }
  });

  it('lists every top-level section with defaults and the comments written in the schema', () => {
    const text = renderConfigReference();
    for (const section of ['server', 'upstreams', 'tiers', 'fallbacks', 'cache', 'accounting', 'observability', 'routing', 'shadow']) expect(text).toContain(`## \`${section}\``);
    expect(text).toMatch(/\| `server\.port` \| integer \(≥ 0, ≤ 65535\) \| `8080` \|/);
    expect(text).toContain('| `upstreams[].timeouts.idleMs` | integer (> 0) | `30000` | Longest silence between two chunks of a streamed answer. |');
    expect(text).toMatch(/`upstreams\[\]\.mock\.fault` .*`\[mock:fault=503\]`/);
  });
});
