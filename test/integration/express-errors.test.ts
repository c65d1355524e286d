/**
 * Apps whose body parser runs before Switchyard: `switchyardErrorHandler()`
 * answers parser errors on LLM routes in the caller's protocol (real Express,
 * real express.json()), and `skipSwitchyardRoutes()` keeps the parser's limit
 * off LLM bodies.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipSwitchyardRoutes, switchyard, switchyardErrorHandler, type SwitchyardMiddleware } from '../../src/adapters/express/index.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson } from '../helpers/gateway.js';

let up: FakeProvider;
const servers: Server[] = [];
const mws: SwitchyardMiddleware[] = [];

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((r) => server.once('listening', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function llm(): SwitchyardMiddleware {
  const mw = switchyard({ config: { upstreams: [{ name: 'fake', kind: 'openai-compatible', baseUrl: up.url, models: [{ name: 'gpt-4o-mini' }] }], cache: { enabled: false } } });
  mws.push(mw);
  return mw;
}

beforeAll(async () => {
  up = await startFakeOpenAI();
});
afterAll(async () => {
  for (const s of servers) s.close();
  for (const m of mws) await m.close();
  await up?.close();
});

const big = () => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${'lorem ipsum '.repeat(90_000)} end` }] }); // ~1.08 MB

describe('express.json() before Switchyard, switchyardErrorHandler() last', () => {
  let url: string;
  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.use(llm());
    app.post('/api/echo', (req, res) => res.json(req.body));
    app.use(switchyardErrorHandler());
    app.use((err: { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => res.status(err.status ?? 500).json({ error: 'app handler' }));
    url = await listen(app);
  });

  it('answers malformed JSON on an OpenAI route with an OpenAI error, no stack or paths', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, '{"messages": [');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: { message: 'the request body is not valid JSON', type: 'invalid_request_error', param: null, code: 'invalid_json' } });
    expect(r.headers.get('x-switchyard-error')).toBe('invalid_json');
    expect(r.text).not.toMatch(/<html|<pre|node_modules|\/work\/|at JSON/i);
  });

  it('answers malformed JSON on /v1/messages with an Anthropic error', async () => {
    const r = await postJson(`${url}/v1/messages`, '{oops');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'the request body is not valid JSON' } });
  });

  it("renders the parser's own limit in the caller's protocol (413), not as HTML", async () => {
    const r = await postJson(`${url}/v1/messages`, big());
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
  });

  it("leaves the app's own routes to the app's error handler", async () => {
    const r = await postJson(`${url}/api/echo`, '{bad');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'app handler' });
  });
});

describe('skipSwitchyardRoutes(express.json()) before Switchyard', () => {
  let url: string;
  beforeAll(async () => {
    const app = express();
    app.use(skipSwitchyardRoutes(express.json()));
    app.use(llm());
    app.post('/api/echo', (req, res) => res.json(req.body));
    app.use(switchyardErrorHandler());
    url = await listen(app);
  });

  it('lets a 1 MB chat body through to Switchyard (its own 4 MiB limit applies)', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, big());
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toMatch(/ end$/);
  });

  it('still answers malformed JSON in the protocol (Switchyard reads the body itself)', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, '{"messages": [');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'invalid_json' } });
  });

  it("still parses the app's own routes", async () => {
    const r = await postJson(`${url}/api/echo`, { a: 1 });
    expect(r.json).toEqual({ a: 1 });
  });
});
