/**
 * Identity through the shipped nginx configs with Debian's nginx:
 * - switchyard-front.conf drops client-sent identity headers before
 *   Switchyard sees them (so `auth.mode: header` trusting the nginx peer
 *   cannot be fed a tenant by a client), hides the decide endpoint, and its
 *   X-Forwarded-For/X-Real-IP make admin endpoints need the token;
 * - switchyard-decide.conf with the shared secret filled in: nginx is the
 *   only caller the decide endpoint answers; a direct caller without the
 *   secret is refused and touches no budget; the client's Switchyard key
 *   never reaches the upstream.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNginxDecideHandler } from '../../src/adapters/nginx/index.js';
import { handleNodeRequest } from '../../src/adapters/node/handler.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { newKey } from '../../src/identity/key-format.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { NGINX_SKIP_REASON, repoConf, startNginx, type RunningNginx } from '../fixtures/nginx.js';
import { chat, postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const SECRET = 'nginx-decide-shared-secret-e2e';
const PEPPER = 'nginx-identity-pepper-0123456789';

describe.skipIf(NGINX_SKIP_REASON !== undefined)(`identity through the shipped nginx configs${NGINX_SKIP_REASON ? ` (skipped: ${NGINX_SKIP_REASON})` : ''}`, () => {
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ models: ['local-llama'] });
  });
  afterAll(async () => {
    await fake?.close();
  });

  describe('switchyard-front.conf', () => {
    let gw: RunningServer;
    let ngx: RunningNginx;
    beforeAll(async () => {
      // Header mode trusting the nginx peer: only what nginx sets may name a tenant.
      gw = await startGateway(`
auth: { mode: header, header: { trustedProxies: [127.0.0.1/32] } }
upstreams:
${upstreamYaml('local', fake.url, 'local-llama')}
cache: { enabled: false }
`);
      ngx = await startNginx(repoConf('switchyard-front.conf', [['server 127.0.0.1:8080;', `server 127.0.0.1:${gw.port};`]]));
    });
    afterAll(async () => {
      await ngx?.close();
      await gw?.close();
    });

    it('drops a client-sent tenant header: Switchyard sees no tenant and refuses (401)', async () => {
      const calls = fake.requests.length;
      const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('spoof', { model: 'local-llama' }), { 'x-switchyard-tenant': 'acme', 'x-switchyard-team': 'ops' });
      expect(r.status).toBe(401);
      expect(r.json.error.type).toBe('authentication_error');
      expect(fake.requests.length).toBe(calls);
      // The same header sent straight to Switchyard from the loopback peer would have been trusted.
      expect((await postJson(`${gw.url}/v1/chat/completions`, chat('direct', { model: 'local-llama' }), { 'x-switchyard-tenant': 'acme' })).status).toBe(200);
    });

    it('hides the decide endpoint and refuses admin endpoints without the token', async () => {
      expect((await postJson(`${ngx.url}/switchyard/decide/v1/chat/completions`, chat('x'))).status).toBe(404);
      const stats = await fetch(`${ngx.url}/switchyard/cache/stats`);
      expect(stats.status).toBe(403);
    });
  });

  describe('switchyard-decide.conf with the shared secret', () => {
    let sy: Switchyard;
    let decider: Server;
    let deciderUrl: string;
    let ngx: RunningNginx;
    const k = newKey(PEPPER);
    beforeAll(async () => {
      const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER, NGINX_DECIDE_SECRET: SECRET };
      sy = new Switchyard(
        parseConfig(
          `
auth:
  mode: keys
  keys: { entries: [{ id: ${k.id}, hash: ${k.hash}, tenant: acme, budget: { dailyUsd: 5 } }] }
  nginx: { enabled: true, sharedSecretEnv: NGINX_DECIDE_SECRET }
upstreams:
${upstreamYaml('local', fake.url, 'local-llama')}    local: true
cache: { enabled: false }
`,
          env,
        ),
        { env },
      );
      const decide = createNginxDecideHandler(sy, { env });
      decider = createServer((req, res) => {
        void (async () => {
          if (await decide(req, res)) return;
          if (!(await handleNodeRequest(sy, req, res))) res.writeHead(404).end();
        })();
      });
      await new Promise<void>((r) => decider.listen(0, '127.0.0.1', r));
      deciderUrl = `http://127.0.0.1:${(decider.address() as AddressInfo).port}`;
      ngx = await startNginx(
        repoConf('switchyard-decide.conf', [
          ['server 127.0.0.1:8080;', `server 127.0.0.1:${(decider.address() as AddressInfo).port};`],
          ['server 127.0.0.1:8081;', `server ${new URL(fake.url).host};`],
          ['proxy_set_header x-switchyard-proxy-secret "";\n        # Cache hits', `proxy_set_header x-switchyard-proxy-secret "${SECRET}";\n        # Cache hits`],
        ]),
      );
    });
    afterAll(async () => {
      await ngx?.close();
      decider?.closeAllConnections();
      await new Promise((r) => decider?.close(r));
      await sy?.close();
    });

    it('redirects a keyed request through nginx; the upstream never sees the client’s key or the secret', async () => {
      const r = await postJson(`${ngx.url}/v1/chat/completions`, chat('via nginx', { model: 'local-llama' }), { authorization: `Bearer ${k.key}` });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-switchyard-nginx')).toBe('redirect');
      const seen = fake.requests.at(-1)!;
      expect(JSON.stringify(seen.headers)).not.toContain(k.key);
      expect(JSON.stringify(seen.headers)).not.toContain(SECRET);
      // Settled at decide: nothing stays reserved after nginx took over.
      expect(sy.accounting.inFlight).toBe(0);
    });

    it('refuses a direct caller without the secret (403, nothing charged) and a keyless one through nginx (401)', async () => {
      const records: unknown[] = [];
      sy.events.on('decision', (rec) => records.push(rec));
      const direct = await postJson(`${deciderUrl}/switchyard/decide/v1/chat/completions`, chat('direct', { model: 'local-llama' }), { authorization: `Bearer ${k.key}` });
      expect(direct.status).toBe(403);
      expect(direct.json.error.code).toBe('permission_denied');
      const spoofedSecret = await postJson(`${deciderUrl}/switchyard/decide/v1/chat/completions`, chat('direct', { model: 'local-llama' }), { authorization: `Bearer ${k.key}`, 'x-switchyard-proxy-secret': 'guess' });
      expect(spoofedSecret.status).toBe(403);
      expect(records).toHaveLength(0);
      const keyless = await postJson(`${ngx.url}/v1/chat/completions`, chat('no key', { model: 'local-llama' }));
      expect(keyless.status).toBe(401);
    });
  });
});
