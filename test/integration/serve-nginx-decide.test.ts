/** `switchyard serve` mounts the nginx decide endpoint (nginx/switchyard-decide.conf points at it). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

let up: FakeProvider;
let gw: RunningServer;
beforeAll(async () => {
  up = await startFakeOpenAI();
  gw = await startGateway(`auth: { nginx: { enabled: true } }\nupstreams:\n${upstreamYaml('primary', up.url, 'primary-model')}`);
});
afterAll(async () => {
  await gw.close();
  await up.close();
});

it('answers a decision with X-Accel-Redirect to the chosen upstream, without calling it', async () => {
  const r = await postJson(`${gw.url}/switchyard/decide/v1/chat/completions`, chat('route me'));
  expect(r.headers.get('x-accel-redirect')).toMatch(/^\/_switchyard\/upstream\/primary\//);
  expect(up.requests).toHaveLength(0);
});
