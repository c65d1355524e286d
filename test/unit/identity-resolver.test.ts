/**
 * The identity resolver as a hostile client meets it: credentials read
 * strictly (repeats, conflicts, bad schemes, oversized), tenants that cannot
 * be claimed by naming them, long names hashed whole, proxies trusted only by
 * address and/or secret, virtual keys checked against their peppered digest,
 * and the admin gate.
 */
import { describe, expect, it } from 'vitest';
import { authSchema, type VirtualKey } from '../../src/config/auth.js';
import { SwitchyardError } from '../../src/errors.js';
import { AdminCheck, IdentityResolver, newKey, type Identity, type IdentityInput } from '../../src/identity/index.js';
import { namedTenant } from '../../src/identity/tenant-name.js';

const PEPPER = 'unit-test-pepper-0123456789';
const auth = (v: unknown) => authSchema.parse(v);

function resolveSync(r: IdentityResolver, input: IdentityInput): Identity {
  const out = r.resolve(input);
  if (out instanceof Promise) throw new Error('expected a synchronous answer');
  return out;
}

async function failure(p: () => Identity | Promise<Identity>): Promise<SwitchyardError> {
  try {
    await p();
  } catch (e) {
    expect(e).toBeInstanceOf(SwitchyardError);
    return e as SwitchyardError;
  }
  throw new Error('expected a rejection');
}

describe('auth.mode none', () => {
  const r = new IdentityResolver(auth({}), {});

  it('ignores a client-sent tenant header: the credential decides', () => {
    const a = resolveSync(r, { headers: { authorization: 'Bearer key-a', 'x-switchyard-tenant': 'acme' } });
    const b = resolveSync(r, { headers: { authorization: 'Bearer key-b', 'x-switchyard-tenant': 'acme' } });
    expect(a.tenant).toMatch(/^k:[0-9a-f]{24}$/);
    expect(a.tenant).not.toBe(b.tenant);
    expect(a.tenant).not.toContain('acme');
    expect(resolveSync(r, { headers: { 'x-switchyard-tenant': 'acme' } })).toMatchObject({ tenant: 'anonymous', source: 'anonymous' });
  });

  it('tells api-key users, x-api-key users and Basic users apart, and never keeps the credential', () => {
    const u1 = resolveSync(r, { headers: { 'api-key': 'azure-user-1' } }).tenant;
    const u2 = resolveSync(r, { headers: { 'api-key': 'azure-user-2' } }).tenant;
    const x1 = resolveSync(r, { headers: { 'x-api-key': 'azure-user-1' } }).tenant;
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    const alice = resolveSync(r, { headers: { authorization: basic('alice:pw1') } }).tenant;
    const bob = resolveSync(r, { headers: { authorization: basic('bob:pw1') } }).tenant;
    expect(new Set([u1, u2, alice, bob]).size).toBe(4);
    // The same key sent as Bearer, x-api-key or api-key is the same caller.
    expect(x1).toBe(u1);
    expect(resolveSync(r, { headers: { authorization: 'Bearer azure-user-1' } }).tenant).toBe(u1);
    // A Basic user never shares a tenant with a bearer token of the same text.
    expect(resolveSync(r, { headers: { authorization: 'Bearer alice' } }).tenant).not.toBe(alice);
  });

  it('trusts the tenant header only when configured to', () => {
    const dev = new IdentityResolver(auth({ trustClientTenantHeader: true }), {});
    expect(resolveSync(dev, { headers: { 'x-switchyard-tenant': 'acme' } })).toMatchObject({ tenant: 't:acme', source: 'client-header' });
  });
});

describe('bad credentials', () => {
  const r = new IdentityResolver(auth({ maxCredentialBytes: 256 }), {});
  const code = async (input: IdentityInput) => (await failure(() => r.resolve(input))).code;

  it('refuses repeated auth headers, whether Node folded them (rawHeaders) or not', async () => {
    expect(await code({ headers: { authorization: 'Bearer a' }, rawHeaders: ['Authorization', 'Bearer a', 'authorization', 'Bearer b'] })).toBe('invalid_credentials');
    expect(await code({ headers: { 'x-api-key': ['a', 'b'] } })).toBe('invalid_credentials');
    expect(await code({ headers: { 'x-api-key': 'a, b' }, rawHeaders: ['x-api-key', 'a', 'X-Api-Key', 'b'] })).toBe('invalid_credentials');
  });

  it('refuses two headers naming different credentials, accepts the same one twice', async () => {
    expect(await code({ headers: { authorization: 'Bearer a', 'x-api-key': 'b' } })).toBe('invalid_credentials');
    expect(resolveSync(r, { headers: { authorization: 'Bearer a', 'x-api-key': 'a' } }).source).toBe('credential');
  });

  it('refuses malformed credentials with 401 and oversized ones with 431', async () => {
    for (const authorization of ['Bearer', 'Bearer    ', 'Token abc', 'Basic !!!', `Basic ${Buffer.from('nouser').toString('base64')}`, `Basic ${Buffer.from(':pw').toString('base64')}`]) {
      expect(await code({ headers: { authorization } })).toBe('authentication_error');
    }
    expect(await code({ headers: { 'x-api-key': 'has space' } })).toBe('authentication_error');
    expect(await code({ headers: { 'x-api-key': 'x'.repeat(300) } })).toBe('header_too_large');
    const e = await failure(() => r.resolve({ headers: { 'x-api-key': 'x'.repeat(300) } }));
    expect(e.status).toBe(431);
  });
});

