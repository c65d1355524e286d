/** The Express face inside an existing app: with and without a body parser, next() and the default proxy. */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { switchyard, type SwitchyardMiddleware } from '../../src/adapters/express/index.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson } from '../helpers/gateway.js';

let up: FakeProvider;
let legacy: Server;
let legacyUrl: string;
const servers: Server[] = [];
const middlewares: SwitchyardMiddleware[] = [];

function listen(app: express.Express): Promise<string> {
  return new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`));
    servers.push(s);
  });
}

function config(extra: Record<string, unknown> = {}) {
  return {
    upstreams: [{ name: 'primary', kind: 'openai-compatible' as const, baseUrl: up.url, models: [{ name: 'primary-model' }], retry: { max: 0 } }],
    cache: { enabled: false },
    ...extra,
  };
}

beforeAll(async () => {
  up = await startFakeOpenAI();
  const l = express();
  l.get('/legacy/hello', (_req, res) => res.json({ from: 'legacy' }));
  legacyUrl = await listen(l);
  legacy = servers[0]!;
});
afterAll(async () => {
  await Promise.all(middlewares.map((m) => m.close()));
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await up.close();
  void legacy;
});

describe('switchyard() middleware', () => {
  it('serves LLM routes and hands everything else to next()', async () => {
    const app = express();
    const mw = switchyard({ config: config() });
    middlewares.push(mw);
    app.use(mw);
    app.get('/app/own', (_req, res) => res.json({ own: true }));
    const base = await listen(app);
    const r = await postJson(`${base}/v1/chat/completions`, chat('from express'));
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('echo: from express');
    expect(r.headers.get('x-switchyard-upstream')).toBe('primary');
    const own = await fetch(`${base}/app/own`);
    expect(await own.json()).toEqual({ own: true });
    const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'primary-model', stream: true, messages: [{ role: 'user', content: 'sdk' }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toBe('echo: sdk');
  });

  it('works after express.json() and after express.text() consumed the body', async () => {
    for (const parser of [express.json(), express.text({ type: '*/*' }), express.raw({ type: '*/*' })]) {
      const app = express();
      app.use(parser);
      const mw = switchyard({ config: config() });
      middlewares.push(mw);
      app.use(mw);
      const base = await listen(app);
      const r = await postJson(`${base}/v1/chat/completions`, chat('parsed'));
      expect(r.status).toBe(200);
      expect(r.json.choices[0].message.content).toBe('echo: parsed');
    }
  });

  it('works mounted under a prefix', async () => {
    const app = express();
    const mw = switchyard({ config: config() });
    middlewares.push(mw);
    app.use('/llm', mw);
    const base = await listen(app);
    const r = await postJson(`${base}/llm/v1/chat/completions`, chat('mounted'));
    expect(r.status).toBe(200);
  });

  it('proxies non-LLM paths to the configured default upstream', async () => {
    const app = express();
    const mw = switchyard({ config: config({ proxy: { target: legacyUrl } }) });
    middlewares.push(mw);
    app.use(mw);
    const base = await listen(app);
    const r = await fetch(`${base}/legacy/hello`);
    expect(await r.json()).toEqual({ from: 'legacy' });
  });

  it('renders bad input in OpenAI format through Express too', async () => {
    const app = express();
    app.use(express.json());
    const mw = switchyard({ config: config() });
    middlewares.push(mw);
    app.use(mw);
    const base = await listen(app);
    const r = await postJson(`${base}/v1/chat/completions`, { model: 'primary-model', messages: [] });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe('messages');
  });

  it('rejects an invalid config object with a message naming the path', () => {
    expect(() => switchyard({ config: { upstreams: [{ name: 'x', kind: 'openai-compatible', baseUrl: 'not a url', models: [{ name: 'm' }] }] } })).toThrow(
      /upstreams\[0\]\.baseUrl/,
    );
  });
});
