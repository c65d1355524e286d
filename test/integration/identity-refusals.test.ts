/**
 * Identity refusals as decision records (issue 12): a 401/403/400/431
 * refused before anything else is looked at becomes a record on the same
 * channels as decisions (the records sink, the live stream), with the
 * reason, face, protocol and peer, and never the presented credential, its
 * key id or a digest. A flood of bad keys yields a bounded number of records
 * (the first per group at once, the rest as one aggregate per window).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newKey } from '../../src/identity/key-format.js';
import { MAX_KEYS } from '../../src/identity/refusals.js';
import type { DecisionRecord } from '../../src/observability/events.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { FACES, startFace, type RunningFace } from '../helpers/faces.js';
import { chat, postJson, upstreamYaml } from '../helpers/gateway.js';

const PEPPER = `pepper-${randomBytes(12).toString('hex')}`;
const env = { ...process.env, SWITCHYARD_KEY_PEPPER: PEPPER, REF_ANT_KEY: 'sk-ant-refusal-test' };
const good = newKey(PEPPER);

let oa: FakeProvider;
let ant: FakeProvider;
let face: RunningFace | undefined;

beforeAll(async () => {
  [oa, ant] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
});
afterEach(async () => {
  await face?.close();
  face = undefined;
});
afterAll(async () => {
  await Promise.all([oa.close(), ant.close()]);
});

const yaml = (sink: string) => `
upstreams:
${upstreamYaml('oa', oa.url, 'm')}
${upstreamYaml('ant', ant.url, 'claude-test', { kind: 'anthropic', apiKeyEnv: 'REF_ANT_KEY' })}
cache: { enabled: false }
observability: { records: { sink: jsonl, path: ${JSON.stringify(sink)} } }
auth:
  mode: keys
  keys:
    entries:
      - { id: ${good.id}, hash: ${good.hash}, tenant: acme }
`;

describe.each(FACES)('identity refusals through %s', (name) => {
  it('a flood of 300 bad keys gives a bounded number of records, none holding a presented credential', async () => {
    const sink = join(mkdtempSync(join(tmpdir(), 'sy-refusals-')), 'decisions.jsonl');
    face = await startFace(name, yaml(sink), env);
    const records: DecisionRecord[] = [];
    face.switchyard.events.on('refusal', (r) => records.push(r));
    const presented: string[] = [];
    const upstreamBefore = oa.requests.length + ant.requests.length;
    const asks: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 300; i++) {
      const forged = i % 3 === 0 ? newKey(`other-pepper-${i}-xxxxxxxxxxxx`).key : i % 3 === 1 ? `sy-${good.id}.${randomBytes(24).toString('base64url')}` : `garbage-${randomBytes(16).toString('hex')}`;
      presented.push(forged);
      asks.push(
        i % 2 === 0
          ? postJson(`${face.url}/v1/chat/completions`, chat(`x${i}`, { model: 'm' }), { authorization: `Bearer ${forged}` })
          : postJson(`${face.url}/v1/messages`, { model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': forged }),
      );
    }
    const answers = await Promise.all(asks);
    expect(answers.every((a) => a.status === 401)).toBe(true);
    expect(oa.requests.length + ant.requests.length).toBe(upstreamBefore);
    // The first record of each group came at once; the window's end brings the aggregates.
    const immediate = records.length;
    expect(immediate).toBeGreaterThan(0);
    expect(immediate).toBeLessThanOrEqual(MAX_KEYS + 1);
    (face.switchyard as unknown as { gate: { records: { flush(): void } } }).gate.records.flush();
    expect(records.length).toBeLessThanOrEqual(2 * (MAX_KEYS + 1));
    expect(records.reduce((n, r) => n + (r.refusals ?? 0), 0)).toBe(300);
    for (const r of records) {
      expect(r).toMatchObject({ operation: 'identity', status: 401, face: name, tenant: '-' });
      expect(['openai', 'anthropic']).toContain(r.protocol);
      expect(r.peer).toMatch(/127\.0\.0\.1/);
      expect(r.reason).toBeTruthy();
    }
    const all = JSON.stringify(records);
    expect(all).not.toContain(good.id);
    for (const p of presented) {
      expect(all).not.toContain(p);
      expect(all).not.toContain(p.slice(p.indexOf('.') + 1));
      expect(all).not.toContain(createHash('sha256').update(p).digest('hex'));
    }
    // The same records reach the records sink (the JSONL file admins read).
    while (!existsSync(sink) || readFileSync(sink, 'utf8').split('\n').filter(Boolean).length < records.length) await new Promise((r) => setImmediate(r));
    const lines = readFileSync(sink, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(records.length);
    for (const p of presented) expect(lines.join('\n')).not.toContain(p);
  });

  it('400 (two credentials) and 431 (an oversized credential) are records with their status and reason; a good key is not', async () => {
    const sink = join(mkdtempSync(join(tmpdir(), 'sy-refusals-')), 'decisions.jsonl');
    face = await startFace(name, yaml(sink), env);
    const records: DecisionRecord[] = [];
    face.switchyard.events.on('refusal', (r) => records.push(r));
    const two = await postJson(`${face.url}/v1/chat/completions`, chat('two', { model: 'm' }), { authorization: `Bearer ${good.key}`, 'x-api-key': 'sy-zzzz.other-secret-value' });
    expect(two.status).toBe(400);
    const huge = `sy-${good.id}.${'A'.repeat(3000)}`;
    const big = await postJson(`${face.url}/v1/chat/completions`, chat('big', { model: 'm' }), { authorization: `Bearer ${huge}` });
    expect(big.status).toBe(431);
    expect((await postJson(`${face.url}/v1/chat/completions`, chat('ok', { model: 'm' }), { authorization: `Bearer ${good.key}` })).status).toBe(200);
    expect(records.map((r) => r.status).sort()).toEqual([400, 431]);
    expect(records.find((r) => r.status === 400)?.reason).toBe('invalid_credentials');
    const all = JSON.stringify(records);
    expect(all).not.toContain('other-secret-value');
    expect(all).not.toContain('AAAAAAAA');
    expect(all).not.toContain(good.key.split('.')[1]);
  });
});