describe('long names', () => {
  it('are hashed whole, never truncated: two names that share a 128-character prefix stay two tenants', () => {
    const a = namedTenant(`${'a'.repeat(128)}-one`);
    const b = namedTenant(`${'a'.repeat(128)}-two`);
    expect(a).toMatch(/^t#[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(namedTenant('acme')).toBe('t:acme');
    // Unprintable names are hashed too, and the two forms cannot meet.
    expect(namedTenant('ac me')).toMatch(/^t#/);
  });
});

describe('auth.mode header', () => {
  const cfg = auth({ mode: 'header', header: { trustedProxies: ['10.0.0.0/8', '::1/128'], sharedSecretEnv: 'PROXY_SECRET' } });
  const r = new IdentityResolver(cfg, { PROXY_SECRET: 'the-proxy-secret' });
  const ok = { 'x-switchyard-tenant': 'acme', 'x-switchyard-team': 'research', 'x-switchyard-proxy-secret': 'the-proxy-secret' };

  it('takes the tenant and team from a trusted proxy holding the secret', () => {
    expect(resolveSync(r, { peer: '10.1.2.3', headers: ok })).toMatchObject({ tenant: 't:acme', team: 't:research', source: 'proxy' });
    expect(resolveSync(r, { peer: '::ffff:10.9.9.9', headers: ok }).tenant).toBe('t:acme');
    expect(resolveSync(r, { peer: '::1', headers: ok }).tenant).toBe('t:acme');
  });

  it('refuses a peer outside the blocks, a wrong or missing secret, and a missing or repeated tenant', async () => {
    expect((await failure(() => r.resolve({ peer: '192.168.1.1', headers: ok }))).status).toBe(401);
    expect((await failure(() => r.resolve({ peer: '10.1.2.3', headers: { ...ok, 'x-switchyard-proxy-secret': 'guess' } }))).status).toBe(401);
    const { 'x-switchyard-proxy-secret': _s, ...noSecret } = ok;
    expect((await failure(() => r.resolve({ peer: '10.1.2.3', headers: noSecret }))).status).toBe(401);
    expect((await failure(() => r.resolve({ peer: '10.1.2.3', headers: { 'x-switchyard-proxy-secret': 'the-proxy-secret' } }))).status).toBe(401);
    expect((await failure(() => r.resolve({ peer: '10.1.2.3', headers: { ...ok, 'x-switchyard-tenant': ['a', 'b'] } }))).status).toBe(400);
  });

  it('will not start without a trust rule, or with a secret variable that is unset', () => {
    expect(() => auth({ mode: 'header' })).toThrow(/trustedProxies/);
    expect(() => new IdentityResolver(cfg, {})).toThrow(/PROXY_SECRET/);
  });
});

describe('auth.mode keys', () => {
  const made = newKey(PEPPER);
  const expired = newKey(PEPPER);
  const disabled = newKey(PEPPER);
  const entry = (k: { id: string; hash: string }, extra: Partial<VirtualKey> = {}) => ({ id: k.id, hash: k.hash, tenant: 'acme', ...extra });
  const cfg = auth({
    mode: 'keys',
    keys: { entries: [entry(made, { team: 'blue' }), entry(expired, { expiresAt: '2020-01-01T00:00:00Z' }), entry(disabled, { disabled: true })] },
  });
  const r = new IdentityResolver(cfg, { SWITCHYARD_KEY_PEPPER: PEPPER });

  it('accepts a key from Bearer, x-api-key or api-key as its tenant', () => {
    for (const h of [{ authorization: `Bearer ${made.key}` }, { 'x-api-key': made.key }, { 'api-key': made.key }]) {
      expect(resolveSync(r, { headers: h })).toMatchObject({ tenant: 't:acme', team: 't:blue', keyId: made.id, source: 'key' });
    }
    // Whatever else the request says about who it is.
    expect(resolveSync(r, { headers: { authorization: `Bearer ${made.key}`, 'x-switchyard-tenant': 'globex' } }).tenant).toBe('t:acme');
  });

  it('answers 401 for missing, malformed, unknown, wrong-secret, expired and disabled keys, never echoing the key', async () => {
    const other = newKey(PEPPER);
    const wrongSecret = `sy-${made.id}.${'A'.repeat(43)}`;
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /missing API key/],
      [{ authorization: 'Bearer sk-not-a-switchyard-key' }, /invalid API key/],
      [{ authorization: `Bearer ${other.key}` }, new RegExp(`invalid API key \\(id ${other.id}\\)`)],
      [{ authorization: `Bearer ${wrongSecret}` }, /invalid API key/],
      [{ authorization: `Bearer ${expired.key}` }, /expired/],
      [{ authorization: `Bearer ${disabled.key}` }, /disabled/],
      [{ authorization: `Basic ${Buffer.from(`u:${made.key}`).toString('base64')}` }, /not Basic/],
    ];
    for (const [headers, msg] of cases) {
      const e = await failure(() => r.resolve({ headers }));
      expect(e.status).toBe(401);
      expect(e.message).toMatch(msg);
      for (const k of [made.key, other.key, wrongSecret]) expect(e.message).not.toContain(k.split('.')[1]);
    }
  });

  it('will not start without a pepper', () => {
    expect(() => new IdentityResolver(cfg, {})).toThrow(/SWITCHYARD_KEY_PEPPER/);
  });
});

