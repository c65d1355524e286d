/**
 * Identity on the Envoy face, where a proxy names the tenant
 * (`auth.mode: header`): the ext_proc processor trusts the tenant header only
 * from its trusted peer (the Envoy talking gRPC to it, by address) holding
 * the shared secret Envoy adds. Driven by the FakeEnvoy gRPC client with
 * Envoy's own protos and a real upstream fake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startExtProcHarness, type ExtProcHarness } from '../fixtures/envoy-setup.js';
import { newKey } from '../../src/identity/key-format.js';
import { envoyYamlFor } from '../fixtures/envoy-model.js';

const IDENTITY_HEADERS = ['x-switchyard-tenant', 'x-switchyard-team', 'x-switchyard-key-id', 'x-switchyard-proxy-secret'];
/**
 * The shipped envoy.yaml with an authenticating filter in front of ext_proc: the
 * identity headers reach the processor as that filter (jwt_authn with
 * claim_to_headers, say) set them. The fake Envoy has no such filter, so the
 * request's own identity headers stand for what it set: the early strip of them
 * is left out, everything else is as shipped.
 */
const authenticatingEnvoy = (upstreams: string[]) =>
  envoyYamlFor(upstreams, (cfg) => {
    for (const ext of cfg.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.early_header_mutation_extensions ?? []) {
      ext.typed_config.mutations = ext.typed_config.mutations.filter((m: { remove?: string }) => !IDENTITY_HEADERS.includes(String(m.remove)));
    }
  });

const SECRET = 'envoy-shared-secret-for-tests';
let oa: FakeProvider;
let ant: FakeProvider;
beforeAll(async () => {
  oa = await startFakeOpenAI();
  ant = await startFakeAnthropic();
});
afterAll(async () => {
  await oa.close();
  await ant.close();
});

const yaml = (trusted: string) => `
upstreams:
  - { name: oa, kind: openai-compatible, baseUrl: ${oa.url}, models: [{ name: m }] }
  - { name: ant, kind: anthropic, baseUrl: ${ant.url}, apiKeyEnv: ENVOY_ID_ANT_KEY, models: [{ name: claude-test }] }
cache: { semantic: { enabled: false } }
auth:
  mode: header
  header: { trustedProxies: ${trusted}, sharedSecretEnv: ENVOY_ID_SECRET }
`;
const env = { ENVOY_ID_SECRET: SECRET, ENVOY_ID_ANT_KEY: 'sk-ant-envoy' };
const body = (q: string) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: q }] });
const tenantOf = (t: string, extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', 'x-switchyard-tenant': t, 'x-switchyard-proxy-secret': SECRET, ...extra });

describe('ext_proc with auth.mode header (Envoy as the trusted peer)', () => {
  let h: ExtProcHarness;
  beforeAll(async () => {
    h = await startExtProcHarness(yaml('[127.0.0.1/32, "::1/128"]'), { oa: new URL(oa.url).origin, ant: new URL(ant.url).origin }, { env, envoyConfig: authenticatingEnvoy(['oa', 'ant']) });
  });
  afterAll(async () => {
    await h.close();
  });

  it('partitions the cache by the tenant Envoy names: globex never gets acme’s answer', async () => {
    const q = body('acme secret plans');
    const a = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: tenantOf('acme'), body: q });
    expect(a.status).toBe(200);
    expect(a.immediate).toBe(false);
    h.switchyard.cache && (await waitForStore(h));
    const g = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: tenantOf('globex'), body: q });
    expect(g.immediate).toBe(false);
    expect(g.headers['x-switchyard-cache']).toBe('miss');
    // What the proxy told Switchyard stays with Switchyard: the secret and the tenant never reach the upstream.
    expect(JSON.stringify(a.upstream!.headers)).not.toContain(SECRET);
    expect(a.upstream!.headers['x-switchyard-tenant']).toBeUndefined();
    const again = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: tenantOf('acme'), body: q });
    expect(again.immediate).toBe(true);
    expect(again.headers['x-switchyard-cache']).toBe('hit-exact');
  });

  it('answers 401 in the caller’s protocol when the secret is missing or wrong, before any upstream call', async () => {
    const calls = oa.requests.length + ant.requests.length;
    const noSecret = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'x-switchyard-tenant': 'acme' }, body: body('x') });
    expect(noSecret.immediate).toBe(true);
    expect(noSecret.status).toBe(401);
    expect(JSON.parse(noSecret.body).error.type).toBe('authentication_error');
    const wrong = await h.envoy.request({
      method: 'POST',
      path: '/v1/messages',
      headers: tenantOf('acme', { 'x-switchyard-proxy-secret': 'guess' }),
      body: JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const noTenant = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'x-switchyard-proxy-secret': SECRET }, body: body('x') });
    expect(noTenant.status).toBe(401);
    expect(oa.requests.length + ant.requests.length).toBe(calls);
  });
});

