/**
 * `switchyard keys create|list|revoke|rotate` end to end, as a user runs it
 * (real processes from dist/): a file store shared with a running gateway and
 * a Redis store. The plaintext key is printed once, by create and rotate;
 * list never shows a key or its digest; a revoked key gets 401; a rotated
 * key's old secret gets 401 and the new one works with the same budget id.
 * Each CLI call is a node process start: generous timeouts for a busy machine.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');
const PEPPER = `cli-pepper-${randomBytes(8).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER, SWITCHYARD_CONFIG: '' };

function cli(args: string[], e: NodeJS.ProcessEnv = env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'keys', ...args], { env: e }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0, stdout, stderr });
    });
  });
}

const keyOf = (out: string) => /^key: (sy-[a-z0-9]+\.[A-Za-z0-9_-]+)$/m.exec(out)?.[1];

let up: FakeProvider;
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` (npm test does it)');
  up = await startFakeOpenAI();
  await redis.connect();
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `sy-clitest-${RUN}:*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await up.close();
});

describe('keys in a file store, shared with a running gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-keys-'));
  const file = join(dir, 'keys.json');
  const config = join(dir, 'switchyard.yaml');
  let gw: RunningServer;
  beforeAll(async () => {
    const yaml = `upstreams:\n${upstreamYaml('oa', up.url, 'm')}\nauth: { mode: keys, keys: { store: file, file: ${JSON.stringify(file)}, cacheTtlMs: 0 } }\n`;
    writeFileSync(config, yaml);
    gw = await startGateway(yaml, env);
  });
  afterAll(async () => {
    await gw.close();
  });
  const ask = (key: string) => postJson(`${gw.url}/v1/chat/completions`, chat('hi', { model: 'm' }), { authorization: `Bearer ${key}` });

  it('create prints the key once; list never shows it; revoke → 401; rotate → old 401, new 200', async () => {
    const created = await cli(['create', '-c', config, '--tenant', 'acme', '--name', 'ci bot', '--daily-usd', '5', '--models', 'm']);
    expect(created.code).toBe(0);
    const key = keyOf(created.stdout)!;
    expect(key).toBeDefined();
    const id = key.slice(3, key.indexOf('.'));
    // Stored hashed, private to its owner.
    const stored = readFileSync(file, 'utf8');
    expect(stored).not.toContain(key.split('.')[1]);
    expect(stored).toContain(id);
    expect(statSync(file).mode & 0o077).toBe(0);

    expect((await ask(key)).status).toBe(200);

    const list = await cli(['list', '-c', config]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/acme\t-\tci bot\tactive/);
    expect(list.stdout).not.toContain(key.split('.')[1]);
    const json = await cli(['list', '-c', config, '--json']);
    expect(JSON.parse(json.stdout)[0]).not.toHaveProperty('hash');

    const rotated = await cli(['rotate', id, '-c', config]);
    expect(rotated.code).toBe(0);
    const next = keyOf(rotated.stdout)!;
    expect(next.startsWith(`sy-${id}.`)).toBe(true);
    expect(next).not.toBe(key);
    expect((await ask(key)).status).toBe(401);
    expect((await ask(next)).status).toBe(200);

    expect((await cli(['disable', id, '-c', config])).code).toBe(0);
    expect((await ask(next)).status).toBe(401);
    expect((await cli(['list', '-c', config])).stdout).toMatch(/ci bot\tdisabled/);
    expect((await cli(['enable', id, '-c', config])).code).toBe(0);
    expect((await ask(next)).status).toBe(200);

    expect((await cli(['revoke', id, '-c', config])).code).toBe(0);
    const revoked = await ask(next);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.type).toBe('authentication_error');
    const again = await cli(['revoke', id, '-c', config]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no key with id/);
  }, 180_000);

  it('refuses to run without the pepper, and rejects bad flags, with exit code 2 and one line', async () => {
    const noPepper = await cli(['create', '-c', config, '--tenant', 'acme'], { ...env, SWITCHYARD_KEY_PEPPER: '' });
    expect(noPepper.code).toBe(2);
    expect(noPepper.stderr).toMatch(/SWITCHYARD_KEY_PEPPER/);
    const bad = await cli(['create', '-c', config, '--tenant', 'acme', '--daily-usd', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--daily-usd/);
  }, 60_000);
});

describe('keys in Redis', () => {
  it('create, list and revoke against a Redis store named on the command line', async () => {
    const prefix = `sy-clitest-${RUN}:keys:`;
    const created = await cli(['create', '--redis', 'redis://127.0.0.1:6379', '--prefix', prefix, '--tenant', 'globex', '--json']);
    expect(created.code).toBe(0);
    const out = JSON.parse(created.stdout) as { key: string; id: string; tenant: string };
    expect(out.tenant).toBe('globex');
    const raw = await redis.get(`${prefix}{${out.id}}`);
    expect(raw).toBeTruthy();
    expect(raw).not.toContain(out.key);
    const list = await cli(['list', '--redis', 'redis://127.0.0.1:6379', '--prefix', prefix]);
    expect(list.stdout).toContain(out.id);
    expect(list.stdout).not.toContain(out.key.split('.')[1]);
    expect((await cli(['revoke', out.id, '--redis', 'redis://127.0.0.1:6379', '--prefix', prefix])).code).toBe(0);
    expect(await redis.exists(`${prefix}{${out.id}}`)).toBe(0);
  }, 60_000);
});
