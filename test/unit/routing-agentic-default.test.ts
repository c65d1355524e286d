/**
 * `routing.agenticTier` unset: the tier named AGENTIC when the config has
 * one, else none, so a config with its own tier names starts; set
 * explicitly to a missing tier it is still refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { Router } from '../../src/routing/router.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';

function yaml(tiers: string, routing: string): string {
  return `
upstreams:
  - name: up
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models: [{ name: small-m }, { name: big-m }]
tiers:
${tiers}
${routing}
`;
}

let open: { router: Router; reg: UpstreamRegistry }[] = [];
function make(tiers: string, routing: string): Router {
  const cfg = parseConfig(yaml(tiers, routing), {});
  const reg = new UpstreamRegistry(cfg, {});
  const router = new Router(cfg, reg, { pollers: false });
  open.push({ router, reg });
  return router;
}
afterEach(async () => {
  for (const { router, reg } of open) {
    await router.close();
    await reg.close();
  }
  open = [];
});

const withTools = (): CanonicalRequest => ({
  operation: 'chat',
  protocol: 'openai',
  model: 'switchyard/auto',
  messages: [{ role: 'user', content: 'hi' }],
  stream: false,
  extra: {},
  tools: [{ name: 'get_weather', parameters: { type: 'object' } }],
});

describe('routing.agenticTier default', () => {
  it('starts with tier names of its own and no agenticTier: tool calls walk the ladder like any request', () => {
    const router = make('  - { name: cheap, models: [small-m] }\n  - { name: strong, models: [big-m] }', 'routing: { ladder: [cheap, strong] }');
    const d = router.route({ req: withTools() });
    expect(['cheap', 'strong']).toContain(d.tier);
    expect(d.reason).not.toContain('tools ->');
  });

  it('uses a tier named AGENTIC (any case) when there is one', () => {
    const router = make(
      '  - { name: cheap, models: [small-m] }\n  - { name: strong, models: [big-m] }\n  - { name: agentic, models: [big-m] }',
      'routing: { ladder: [cheap, strong] }',
    );
    const d = router.route({ req: withTools() });
    expect(d.tier).toBe('agentic');
    expect(d.reason).toContain('tools -> agentic');
  });

  it('refuses an explicitly named agentic tier that does not exist, naming the tiers it has', () => {
    expect(() => make('  - { name: cheap, models: [small-m] }', 'routing: { ladder: [cheap], agenticTier: tools-tier }')).toThrow(ConfigError);
    expect(() => make('  - { name: cheap, models: [small-m] }', 'routing: { ladder: [cheap], agenticTier: tools-tier }')).toThrow(
      /routing\.agenticTier.*no tier named "tools-tier" under tiers \(have: cheap\)/,
    );
  });
});
