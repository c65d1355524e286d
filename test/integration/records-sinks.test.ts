/**
 * Decision-record sinks: every decision lands, once, as one JSON line in
 * the configured file, or as one entry of the configured Redis stream
 * (trimmed to about `maxLen`), with cost and savings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/observability/events.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { chat, postJson, startGateway } from '../helpers/gateway.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

let oa: FakeProvider;
const dir = mkdtempSync(join(tmpdir(), 'sy-records-'));
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
const stream = `sy-test-records-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  oa = await startFakeOpenAI();
  await redis.connect();
});
afterAll(async () => {
  await oa.close();
  await redis.del(stream);
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
});

const config = (records: string) => `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    models: [{ name: primary-model, inputPricePer1M: 1, outputPricePer1M: 2 }]
cache: { enabled: false }
observability: { records: ${records} }
`;

async function traffic(url: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await postJson(`${url}/v1/chat/completions`, chat(`record ${i}`, { stream: i % 2 === 1 }));
    ids.push(r.headers.get('x-switchyard-request-id')!);
  }
  const bad = await postJson(`${url}/v1/chat/completions`, chat('x', { model: 'missing' }));
  ids.push(bad.headers.get('x-switchyard-request-id')!);
  return ids;
}

describe.skipIf(SKIP !== undefined)('record sinks', () => {
  it('append one JSON line per decision to a JSONL file', async () => {
    const path = join(dir, 'nested', 'decisions.jsonl');
    const gw = await startGateway(config(`{ sink: jsonl, path: ${path} }`));
    const ids = await traffic(gw.url);
    await gw.close();
    const recs = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(recs.map((r) => r.id)).toEqual(ids);
    expect(recs[0]).toMatchObject({ status: 200, model: 'primary-model', upstream: 'oa' });
    expect(recs[0]!.costUsd).toBeCloseTo((recs[0]!.inputTokens! * 1 + recs[0]!.outputTokens! * 2) / 1e6, 15);
    expect(recs.at(-1)).toMatchObject({ status: 404, error: 'model_not_found' });
  });

  it('add one entry per decision to a Redis stream, trimmed', async () => {
    const gw = await startGateway(config(`{ sink: redis-stream, redis: { stream: ${stream}, maxLen: 1000 } }`));
    const ids = await traffic(gw.url);
    await gw.close();
    const entries = await redis.xRange(stream, '-', '+');
    const recs = entries.map((e) => JSON.parse(e.message.record!) as DecisionRecord);
    expect(recs.map((r) => r.id)).toEqual(ids);
    expect(recs[1]).toMatchObject({ stream: true, complete: true });
    expect(recs[1]!.savingsUsd).toBe(0);
  });
});
