/**
 * The observability endpoints on the Express face: off by default (the app's
 * own routes win), on with `metricsPath` and `live`, mount-relative; the
 * event stream fans each decision out to every client, numbered as the
 * stats snapshot counts them.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { switchyard, type SwitchyardMiddleware } from '../../src/adapters/express/index.js';
import type { StatsSnapshot } from '../../src/observability/stats.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson } from '../helpers/gateway.js';
import { collectEvents, parseProm, sumOf } from '../helpers/observability.js';

let up: FakeProvider;
const servers: Server[] = [];
const middlewares: SwitchyardMiddleware[] = [];

function listen(app: express.Express): Promise<string> {
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`));
    servers.push(s);
  });
}

function mount(opts: { metricsPath?: string; live?: boolean }): Promise<string> {
  const mw = switchyard({
    config: { upstreams: [{ name: 'primary', kind: 'openai-compatible', baseUrl: up.url, models: [{ name: 'primary-model' }] }], cache: { enabled: false } },
    ...opts,
  });
  middlewares.push(mw);
  const app = express();
  app.use('/llm', mw);
  app.get('/llm/metrics', (_req, res) => res.type('text/plain').send('the app own metrics'));
  return listen(app);
}

beforeAll(async () => {
  up = await startFakeOpenAI();
});
afterAll(async () => {
  for (const m of middlewares) m.switchyard.observability.live.close();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all(middlewares.map((m) => m.close()));
  await up.close();
});

describe('express face', () => {
  it('serves no observability endpoint unless asked', async () => {
    const url = await mount({});
    expect(await (await fetch(`${url}/llm/metrics`)).text()).toBe('the app own metrics');
    expect((await fetch(`${url}/llm/switchyard/stats`)).status).toBe(404);
  });

  it('serves metrics, stats, the event stream and the dashboard under its mount path', async () => {
    const url = await mount({ metricsPath: '/metrics', live: true });
    const a = await collectEvents(`${url}/llm`);
    const b = await collectEvents(`${url}/llm`);
    for (let i = 0; i < 3; i++) expect((await postJson(`${url}/llm/v1/chat/completions`, chat(`q${i}`))).status).toBe(200);
    await a.waitFor(3);
    await b.waitFor(3);
    expect(a.events.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(b.events.map((e) => e.record.id)).toEqual(a.events.map((e) => e.record.id));
    const stats = (await (await fetch(`${url}/llm/switchyard/stats`)).json()) as StatsSnapshot;
    expect(stats).toMatchObject({ seq: 3, requests: { total: 3 } });
    const prom = await fetch(`${url}/llm/metrics`);
    expect(prom.headers.get('content-type')).toContain('text/plain');
    expect(sumOf(parseProm(await prom.text()), 'switchyard_requests_total', { upstream: 'primary', status: '200' })).toBe(3);
    const page = await fetch(`${url}/llm/switchyard/dashboard`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('id="kpi-requests"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\/(?!www\.w3\.org)/);
    a.close();
    b.close();
  });
});
