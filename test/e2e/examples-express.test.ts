/**
 * examples/express-app run as a user runs it (`node examples/express-app/server.mjs`,
 * importing `switchyard/express` from this repo's build) against fake
 * providers standing in for OpenAI and the llama.cpp sidecar.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, sseEvents } from '../helpers/gateway.js';

const SERVER = join(process.cwd(), 'examples/express-app/server.mjs');
let openai: FakeProvider;
let local: FakeProvider;
let proc: ChildProcess;
let url: string;
let logs = '';

beforeAll(async () => {
  if (!existsSync(join(process.cwd(), 'dist/adapters/express/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  openai = await startFakeOpenAI({ apiKey: 'sk-example' });
  local = await startFakeOpenAI({ models: ['local-llama'] });
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', OPENAI_API_KEY: 'sk-example', OPENAI_BASE_URL: openai.url, SWITCHYARD_LOCAL_URL: local.url };
  delete env['SWITCHYARD_CONFIG'];
  proc = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      logs += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(logs);
      if (m) resolve(m[1]!);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (c) => reject(new Error(`express-app exited with ${c}: ${logs}`)));
  });
}, 30_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    await new Promise((r) => {
      proc.once('exit', r);
      proc.kill('SIGKILL');
    });
  }
  await openai?.close();
  await local?.close();
});

describe('examples/express-app', () => {
  it("keeps serving the service's own routes, body parser included", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const created = await postJson(`${url}/api/orders`, { item: 'tea', quantity: 3 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ item: 'tea', quantity: 3 });
    const list = (await (await fetch(`${url}/api/orders`)).json()) as unknown[];
    expect(list).toHaveLength(2);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });

  it('sends chat completions through Switchyard to the cloud upstream with the key from the environment', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello from the app' }] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('echo: hello from the app');
    expect(r.headers.get('x-switchyard-upstream')).toBe('openai');
    expect(openai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-example');
  });

  it('routes the pinned local tier to the sidecar address, streaming', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, { model: 'switchyard/local', stream: true, messages: [{ role: 'user', content: 'stream locally' }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(sseEvents(r.text).at(-1)!.data).toBe('[DONE]');
    // Besides the chat call, the local upstream only sees Switchyard's health probes (GET /health, /v1/models).
    expect(local.requests.filter((q) => q.method === 'POST')).toHaveLength(1);
    expect(local.requests.filter((q) => q.method !== 'POST').every((q) => q.method === 'GET' && (q.path === '/health' || q.path === '/v1/models'))).toBe(true);
  });

  it('answers malformed JSON on the LLM routes in the caller\'s protocol, without a stack trace or paths', async () => {
    const openaiErr = await postJson(`${url}/v1/chat/completions`, '{"model": "gpt-4o-mini", "messages": [');
    expect(openaiErr.status).toBe(400);
    expect(openaiErr.headers.get('content-type')).toMatch(/^application\/json/);
    expect(openaiErr.json).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    const anthropicErr = await postJson(`${url}/v1/messages`, '{not json');
    expect(anthropicErr.status).toBe(400);
    expect(anthropicErr.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    for (const r of [openaiErr, anthropicErr]) {
      expect(r.text).not.toMatch(/<html|<pre|at .*\(|node_modules|\/work\/|examples\//i);
    }
    // The service's own route: JSON too, not Express's HTML error page.
    const own = await postJson(`${url}/api/orders`, '{"item": ');
    expect(own.status).toBe(400);
    expect(own.json).toEqual({ error: 'bad request' });
  });

  it('accepts a 1 MB chat body that express.json()\'s 100 KB default would refuse', async () => {
    const big = 'lorem ipsum '.repeat(90_000); // ~1.08 MB
    const r = await postJson(`${url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${big} end` }] });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toMatch(/ end$/);
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('lists the configured and virtual models', async () => {
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-4o', 'local-llama', 'switchyard/auto', 'switchyard/local']));
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const code = await new Promise<number | null>((resolve) => {
      proc.once('exit', (c) => resolve(c));
      proc.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
