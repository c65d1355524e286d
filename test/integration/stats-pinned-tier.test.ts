/**
 * A pinned tier (`switchyard/<tier>`, any case) is counted under the
 * configured tier in the stats and the metrics, never as `other`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { postJson, startGateway } from '../helpers/gateway.js';

let gw: RunningServer;
beforeAll(async () => {
  gw = await startGateway(
    `
upstreams:
  - { name: m1, kind: mock, models: [{ name: small-m }] }
  - { name: m2, kind: mock, models: [{ name: big-m }] }
tiers:
  - { name: LOW, models: [small-m] }
  - { name: HIGH, models: [big-m] }
routing: { ladder: [LOW, HIGH] }
`,
    {},
  );
});
afterAll(async () => {
  await gw?.close();
});

describe('pinned tiers in stats', () => {
  it('counts switchyard/low and switchyard/HIGH under LOW and HIGH', async () => {
    const a = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/low', messages: [{ role: 'user', content: 'one' }] }, { authorization: 'Bearer key-a' });
    const b = await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/HIGH', messages: [{ role: 'user', content: 'two' }] }, { authorization: 'Bearer key-a' });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get('x-switchyard-upstream')).toBe('m1');
    const stats = JSON.stringify(await (await fetch(`${gw.url}/switchyard/stats`)).json());
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const tierLines = metrics.split('\n').filter((l) => l.startsWith('switchyard_requests_total{') && l.includes('tier='));
    expect(tierLines.some((l) => l.includes('tier="LOW"'))).toBe(true);
    expect(tierLines.some((l) => l.includes('tier="HIGH"'))).toBe(true);
    expect(tierLines.some((l) => l.includes('tier="other"'))).toBe(false);
    expect(stats).toMatch(/"LOW":1\b/);
    expect(stats).toMatch(/"HIGH":1\b/);
    expect(stats).not.toMatch(/"other":[1-9]/);
  });
});