describe('admin gate', () => {
  it('with a token, only the exact token (Bearer or x-switchyard-admin-token)', () => {
    const a = new AdminCheck('s3cret-admin-token');
    expect(a.allows({ peer: '127.0.0.1', headers: {} })).toBe(false);
    expect(a.allows({ peer: '127.0.0.1', headers: { authorization: 'Bearer s3cret-admin-tokeN' } })).toBe(false);
    expect(a.allows({ peer: '203.0.113.9', headers: { authorization: 'Bearer s3cret-admin-token' } })).toBe(true);
    expect(a.allows({ peer: '203.0.113.9', headers: { 'x-switchyard-admin-token': 's3cret-admin-token' } })).toBe(true);
  });

  it('without a token, only direct loopback callers: a proxy header means the loopback address is the proxy', () => {
    const a = new AdminCheck(undefined);
    expect(a.allows({ peer: '127.0.0.1', headers: {} })).toBe(true);
    expect(a.allows({ peer: '::ffff:127.0.0.1', headers: {} })).toBe(true);
    expect(a.allows({ peer: '::1', headers: {} })).toBe(true);
    expect(a.allows({ peer: '10.0.0.1', headers: {} })).toBe(false);
    for (const h of ['forwarded', 'x-forwarded-for', 'x-real-ip']) expect(a.allows({ peer: '127.0.0.1', headers: { [h]: '203.0.113.9' } })).toBe(false);
  });
});

describe('gRPC peers', () => {
  it('reads the address Envoy connects from, in grpc-js and gRPC core spellings', async () => {
    const { grpcPeerAddress } = await import('../../src/identity/trusted-proxy.js');
    expect(grpcPeerAddress('127.0.0.1:49832')).toBe('127.0.0.1');
    expect(grpcPeerAddress('[::1]:5000')).toBe('::1');
    expect(grpcPeerAddress('ipv4:10.0.0.7:5000')).toBe('10.0.0.7');
    expect(grpcPeerAddress('ipv6:[::ffff:10.0.0.7]:5000')).toBe('10.0.0.7');
    expect(grpcPeerAddress('unix:/run/envoy.sock')).toBeUndefined();
  });
});

describe('config', () => {
  it('refuses the removed server.tenantHeader with a message saying what replaced it', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    expect(() => parseConfig('server: { tenantHeader: x-team }\n', {})).toThrow(/server\.tenantHeader was removed.*auth\.mode: header/s);
  });
});

describe('trusted proxy blocks', () => {
  it('are checked at load: a bad address or prefix is a config error, not a runtime surprise', () => {
    for (const bad of ['999.1.1.1', '10.0.0.0/33', 'fd00::/129', 'localhost', '10.0.0.0/8/8']) {
      expect(() => auth({ mode: 'header', header: { trustedProxies: [bad] } }), bad).toThrow(/CIDR/);
    }
    expect(() => auth({ mode: 'header', header: { trustedProxies: ['10.0.0.0/8', 'fd00::/8', '127.0.0.1'] } })).not.toThrow();
  });
});
