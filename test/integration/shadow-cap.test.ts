/**
 * The daily spend cap of shadow tests holds: many sampled requests at once
 * with a cap worth two shadow calls send exactly two, and a second gateway
 * sharing the Redis ledger sends none. With a JSONL store the cap is kept in
 * memory, per process, and results are appended to the file.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { countTokens } from '../fixtures/fake-common.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { chatCalls, dropStream, freshStream, readStream, shadowYaml } from '../helpers/shadow-fixtures.js';
import { need } from '../fixtures/prerequisites.js';

const SKIP = need('redis');

let cheap: FakeProvider;
let strong: FakeProvider;
let embed: FakeProvider;
const streams: string[] = [];
const gateways: RunningServer[] = [];

beforeAll(async () => {
  [cheap, strong, embed] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
});
afterAll(async () => {
  for (const gw of gateways) await gw.close();
  for (const s of streams) await dropStream(s);
  await Promise.all([cheap, strong, embed].map((f) => f.close()));
});

const PROMPT = 'Summarize the status: the vendor shipped late, QA found three bugs, the launch moved to May.';
const MESSAGES = [{ role: 'user', content: PROMPT }];
/** USD 1000 per 1M tokens either way: one shadow call costs its token count / 1000. */
const PRICE = { input: 1000, output: 1000 };
const CALL_USD = (countTokens(JSON.stringify(MESSAGES)) + countTokens(`echo: ${PROMPT}`)) / 1000;

async function gateway(stream: string, store?: string): Promise<RunningServer> {
  const gw = await startGateway(
    shadowYaml({
      cheapUrl: cheap.url,
      strongUrl: strong.url,
      embedUrl: embed.url,
      stream,
      cheapPrice: PRICE,
      maxConcurrent: 20,
      ...(store ? { store } : {}),
      shadow: `  dailyBudgetUsd: ${(CALL_USD * 2.5).toFixed(6)}\n`,
    }),
  );
  gateways.push(gw);
  return gw;
}

async function burst(gw: RunningServer, n: number): Promise<void> {
  const rs = await Promise.all(Array.from({ length: n }, () => postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: MESSAGES })));
  for (const r of rs) expect(r.status).toBe(200);
  await gw.switchyard.shadow.drain();
}

describe.skipIf(SKIP !== undefined)('shadow spend cap', () => {
  it('12 concurrent sampled requests with a cap worth 2.5 calls send exactly 2 shadow calls; a second gateway on the same Redis ledger sends none', async () => {
    const stream = freshStream();
    streams.push(stream);
    const gw = await gateway(stream);
    const before = chatCalls(cheap);
    await burst(gw, 12);
    expect(chatCalls(cheap) - before).toBe(2);
    expect(gw.switchyard.shadow.stats()).toMatchObject({ sampled: 12, started: 2, skippedBudget: 10 });
    const spent = await gw.switchyard.shadow.spentToday();
    expect(spent).toBeCloseTo(2 * CALL_USD, 9);
    expect(spent).toBeLessThanOrEqual(CALL_USD * 2.5);
    const recs = await readStream(stream);
    expect(recs).toHaveLength(2);
    for (const r of recs) expect(r.shadowCost).toBeCloseTo(CALL_USD, 9);

    const other = await gateway(stream);
    await burst(other, 4);
    expect(chatCalls(cheap) - before).toBe(2);
    expect(other.switchyard.shadow.stats().skippedBudget).toBe(4);
  });

  it('with a JSONL store the cap is kept in memory and results are appended to the file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'switchyard-shadow-')), 'shadow.jsonl');
    const gw = await gateway(freshStream(), `{ kind: jsonl, path: "${path}" }`);
    const before = chatCalls(cheap);
    await burst(gw, 6);
    expect(chatCalls(cheap) - before).toBe(2);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { task: string; agreed: boolean });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ task: 'summarization', agreed: true });
  });
});