describe('ext_proc from a peer outside trustedProxies', () => {
  it('refuses the tenant header even with the right secret', async () => {
    const h = await startExtProcHarness(yaml('[10.0.0.0/8]'), { oa: new URL(oa.url).origin }, { env, envoyConfig: authenticatingEnvoy(['oa']) });
    try {
      const r = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: tenantOf('acme'), body: body('x') });
      expect(r.immediate).toBe(true);
      expect(r.status).toBe(401);
    } finally {
      await h.close();
    }
  });
});

describe('the shipped envoy.yaml in front of header mode', () => {
  it('drops a client’s own tenant and secret headers before ext_proc sees them: 401, whatever the client names', async () => {
    const h = await startExtProcHarness(yaml('[127.0.0.1/32, "::1/128"]'), { oa: new URL(oa.url).origin }, { env });
    try {
      const r = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: tenantOf('acme'), body: body('spoof') });
      expect(r.status).toBe(401);
      expect(r.immediate).toBe(true);
      const seen = (r.sent[0]!.request_headers!.headers!.headers ?? []).map((x) => x.key.toLowerCase());
      expect(seen).toContain(':path');
      expect(seen).not.toContain('x-switchyard-tenant');
      expect(seen).not.toContain('x-switchyard-proxy-secret');
    } finally {
      await h.close();
    }
  });
});

describe('ext_proc with auth.mode keys', () => {
  it('resolves the key Envoy forwards, and never passes the client’s key on to the upstream', async () => {
    const pepper = 'envoy-keys-pepper-0123456789';
    const k = newKey(pepper);
    const h = await startExtProcHarness(
      `
upstreams:
  - { name: oa, kind: openai-compatible, baseUrl: ${oa.url}, models: [{ name: m }] }
cache: { enabled: false }
auth: { mode: keys, keys: { entries: [{ id: ${k.id}, hash: ${k.hash}, tenant: acme }] } }
`,
      { oa: new URL(oa.url).origin },
      { env: { SWITCHYARD_KEY_PEPPER: pepper } },
    );
    try {
      const creds: Record<string, string>[] = [{ authorization: `Bearer ${k.key}` }, { 'x-api-key': k.key }, { 'api-key': k.key }];
      for (const cred of creds) {
        const r = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', ...cred }, body: body('keyed') });
        expect(r.status).toBe(200);
        expect(r.immediate).toBe(false);
        expect(JSON.stringify(r.upstream!.headers)).not.toContain(k.key);
        expect(JSON.stringify(oa.requests.at(-1)!.headers)).not.toContain(k.key);
      }
      const bad = await h.envoy.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', authorization: 'Bearer sy-unknown00.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }, body: body('keyed') });
      expect(bad.status).toBe(401);
      expect(bad.immediate).toBe(true);
    } finally {
      await h.close();
    }
  });
});

async function waitForStore(h: ExtProcHarness): Promise<void> {
  for (let i = 0; i < 1500 && h.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
}
