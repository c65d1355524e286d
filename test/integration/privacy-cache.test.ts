/** Private content never reaches an embedder off the host: such requests use the exact cache only. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createResponseCache } from '../../src/cache/index.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import type { Embedder } from '../../src/embedding/embedder.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { upstreamYaml } from '../helpers/gateway.js';

/** An in-process embedder that records what it was asked to embed. */
class RecordingEmbedder implements Embedder {
  readonly id = 'recording';
  readonly dim = 4;
  readonly seen: string[] = [];
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.seen.push(...texts);
    return texts.map(() => Float32Array.from([0.5, 0.5, 0.5, 0.5]));
  }
}

let up: FakeProvider;
let sy: Switchyard;
const embedder = new RecordingEmbedder();

beforeAll(async () => {
  up = await startFakeOpenAI();
  const cfg = parseConfig(`
upstreams:
${upstreamYaml('primary', up.url, 'primary-model')}
cache:
  semantic:
    embedding: { kind: openai-compatible, baseUrl: 'https://embeddings.example.com/v1', model: remote-embedder }
`);
  sy = new Switchyard(cfg, { cache: createResponseCache(cfg.cache, { embedder }) });
});
afterAll(async () => {
  await sy.close();
  await up.close();
});

function request(text: string) {
  return { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ model: 'primary-model', messages: [{ role: 'user', content: text }] })) };
}

it('does not embed a request carrying an e-mail address when the embedder is remote', async () => {
  expect(sy.cache!.embedsRemotely).toBe(true);
  await sy.decide(request('Please write to jane.doe@example.com about the invoice'));
  expect(embedder.seen.some((t) => t.includes('jane.doe'))).toBe(false);
  await sy.decide(request('What is the tallest mountain on Earth?'));
  expect(embedder.seen).toContain('What is the tallest mountain on Earth?');
});
