/**
 * Variant (b), nginx/switchyard-decide.conf with Debian's nginx: nginx is the
 * data plane and Switchyard only decides (X-Accel-Redirect), falling back to
 * proxying itself when nginx cannot carry the decision out. Also pins down
 * why the other nginx mechanisms do not work for POST bodies (auth_request,
 * a URI redirect without proxy_method, mirror), as nginx/README.md says.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNginxDecideHandler } from '../../src/adapters/nginx/index.js';
import { handleNodeRequest } from '../../src/adapters/node/handler.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { NGINX_SKIP_REASON, repoConf, startNginx, type RunningNginx } from '../fixtures/nginx.js';
import { postJson, sseEvents, upstreamYaml } from '../helpers/gateway.js';

const hostPort = (url: string) => new URL(url).host;

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

describe.skipIf(NGINX_SKIP_REASON !== undefined)(`nginx as the data plane, Switchyard deciding${NGINX_SKIP_REASON ? ` (skipped: ${NGINX_SKIP_REASON})` : ''}`, () => {
  let llama: FakeProvider; // stands in for the llama.cpp sidecar (sidecar-nginx.test.ts uses the real one)
  let cloud: FakeProvider;
  let sy: Switchyard;
  let decider: Awaited<ReturnType<typeof listen>>;
  let ngx: RunningNginx;
  let decideCalls = 0;

  beforeAll(async () => {
    llama = await startFakeOpenAI({ models: ['local-llama'] });
    cloud = await startFakeOpenAI();
    sy = new Switchyard(
      parseConfig(`
auth: { nginx: { enabled: true } }
upstreams:
${upstreamYaml('local', llama.url, 'local-llama')}    local: true
${upstreamYaml('cloud', cloud.url, 'gpt-4o-mini')}
tiers:
  - { name: local, models: [local-llama] }
  - { name: small, models: [gpt-4o-mini] }
cache: { semantic: { enabled: false } }
`, process.env),
    );
    const decide = createNginxDecideHandler(sy, { upstreams: ['local'] });
    decider = await listen((req, res) => {
      if (req.url?.startsWith('/switchyard/decide/')) decideCalls++;
      void (async () => {
        if (await decide(req, res)) return;
        if (!(await handleNodeRequest(sy, req, res))) res.writeHead(404).end();
      })();
    });
    ngx = await startNginx(
      repoConf('switchyard-decide.conf', [
        ['server 127.0.0.1:8080;', `server 127.0.0.1:${decider.port};`],
        ['server 127.0.0.1:8081;', `server ${hostPort(llama.url)};`],
      ]),
    );
  });
  afterAll(async () => {
    await ngx?.close();
    await decider?.close();
    await sy?.close();
    await llama?.close();
    await cloud?.close();
  });
  beforeEach(() => {
    llama.setBehavior({ kind: 'ok' });
    cloud.setBehavior({ kind: 'ok' });
  });

  const ask = (model: string, text: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model, messages: [{ role: 'user', content: text }], ...extra });

  it('redirects: Switchyard decides, nginx sends the client body byte for byte to the chosen upstream', async () => {
    const body = ask('local-llama', 'redirect me');
    const calls = decideCalls;
    const before = llama.requests.length;
    const r = await postJson(`${ngx.url}/v1/chat/completions`, body);
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('echo: redirect me');
    expect(decideCalls).toBe(calls + 1);
    expect(llama.requests.length).toBe(before + 1);
    const got = llama.requests.at(-1)!;
    expect(got.method).toBe('POST');
    expect(got.path).toBe('/v1/chat/completions');
    expect(got.rawBody).toBe(body);
    expect(r.headers.get('x-switchyard-nginx')).toBe('redirect');
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-switchyard-model')).toBe('local-llama');
    expect(r.headers.get('x-switchyard-route')).toBe('explicit%20model');
    expect(r.headers.get('x-switchyard-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('redirects switchyard/auto to the model-agnostic local tier without rewriting the body', async () => {
    const body = ask('switchyard/auto', 'what is 2+2?');
    const r = await postJson(`${ngx.url}/v1/chat/completions`, body);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-nginx')).toBe('redirect');
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-switchyard-tier')).toBe('local');
    expect(llama.requests.at(-1)!.rawBody).toBe(body);
  });

  it('streams through the redirect chunk by chunk (proxy_buffering off in the internal location)', async () => {
    const delay = 250;
    llama.setBehavior({ kind: 'ok', answer: 'a b c d e f', chunkDelayMs: delay });
    const t0 = performance.now();
    const res = await fetch(`${ngx.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ask('local-llama', 'stream please', { stream: true }) });
    expect(res.headers.get('x-switchyard-nginx')).toBe('redirect');
    const arrivals: { t: number; text: string }[] = [];
    const dec = new TextDecoder();
    for await (const part of res.body!) arrivals.push({ t: performance.now() - t0, text: dec.decode(part as Uint8Array, { stream: true }) });
    const first = arrivals.find((a) => a.text.includes('"content":"a'))!;
    expect(sseEvents(arrivals.map((a) => a.text).join('')).at(-1)!.data).toBe('[DONE]');
    expect(arrivals.at(-1)!.t - first.t).toBeGreaterThan(4 * delay);
  });

  it('proxies through Switchyard when nginx has no block for the chosen upstream; the answer is then cached and the next identical request is a hit', async () => {
    const body = ask('gpt-4o-mini', 'cloud question');
    const before = cloud.requests.length;
    const r = await postJson(`${ngx.url}/v1/chat/completions`, body);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-nginx')).toBe('proxied; reason=no-nginx-upstream');
    expect(r.headers.get('x-switchyard-upstream')).toBe('cloud');
    expect(cloud.requests.length).toBe(before + 1);
    const again = await postJson(`${ngx.url}/v1/chat/completions`, body);
    expect(again.headers.get('x-switchyard-cache')).toBe('hit-exact');
    expect(again.headers.get('x-switchyard-nginx')).toBe('respond');
    expect(again.json.choices[0].message.content).toBe('echo: cloud question');
    expect(cloud.requests.length).toBe(before + 1);
  });

  it('answers rejections and listings itself, through nginx', async () => {
    const bad = await postJson(`${ngx.url}/v1/chat/completions`, ask('no-such-model', 'x'));
    expect(bad.status).toBe(404);
    expect(bad.json.error.code).toBe('model_not_found');
    expect(bad.headers.get('x-switchyard-nginx')).toBe('respond');
    const models = (await (await fetch(`${ngx.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain('local-llama');
  });

  it('keeps the internal location internal', async () => {
    const r = await postJson(`${ngx.url}/_switchyard/upstream/local/v1/chat/completions`, ask('local-llama', 'sneaky'));
    expect(r.status).toBe(404);
  });
});

describe.skipIf(NGINX_SKIP_REASON !== undefined)('nginx mechanisms that cannot carry a POST body to the decision (pinned, see nginx/README.md)', () => {
  interface Seen {
    method: string;
    url: string;
    contentLength: string | undefined;
    bytes: number;
  }
  let seen: Seen[] = [];
  let recorder: Awaited<ReturnType<typeof listen>>;
  let ngx: RunningNginx;

  beforeAll(async () => {
    // Records what arrives; answers as the path says once the body has ended.
    recorder = await listen((req, res) => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', contentLength: req.headers['content-length'], bytes: 0 };
      seen.push(s);
      req.on('data', (c: Buffer) => (s.bytes += c.length));
      req.on('end', () => {
        if (s.url.startsWith('/decide-uri')) res.writeHead(200, { 'x-accel-redirect': '/_to/upstream/v1/chat/completions' }).end();
        else if (s.url.startsWith('/decide-named')) res.writeHead(200, { 'x-accel-redirect': '@chosen', 'x-choice': 'local' }).end();
        else if (s.url.startsWith('/mirror')) res.writeHead(403).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: true, method: s.method }));
      });
    });
    const at = `127.0.0.1:${recorder.port}`;
    ngx = await startNginx(`
server {
    listen 8000;
    # auth_request: the subrequest is made before nginx reads the body.
    location /auth-body/ { auth_request /_auth_body; proxy_pass http://${at}/upstream/; }
    location = /_auth_body { internal; proxy_pass http://${at}/auth; proxy_pass_request_body on; proxy_read_timeout 1s; }
    location /auth-nobody/ { auth_request /_auth_nobody; proxy_pass http://${at}/upstream/; }
    location = /_auth_nobody { internal; proxy_pass http://${at}/auth; proxy_pass_request_body off; proxy_set_header Content-Length ""; }
    # X-Accel-Redirect to a URI without proxy_method POST.
    location /uri/ { proxy_pass http://${at}/decide-uri/; }
    location /_to/ { internal; proxy_pass http://${at}/; }
    # X-Accel-Redirect to a named location: POST and body survive, the decision does not.
    location /named/ { proxy_pass http://${at}/decide-named/; }
    location @chosen { proxy_set_header x-choice $upstream_http_x_choice; proxy_pass http://${at}; add_header x-choice-seen "[$upstream_http_x_choice]" always; }
    # mirror: the copy carries the body, but its answer is thrown away.
    location /mirror-main/ { mirror /_mirror; mirror_request_body on; proxy_pass http://${at}/upstream/; }
    location = /_mirror { internal; proxy_pass http://${at}/mirror; }
}
`);
  });
  afterAll(async () => {
    await ngx?.close();
    await recorder?.close();
  });
  beforeEach(() => {
    seen = [];
  });
  const body = JSON.stringify({ model: 'local-llama', messages: [{ role: 'user', content: 'hi' }] });

  it('auth_request with proxy_pass_request_body on: the decider gets a Content-Length but never the body; nginx times out (500)', async () => {
    const r = await postJson(`${ngx.url}/auth-body/x`, body);
    expect(r.status).toBe(500);
    const auth = seen.find((s) => s.url === '/auth')!;
    expect(Number(auth.contentLength)).toBe(body.length);
    expect(auth.bytes).toBe(0);
    expect(ngx.errorLog()).toContain('auth request unexpected status: 504');
  });

  it('auth_request with the body off works, but decides on headers alone', async () => {
    const r = await postJson(`${ngx.url}/auth-nobody/x`, body);
    expect(r.status).toBe(200);
    const auth = seen.find((s) => s.url === '/auth')!;
    expect(auth.bytes).toBe(0);
    expect(seen.find((s) => s.url.startsWith('/upstream'))!.bytes).toBe(body.length);
  });

  it('X-Accel-Redirect to a URI turns the POST into a GET unless the target location sets proxy_method POST', async () => {
    const r = await postJson(`${ngx.url}/uri/v1/chat/completions`, body);
    expect(r.json).toEqual({ upstream: true, method: 'GET' });
    const up = seen.find((s) => s.url.startsWith('/upstream'))!;
    expect(up.bytes).toBe(body.length); // the body is still sent, with the wrong method
  });

  it('X-Accel-Redirect to a named location keeps POST and the body, but the decide answer\'s headers are gone: nothing names the upstream', async () => {
    const r = await postJson(`${ngx.url}/named/v1/chat/completions`, body);
    expect(r.json).toEqual({ upstream: true, method: 'POST' });
    expect(seen.find((s) => s.url.startsWith('/named/'))!.bytes).toBe(body.length); // the client's URI, unchanged
    expect(r.headers.get('x-choice-seen')).toBe('[]');
  });

  it('mirror carries the body to a copy whose answer cannot change where the request goes', async () => {
    const r = await postJson(`${ngx.url}/mirror-main/x`, body);
    expect(r.status).toBe(200); // the mirror answered 403; nobody listened
    await new Promise((res) => setTimeout(res, 100));
    expect(seen.find((s) => s.url === '/mirror')!.bytes).toBe(body.length);
  });
});
