/**
 * Nobody can act as another tenant, through `switchyard serve` and through
 * the Express face, with real HTTP, the official SDKs and real Redis:
 * spoofed tenant headers, api-key and Basic users, virtual keys that are
 * missing/unknown/expired/disabled (401 in the caller's protocol), repeated
 * or oversized auth headers, disallowed models (403), and keys that never
 * reach a log.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../src/identity/key-format.js';
import { parseConfig } from '../../src/config/load.js';
import { RedisKeyStore } from '../../src/identity/key-store-redis.js';
import { createLogger } from '../../src/observability/logger.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, rawRequest, startFace, type RunningFace } from '../helpers/faces.js';
import { chat, midMinuteClock, postJson, quietLogger, upstreamYaml } from '../helpers/gateway.js';

const PEPPER = `pepper-${randomBytes(12).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER, ID_TEST_ANTHROPIC_KEY: 'sk-ant-identity-test' };
const alice = newKey(PEPPER);
const bob = newKey(PEPPER);
const expired = newKey(PEPPER);
const disabled = newKey(PEPPER);
const narrow = newKey(PEPPER);

let oa: FakeProvider;
let ant: FakeProvider;
let face: RunningFace | undefined;
const redis = createClient({ url: 'redis://127.0.0.1:6379' });

beforeAll(async () => {
  oa = await startFakeOpenAI();
  ant = await startFakeAnthropic();
  await redis.connect();
});
afterEach(async () => {
  await face?.close();
  face = undefined;
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `sy-idtest-${RUN}:*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await oa.close();
  await ant.close();
});

const upstreams = () => `
upstreams:
${upstreamYaml('oa', oa.url, [{ name: 'primary-model' }, { name: 'mini' }], { retries: 0 })}
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', retries: 0, apiKeyEnv: 'ID_TEST_ANTHROPIC_KEY' })}
tiers:
  - { name: small, models: [mini] }
`;

const entry = (k: { id: string; hash: string }, tenant: string, extra = '') => `      - { id: ${k.id}, hash: ${k.hash}, tenant: ${tenant}${extra} }`;
const keysYaml = (cache = '{ semantic: { enabled: false } }') => `${upstreams()}
cache: ${cache}
auth:
  mode: keys
  keys:
    entries:
${entry(alice, 'acme')}
${entry(bob, 'globex')}
${entry(expired, 'acme', ', expiresAt: "2020-01-01T00:00:00Z"')}
${entry(disabled, 'acme', ', disabled: true')}
${entry(narrow, 'acme', ', models: [mini, switchyard/small], tiers: [small]')}
`;

describe.each(FACES)('auth.mode none through %s', (name) => {
  it('ignores a spoofed tenant header: another credential naming acme reads nothing of acme (memory cache)', async () => {
    face = await startFace(name, `${upstreams()}\ncache: { semantic: { enabled: false } }\n`, env);
    const url = `${face.url}/v1/chat/completions`;
    const first = await postJson(url, chat('acme roadmap?'), { authorization: 'Bearer acme-real-key', 'x-switchyard-tenant': 'acme' });
    expect(first.headers.get('x-switchyard-cache')).toBe('miss');
    const spoof = await postJson(url, chat('acme roadmap?'), { authorization: 'Bearer mallory', 'x-switchyard-tenant': 'acme' });
    expect(spoof.headers.get('x-switchyard-cache')).toBe('miss');
    const noKey = await postJson(url, chat('acme roadmap?'), { 'x-switchyard-tenant': 'acme' });
    expect(noKey.headers.get('x-switchyard-cache')).toBe('miss');
    const again = await postJson(url, chat('acme roadmap?'), { authorization: 'Bearer acme-real-key' });
    expect(again.headers.get('x-switchyard-cache')).toBe('hit-exact');
  });

  it('keeps two api-key (Azure-style) users and two Basic users apart, and anonymous callers together', async () => {
    face = await startFace(name, `${upstreams()}\ncache: { semantic: { enabled: false } }\n`, env);
    const url = `${face.url}/v1/chat/completions`;
    const basic = (u: string) => ({ authorization: `Basic ${Buffer.from(`${u}:pw`).toString('base64')}` });
    for (const [a, b] of [
      [{ 'api-key': 'azure-user-1' }, { 'api-key': 'azure-user-2' }],
      [basic('alice'), basic('bob')],
    ] as const) {
      const q = chat(`shared question ${JSON.stringify(a)}`);
      expect((await postJson(url, q, a)).headers.get('x-switchyard-cache')).toBe('miss');
      expect((await postJson(url, q, b)).headers.get('x-switchyard-cache')).toBe('miss');
      expect((await postJson(url, q, a)).headers.get('x-switchyard-cache')).toBe('hit-exact');
    }
    const q = chat('anonymous question');
    await postJson(url, q);
    expect((await postJson(url, q)).headers.get('x-switchyard-cache')).toBe('hit-exact');
  });
});

describe.each(FACES)('auth.mode header through %s', (name) => {
  it('takes the tenant only with the proxy’s secret; without it, a client naming a tenant gets 401', async () => {
    const yaml = `${upstreams()}\ncache: { semantic: { enabled: false } }\nauth: { mode: header, header: { trustedProxies: [127.0.0.1/32, "::1/128"], sharedSecretEnv: ID_PROXY_SECRET } }\n`;
    face = await startFace(name, yaml, { ...env, ID_PROXY_SECRET: 'proxy-secret-xyz' });
    const url = `${face.url}/v1/chat/completions`;
    const proxied = (t: string) => ({ 'x-switchyard-tenant': t, 'x-switchyard-proxy-secret': 'proxy-secret-xyz' });
    expect((await postJson(url, chat('header q'), proxied('acme'))).headers.get('x-switchyard-cache')).toBe('miss');
    const spoof = await postJson(url, chat('header q'), { 'x-switchyard-tenant': 'acme' });
    expect(spoof.status).toBe(401);
    expect(spoof.json.error.type).toBe('authentication_error');
    expect((await postJson(url, chat('header q'), { 'x-switchyard-tenant': 'acme', 'x-switchyard-proxy-secret': 'proxy-secret-xy' })).status).toBe(401);
    for (let i = 0; i < 1500 && face.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await postJson(url, chat('header q'), proxied('globex'))).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await postJson(url, chat('header q'), proxied('acme'))).headers.get('x-switchyard-cache')).toBe('hit-exact');
  });
});

describe('the semantic cache', () => {
  it('never serves a paraphrase across tenants (keys mode, spoofed tenant header)', async () => {
    face = await startFace('serve', keysYaml('{ semantic: { enabled: true } }'), env);
    const url = `${face.url}/v1/chat/completions`;
    await postJson(url, chat('How do I reverse a list in Python?'), { authorization: `Bearer ${alice.key}` });
    for (let i = 0; i < 1500 && face.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const other = await postJson(url, chat('How can I reverse a list in Python?'), { authorization: `Bearer ${bob.key}`, 'x-switchyard-tenant': 'acme' });
    expect(other.headers.get('x-switchyard-cache')).toBe('miss');
    const same = await postJson(url, chat('How can I reverse a list in Python?'), { authorization: `Bearer ${alice.key}` });
    expect(same.headers.get('x-switchyard-cache')).toBe('hit-semantic');
  }, 90_000); // loads the real embedder
});

describe('auth.mode none with the cache in Redis', () => {
  it('gives a spoofed tenant header no hit across two gateways sharing the store', async () => {
    const cache = `{ store: redis, redis: { keyPrefix: "sy-idtest-${RUN}:cache:" }, semantic: { enabled: false } }`;
    const a = await startFace('serve', `${upstreams()}\ncache: ${cache}\n`, env);
    const b = await startFace('express', `${upstreams()}\ncache: ${cache}\n`, env);
    try {
      const q = chat(`redis spoof ${RUN}`);
      await postJson(`${a.url}/v1/chat/completions`, q, { authorization: 'Bearer victim', 'x-switchyard-tenant': 'victim' });
      for (let i = 0; i < 1500 && a.switchyard.cache!.stats().stores < 1; i++) await new Promise((r) => setTimeout(r, 10));
      const spoof = await postJson(`${b.url}/v1/chat/completions`, q, { authorization: 'Bearer attacker', 'x-switchyard-tenant': 'victim' });
      expect(spoof.headers.get('x-switchyard-cache')).toBe('miss');
      const victim = await postJson(`${b.url}/v1/chat/completions`, q, { authorization: 'Bearer victim' });
      expect(victim.headers.get('x-switchyard-cache')).toBe('hit-exact');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.each(FACES)('auth.mode keys through %s', (name) => {
  it('serves a valid key in both protocols (official SDKs), whatever tenant header rides along', async () => {
    face = await startFace(name, keysYaml(), env);
    const openai = new OpenAI({ baseURL: `${face.url}/v1`, apiKey: alice.key, maxRetries: 0, defaultHeaders: { 'x-switchyard-tenant': 'globex' } });
    const r = await openai.chat.completions.create({ model: 'primary-model', messages: [{ role: 'user', content: 'hello keys' }] });
    expect(r.choices[0]?.message.content).toBe('echo: hello keys');
    const anthropic = new Anthropic({ baseURL: face.url, apiKey: alice.key, maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'claude-test', max_tokens: 20, messages: [{ role: 'user', content: 'hello' }] });
    expect(m.type).toBe('message');
    // The spoofed header changed nothing: bob (globex) does not get alice's entry, alice does.
    const url = `${face.url}/v1/chat/completions`;
    expect((await postJson(url, chat('hello keys'), { authorization: `Bearer ${bob.key}`, 'x-switchyard-tenant': 'acme' })).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await postJson(url, chat('hello keys'), { authorization: `Bearer ${alice.key}` })).headers.get('x-switchyard-cache')).toBe('hit-exact');
  });

  it('answers missing, unknown, expired and disabled keys with 401 in OpenAI and Anthropic error JSON, calling no upstream', async () => {
    face = await startFace(name, keysYaml(), env);
    const calls = oa.requests.length + ant.requests.length;
    const unknown = newKey(PEPPER).key;
    for (const key of [undefined, 'sk-plain-openai-key', unknown, expired.key, disabled.key, `sy-${alice.id}.${'x'.repeat(43)}`]) {
      const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
      const o = await postJson(`${face.url}/v1/chat/completions`, chat('hi'), headers);
      expect(o.status).toBe(401);
      expect(o.json.error).toMatchObject({ type: 'authentication_error', code: 'authentication_error' });
      const a = await postJson(`${face.url}/v1/messages`, { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, key ? { 'x-api-key': key } : {});
      expect(a.status).toBe(401);
      expect(a.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      if (key) expect(o.text + a.text).not.toContain(key.split('.').pop()!);
    }
    expect((await fetch(`${face.url}/v1/models`)).status).toBe(401);
    // The SDKs see their own error classes.
    await expect(new OpenAI({ baseURL: `${face.url}/v1`, apiKey: expired.key, maxRetries: 0 }).chat.completions.create({ model: 'primary-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(new Anthropic({ baseURL: face.url, apiKey: disabled.key, maxRetries: 0 }).messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    expect(oa.requests.length + ant.requests.length).toBe(calls);
  });

  it('refuses repeated and conflicting auth headers (400) and an oversized key (431), in the caller protocol', async () => {
    face = await startFace(name, keysYaml(), env);
    const body = JSON.stringify(chat('dup'));
    const dup = await rawRequest(face.url, 'POST', '/v1/chat/completions', [['Authorization', `Bearer ${alice.key}`], ['Authorization', `Bearer ${bob.key}`]], body);
    expect(dup.status).toBe(400);
    expect(dup.json.error).toMatchObject({ code: 'invalid_credentials' });
    const twoNames = await rawRequest(face.url, 'POST', '/v1/messages', [['x-api-key', alice.key], ['Authorization', `Bearer ${bob.key}`]], JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }));
    expect(twoNames.status).toBe(400);
    expect(twoNames.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const big = await rawRequest(face.url, 'POST', '/v1/chat/completions', [['x-api-key', 'k'.repeat(5000)]], body);
    expect(big.status).toBe(431);
    expect(big.json.error.code).toBe('header_too_large');
  });

  it('refuses a model (or a route) outside the key’s allow-list with 403', async () => {
    face = await startFace(name, keysYaml(), env);
    const openai = new OpenAI({ baseURL: `${face.url}/v1`, apiKey: narrow.key, maxRetries: 0 });
    await expect(openai.chat.completions.create({ model: 'primary-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    const ok = await openai.chat.completions.create({ model: 'mini', messages: [{ role: 'user', content: 'x' }] });
    expect(ok.model).toBeDefined();
    const tier = await postJson(`${face.url}/v1/chat/completions`, chat('x', { model: 'switchyard/small' }), { authorization: `Bearer ${narrow.key}` });
    expect(tier.status).toBe(200);
    expect(tier.headers.get('x-switchyard-model')).toBe('mini');
  });

  it('serves a tier-restricted key’s switchyard/auto from its own tier, and refuses a named model outside it', async () => {
    const tiered = newKey(PEPPER);
    const yaml = keysYaml().replace('tiers:\n  - { name: small, models: [mini] }', 'tiers:\n  - { name: big, models: [primary-model] }\n  - { name: small, models: [mini] }') + `${entry(tiered, 'acme', ', tiers: [small]')}\n`;
    face = await startFace(name, yaml, env);
    const url = `${face.url}/v1/chat/completions`;
    const auto = await postJson(url, chat('x', { model: 'switchyard/auto' }), { authorization: `Bearer ${tiered.key}` });
    expect(auto.status).toBe(200);
    expect(auto.headers.get('x-switchyard-model')).toBe('mini');
    expect(auto.headers.get('x-switchyard-route')).toContain('key allows mini');
    const named = await postJson(url, chat('x', { model: 'primary-model' }), { authorization: `Bearer ${tiered.key}` });
    expect(named.status).toBe(403);
    expect(named.json.error.code).toBe('model_not_allowed');
  });
});

describe('reloading auth', () => {
  it('takes a new key list at once, and keeps the last good one when the new auth cannot start', async () => {
    const fresh = newKey(PEPPER);
    face = await startFace('serve', keysYaml(), env);
    const url = `${face.url}/v1/chat/completions`;
    expect((await postJson(url, chat('reload'), { authorization: `Bearer ${fresh.key}` })).status).toBe(401);
    face.switchyard.reload(parseConfig(`${keysYaml()}${entry(fresh, 'newco')}\n`, env));
    expect((await postJson(url, chat('reload'), { authorization: `Bearer ${fresh.key}` })).status).toBe(200);
    // Header mode needing a secret that is not set: refused, the keys config stays.
    const broken = parseConfig(`${upstreams()}\nauth: { mode: header, header: { sharedSecretEnv: UNSET_SECRET_VAR } }\n`, env);
    expect(() => face!.switchyard.reload(broken)).toThrow(/UNSET_SECRET_VAR/);
    expect((await postJson(url, chat('reload'), { authorization: `Bearer ${fresh.key}` })).status).toBe(200);
    expect(face.switchyard.config.auth.mode).toBe('keys');
  });
});

describe('a key’s own rate limit', () => {
  it('holds whatever tenant or key-id headers are sent, and leaves other keys alone', async () => {
    const limited = newKey(PEPPER);
    const yaml = `${upstreams()}\ncache: { enabled: false }\nauth:\n  mode: keys\n  keys:\n    entries:\n${entry(limited, 'acme', ', rateLimit: { requestsPerMinute: 3 }')}\n${entry(bob, 'globex')}\n`;
    // A clock frozen mid-minute: the burst is counted in one rate-limit window however slow the machine.
    face = await startFace('serve', yaml, env, quietLogger, { clock: midMinuteClock() });
    const url = `${face.url}/v1/chat/completions`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postJson(url, chat(`rl ${i}`), { authorization: `Bearer ${limited.key}`, 'x-switchyard-tenant': `t${i}`, 'x-switchyard-key-id': `k${i}` })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 429 && r.json.error.code === 'rate_limited')).toHaveLength(5);
    expect((await postJson(url, chat('other key'), { authorization: `Bearer ${bob.key}` })).status).toBe(200);
  });
});

describe('auth.mode keys with the keys in Redis', () => {
  it('accepts a key stored in Redis and refuses it as soon as it is revoked (cacheTtlMs 0)', async () => {
    const prefix = `sy-idtest-${RUN}:keys:`;
    const store = new RedisKeyStore({ url: 'redis://127.0.0.1:6379', keyPrefix: prefix, commandTimeoutMs: 500 });
    const k = newKey(PEPPER);
    await store.put({ id: k.id, hash: k.hash, tenant: 'redis-tenant', disabled: false });
    try {
      face = await startFace('serve', `${upstreams()}\ncache: { semantic: { enabled: false } }\nauth: { mode: keys, keys: { store: redis, cacheTtlMs: 0, redis: { keyPrefix: "${prefix}" } } }\n`, env);
      const url = `${face.url}/v1/chat/completions`;
      const ok = await postJson(url, chat('from redis'), { authorization: `Bearer ${k.key}`, 'x-switchyard-tenant': 'acme' });
      expect(ok.status).toBe(200);
      // The record sits in its own hash slot: `{<id>}`.
      expect(await redis.exists(`${prefix}{${k.id}}`)).toBe(1);
      expect(await redis.get(`${prefix}{${k.id}}`)).not.toContain(k.key);
      await store.delete(k.id);
      expect((await postJson(url, chat('from redis'), { authorization: `Bearer ${k.key}` })).status).toBe(401);
    } finally {
      await store.close();
    }
  });

  it('answers 503 in the caller protocol, not a stall, when the key store is unreachable', async () => {
    face = await startFace('serve', `${upstreams()}\nauth: { mode: keys, keys: { store: redis, redis: { url: "redis://127.0.0.1:1", commandTimeoutMs: 100 } } }\n`, env);
    const k = newKey(PEPPER);
    const r = await postJson(`${face.url}/v1/messages`, { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': k.key });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ type: 'error' });
    expect(r.text).not.toContain(k.key.split('.')[1]);
    // The key store's connection is the shared one (deadline, breaker): /healthz reports it, not ok.
    const h = (await (await fetch(`${face.url}/healthz`)).json()) as { stores: { name: string; status: string; connected: boolean }[] };
    const keys = h.stores.find((s) => s.name.split('+').includes('keys'));
    expect(keys).toMatchObject({ connected: false });
    expect(keys!.status).not.toBe('ok');
  });
});

describe('keys never reach a log', () => {
  it('logs decisions and refusals without any key or its secret part', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const yaml = `${keysYaml()}observability: { logging: { decisions: true } }\n`;
    face = await startFace('serve', yaml, env, createLogger('debug', { destination: sink }));
    const url = `${face.url}/v1/chat/completions`;
    await postJson(url, chat('log me'), { authorization: `Bearer ${alice.key}` });
    await postJson(url, chat('log me'), { authorization: `Bearer ${expired.key}` });
    await postJson(url, chat('log me'), { authorization: `Bearer ${newKey(PEPPER).key}` });
    await postJson(url, chat('log me', { model: 'primary-model' }), { authorization: `Bearer ${narrow.key}` });
    for (let i = 0; i < 1500 && !lines.some((l) => l.includes('"msg":"decision"')); i++) await new Promise((r) => setTimeout(r, 10));
    const all = lines.join('');
    // The accepted request's decision was logged (with its tenant), so there was something to leak.
    expect(all).toContain('"msg":"decision"');
    expect(all).toContain('t:acme');
    // So were the refusals, by code, without the key.
    expect(all).toContain('identity not proven');
    for (const k of [alice, expired, narrow]) {
      expect(all).not.toContain(k.key);
      expect(all).not.toContain(k.key.split('.')[1]!);
      expect(all).not.toContain(k.hash);
    }
    expect(all).not.toContain(PEPPER);
  });
});
