/**
 * The whole local path, as deployed: a client → Debian's nginx →
 * Switchyard → `switchyard sidecar` (a real process from dist/, node-llama-cpp
 * running a tiny random-weight GGUF model the test generates) and back.
 * Variant (a) (nginx in front of Switchyard) and variant (b) (nginx as the
 * data plane after Switchyard's X-Accel-Redirect). Also prints the measured
 * latencies of the tiny model, direct and through the chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNginxDecideHandler } from '../../src/adapters/nginx/index.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { tinyLlamaGguf } from '../fixtures/gguf.js';
import { need, skipNote } from '../fixtures/prerequisites.js';
import { NGINX_SKIP_REASON, repoConf, startNginx, type RunningNginx } from '../fixtures/nginx.js';
import { postJson, sseEvents, startGateway, upstreamYaml } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');

/** Starts `switchyard sidecar` from dist/ and resolves its URL once it logs that it is ready. */
function startSidecarProcess(model: string): Promise<{ proc: ChildProcess; url: string; logs: () => string }> {
  let logs = '';
  const proc = spawn(process.execPath, [MAIN, 'sidecar', '--model', model, '--port', '0', '--threads', '1', '--context-size', '1024', '--alias', 'local-llama'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      logs += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"sidecar ready"/.exec(logs);
      if (m) resolve({ proc, url: m[1]!, logs: () => logs });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (c) => reject(new Error(`sidecar exited with ${c}: ${logs}`)));
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const SKIP = NGINX_SKIP_REASON ?? need('node-llama-cpp');

describe.skipIf(SKIP !== undefined)(`nginx → Switchyard → llama.cpp sidecar (real GGUF)${skipNote(SKIP)}`, () => {
  let sidecar: Awaited<ReturnType<typeof startSidecarProcess>>;
  let cloud: FakeProvider;
  let gw: RunningServer;
  let front: RunningNginx;
  let sy: Switchyard;
  let decider: Server;
  let dataPlane: RunningNginx;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
    sidecar = await startSidecarProcess(tinyLlamaGguf());
    cloud = await startFakeOpenAI();
    // Complexity routing: simple questions to the local tier, the rest to the cloud one; the
    // router also polls the sidecar's /health for its queue length (the load signal).
    const yaml = `
upstreams:
${upstreamYaml('local', `${sidecar.url}/v1`, 'local-llama', { firstTokenMs: 10000, idleMs: 10000 })}    local: true
${upstreamYaml('cloud', cloud.url, 'gpt-4o-mini')}
tiers:
  - { name: local, models: [local-llama] }
  - { name: small, models: [gpt-4o-mini] }
routing:
  ladder: [local, small]
  thresholds: [0.25]
  agenticTier: null
  load: { maxQueue: 8, sidecars: [{ upstream: local, intervalMs: 500 }] }
cache: { enabled: false }
`;
    gw = await startGateway(yaml);
    front = await startNginx(repoConf('switchyard-front.conf', [['server 127.0.0.1:8080;', `server 127.0.0.1:${gw.port};`]]));

    sy = new Switchyard(parseConfig(`${yaml}auth: { nginx: { enabled: true } }\n`, process.env));
    const decide = createNginxDecideHandler(sy, { upstreams: ['local'] });
    decider = createServer((req, res) => void decide(req, res).then((h) => h || res.writeHead(404).end()));
    await new Promise<void>((r) => decider.listen(0, '127.0.0.1', r));
    dataPlane = await startNginx(
      repoConf('switchyard-decide.conf', [
        ['server 127.0.0.1:8080;', `server 127.0.0.1:${(decider.address() as AddressInfo).port};`],
        ['server 127.0.0.1:8081;', `server ${new URL(sidecar.url).host};`],
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    await dataPlane?.close();
    await front?.close();
    await new Promise<void>((r) => (decider ? decider.close(() => r()) : r()));
    await sy?.close();
    await gw?.close();
    await cloud?.close();
    const p = sidecar?.proc;
    if (p && p.exitCode === null) {
      await new Promise((r) => {
        p.once('exit', r);
        p.kill('SIGTERM');
      });
    }
  });

  const question = (model: string, extra: Record<string, unknown> = {}) => ({
    model,
    messages: [{ role: 'user', content: 'What is the capital of France?' }],
    max_tokens: 16,
    ...extra,
  });

  it('routes a simple question sent through nginx to the sidecar (pinned local tier), which answers from the GGUF model', async () => {
    const r = await postJson(`${front.url}/v1/chat/completions`, question('switchyard/local'));
    expect(r.status).toBe(200);
    expect(r.headers.get('server')).toMatch(/^nginx/);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-switchyard-tier')).toBe('local');
    expect(r.json.choices[0].message.content.length).toBeGreaterThan(0);
    expect(r.json.usage.completion_tokens).toBe(16);
    expect(cloud.requests).toHaveLength(0);
  });

  it('routes a simple question sent as switchyard/auto to the local tier by its complexity', async () => {
    const r = await postJson(`${front.url}/v1/chat/completions`, question('switchyard/auto'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-switchyard-tier')).toBe('local');
    expect(r.headers.get('x-switchyard-route')).toMatch(/complexity/);
    expect(r.json.choices[0].message.content.length).toBeGreaterThan(0);
  });

  it("feeds the router's load signal from the sidecar's /health queue", async () => {
    const end = Date.now() + 3000;
    while (gw.switchyard.router.load.queueLength('local') === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(gw.switchyard.router.load.queueLength('local')).toBe(0);
  });

  it('streams the explicit local model through nginx and Switchyard as SSE', async () => {
    const r = await postJson(`${front.url}/v1/chat/completions`, question('local-llama', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    const events = sseEvents(r.text);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const deltas = events.slice(0, -1).map((e) => JSON.parse(e.data)).filter((c) => c.choices?.[0]?.delta?.content);
    expect(deltas.length).toBeGreaterThan(1);
  });

  it('variant (b): nginx carries the request to the sidecar itself after Switchyard decides', async () => {
    const r = await postJson(`${dataPlane.url}/v1/chat/completions`, question('switchyard/auto'));
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-nginx')).toBe('redirect');
    expect(r.headers.get('x-switchyard-upstream')).toBe('local');
    expect(r.headers.get('x-queue-length')).toBe('0'); // the sidecar's own header: nginx reached it directly
    expect(r.json.usage.completion_tokens).toBe(16);
  });

  it('measures the tiny model: direct to the sidecar vs through nginx and Switchyard', async () => {
    const n = 15;
    const timed = async (url: string, body: unknown) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const r = await postJson(url, body);
        expect(r.status).toBe(200);
        out.push(performance.now() - t);
      }
      return median(out);
    };
    const direct = await timed(`${sidecar.url}/v1/chat/completions`, question('local-llama'));
    const chain = await timed(`${front.url}/v1/chat/completions`, question('switchyard/local'));
    const redirect = await timed(`${dataPlane.url}/v1/chat/completions`, question('switchyard/local'));
    console.log(
      `tiny GGUF (64-dim, 2 layers, 1 thread), 16 tokens, median of ${n}: ` +
        `sidecar direct ${direct.toFixed(1)} ms; nginx→Switchyard→sidecar ${chain.toFixed(1)} ms; ` +
        `nginx(decide+redirect)→sidecar ${redirect.toFixed(1)} ms`,
    );
    expect(direct).toBeLessThan(2000);
    expect(chain).toBeLessThan(2000);
  });
});
