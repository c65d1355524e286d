/** A Router with `routing.learned` set, on a fake upstream never called: the learned-routing store and snapshot tests. */
import { parseConfig } from '../../src/config/load.js';
import { Router } from '../../src/routing/router.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';

const MODEL: Record<string, string> = { LOW: 'small', MEDIUM: 'mid', HIGH: 'big' };

/** `ladder` is a subset of LOW, MEDIUM, HIGH (models small, mid, big); `learned` the YAML flow value of `routing.learned`. */
export function learnedRouter(
  learned: string,
  ladder: readonly ('LOW' | 'MEDIUM' | 'HIGH')[],
  onError?: (err: Error, op: string) => void,
): { router: Router; close: () => Promise<void> } {
  const cfg = parseConfig(
    `upstreams:
  - { name: u, kind: openai-compatible, baseUrl: "http://127.0.0.1:9/v1", models: [${ladder.map((t) => `{ name: ${MODEL[t]} }`).join(', ')}] }
tiers:
${ladder.map((t) => `  - { name: ${t}, models: [${MODEL[t]}] }`).join('\n')}
routing:
  ladder: [${ladder.join(', ')}]
  agenticTier: null
  learned: ${learned}
`,
    {},
  );
  const reg = new UpstreamRegistry(cfg, {});
  const r = new Router(cfg, reg, { pollers: false, ...(onError ? { onError } : {}) });
  return {
    router: r,
    close: async () => {
      await r.close();
      await reg.close();
    },
  };
}
