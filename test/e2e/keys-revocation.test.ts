/**
 * Prompt revocation across replicas (issue 12): two gateway instances share
 * a Redis key store with `cacheTtlMs: 60000`. A key revoked, disabled or
 * rotated with the real CLI (`node dist/cli/main.js keys …`) stops working
 * on the other instance as soon as its invalidation arrives (waited for as an
 * event, never a sleep), not a minute later. A file store is watched the same way.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFace, type RunningFace } from '../helpers/faces.js';
import { chat, postJson, upstreamYaml } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');
const PEPPER = `rev-pepper-${randomBytes(8).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER, SWITCHYARD_CONFIG: '', REV_ANT_KEY: 'sk-ant-revocation-test' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'keys', ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
}
const keyOf = (out: string) => /^key: (sy-[a-z0-9]+\.[A-Za-z0-9_-]+)$/m.exec(out)?.[1];

let oa: FakeProvider;
let ant: FakeProvider;
const faces: RunningFace[] = [];
const redis = createClient({ url: 'redis://127.0.0.1:6379' });

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
  [oa, ant] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  await redis.connect();
});
afterEach(async () => {
  await Promise.all(faces.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `sy-revtest-${RUN}:*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await Promise.all([oa.close(), ant.close()]);
});

const upstreams = () => `upstreams:\n${upstreamYaml('oa', oa.url, 'm')}\n${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', apiKeyEnv: 'REV_ANT_KEY' })}\n`;
const openai = (f: RunningFace, key: string) => postJson(`${f.url}/v1/chat/completions`, chat('hi', { model: 'm' }), { authorization: `Bearer ${key}` });
const anthropic = (f: RunningFace, key: string) =>
  postJson(`${f.url}/v1/messages`, { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key, 'anthropic-version': '2023-06-01' });

/** Resolves when `face` drops a cached record (the invalidation arrived); started before the change is made. */
function invalidation(face: RunningFace, id?: string): Promise<void> {
  return new Promise((resolve) => {
    const off = face.switchyard.identity.onInvalidate((got) => {
      if (id === undefined || got === id || got === undefined) {
        off();
        resolve();
      }
    });
  });
}

/** Resolves once the face's key store subscription is up (the first invalidation-of-all on subscribe). */
async function subscribed(face: RunningFace): Promise<void> {
  const store = (face.switchyard.identity as unknown as { store: { watching?: boolean } }).store;
  while (!store.watching) await new Promise((r) => setImmediate(r));
}

describe('keys in Redis, two instances, cacheTtlMs 60000', () => {
  it('revoke, disable and rotate with the CLI take effect on the other instance at once, in its protocol', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-rev-'));
    const config = join(dir, 'switchyard.yaml');
    const yaml = `${upstreams()}cache: { enabled: false }\nauth: { mode: keys, keys: { store: redis, cacheTtlMs: 60000, redis: { keyPrefix: "sy-revtest-${RUN}:keys:" } } }\n`;
    writeFileSync(config, yaml);
    const a = await startFace('serve', yaml, env);
    faces.push(a);
    const b = await startFace('express', yaml, env);
    faces.push(b);
    await Promise.all([subscribed(a), subscribed(b)]);

    const created = await cli(['create', '-c', config, '--tenant', 'acme', '--name', 'rev']);
    expect(created.code, created.stderr).toBe(0);
    const key = keyOf(created.stdout)!;
    const id = key.slice(3, key.indexOf('.'));
    // Both instances have the record cached (a minute's TTL).
    expect((await openai(a, key)).status).toBe(200);
    expect((await anthropic(b, key)).status).toBe(200);

    // Disable: both drop it as the invalidation arrives.
    let seen = Promise.all([invalidation(a, id), invalidation(b, id)]);
    expect((await cli(['disable', id, '-c', config])).code).toBe(0);
    await seen;
    expect((await openai(a, key)).status).toBe(401);
    const refused = await anthropic(b, key);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    seen = Promise.all([invalidation(a, id), invalidation(b, id)]);
    expect((await cli(['enable', id, '-c', config])).code).toBe(0);
    await seen;
    expect((await anthropic(b, key)).status).toBe(200);

    // Rotate: the old key stops on the other instance, the new one works.
    seen = Promise.all([invalidation(a, id), invalidation(b, id)]);
    const rotated = await cli(['rotate', id, '-c', config]);
    expect(rotated.code).toBe(0);
    const next = keyOf(rotated.stdout)!;
    await seen;
    expect((await anthropic(b, key)).status).toBe(401);
    expect((await openai(b, next)).status).toBe(200);
    expect((await anthropic(a, next)).status).toBe(200);

    // Revoke through the CLI: the next request on the other instance is a 401 in its protocol.
    seen = Promise.all([invalidation(a, id), invalidation(b, id)]);
    expect((await cli(['revoke', id, '-c', config])).code).toBe(0);
    await seen;
    const gone = await openai(b, next);
    expect(gone.status).toBe(401);
    expect(gone.json).toMatchObject({ error: { type: 'authentication_error' } });
    expect((await anthropic(a, next)).status).toBe(401);
  });
});

describe('keys in a watched file, cacheTtlMs 60000', () => {
  it('a revoke through the CLI drops the cached record as the file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-rev-file-'));
    const file = join(dir, 'keys.json');
    const config = join(dir, 'switchyard.yaml');
    const yaml = `${upstreams()}cache: { enabled: false }\nauth: { mode: keys, keys: { store: file, file: ${JSON.stringify(file)}, cacheTtlMs: 60000 } }\n`;
    writeFileSync(config, yaml);
    const created = await cli(['create', '-c', config, '--tenant', 'acme']);
    expect(created.code, created.stderr).toBe(0);
    const key = keyOf(created.stdout)!;
    const id = key.slice(3, key.indexOf('.'));
    const g = await startFace('serve', yaml, env);
    faces.push(g);
    expect((await openai(g, key)).status).toBe(200);
    const seen = invalidation(g);
    expect((await cli(['revoke', id, '-c', config])).code).toBe(0);
    await seen;
    expect((await anthropic(g, key)).status).toBe(401);
  });
});
