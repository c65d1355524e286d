/**
 * Shared set-up of the shadow tests: a two-step ladder (LOW: a cheap fake,
 * HIGH: a strong fake) where every `switchyard/auto` request goes to HIGH,
 * answer embeddings from a third fake (deterministic per text), an optional
 * judge fake, and results in a fresh Redis stream.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { ShadowResult } from '../../src/shadow/result.js';

/** A model price block: USD per 1M tokens. */
export interface Price {
  input: number;
  output: number;
}

export interface ShadowYamlOptions {
  cheapUrl: string;
  strongUrl: string;
  /** Serves `/v1/embeddings` for answer similarity. */
  embedUrl: string;
  judgeUrl?: string;
  stream: string;
  cheapPrice?: Price;
  strongPrice?: Price;
  /** Extra lines inside `shadow:` (indented 2 spaces). */
  shadow?: string;
  /** Extra lines inside `routing:` (indented 2 spaces). */
  routing?: string;
  cheapFirstTokenMs?: number;
  maxConcurrent?: number;
  /** Replaces the Redis stream store (a flow mapping, e.g. `{ kind: jsonl, path: /tmp/x.jsonl }`). */
  store?: string;
}

function upstream(name: string, url: string, model: string, price: Price, firstTokenMs = 5000): string {
  return `  - name: ${name}
    kind: openai-compatible
    baseUrl: ${url}
    models: [{ name: ${model}, inputPricePer1M: ${price.input}, outputPricePer1M: ${price.output} }]
    timeouts: { connectMs: 1000, firstTokenMs: ${firstTokenMs}, idleMs: 5000, totalMs: 10000 }
    retry: { max: 0, baseDelayMs: 10, maxDelayMs: 50 }
`;
}

/** The gateway config of a shadow test. */
export function shadowYaml(o: ShadowYamlOptions): string {
  return `upstreams:
${upstream('cheap', o.cheapUrl, 'cheap-model', o.cheapPrice ?? { input: 0.1, output: 0.4 }, o.cheapFirstTokenMs)}${upstream('strong', o.strongUrl, 'strong-model', o.strongPrice ?? { input: 3, output: 15 })}tiers:
  - { name: LOW, models: [cheap-model] }
  - { name: HIGH, models: [strong-model] }
routing:
  ladder: [LOW, HIGH]
  thresholds: [0.05]
  agenticTier: null
${o.routing ?? ''}cache:
  enabled: false
  semantic: { embedding: { kind: openai-compatible, baseUrl: ${o.embedUrl}, model: fake-embed, batch: { maxBatch: 1 } } }
shadow:
  enabled: true
  rate: 1
  maxConcurrent: ${o.maxConcurrent ?? 8}
  store: ${o.store ?? `{ kind: redis-stream, redis: { stream: "${o.stream}" } }`}
${o.judgeUrl ? `  judge: { baseUrl: ${o.judgeUrl}, model: fake-judge, timeoutMs: 5000 }\n` : ''}${o.shadow ?? ''}`;
}

/** A fresh stream name, deleted by {@link dropStream}. */
export function freshStream(): string {
  return `switchyard:test:shadow:${randomUUID()}`;
}

/** Reads every record of a stream. */
export async function readStream(stream: string): Promise<ShadowResult[]> {
  const c = createClient({ url: 'redis://127.0.0.1:6379' });
  await c.connect();
  try {
    const entries = await c.xRange(stream, '-', '+');
    return entries.map((e) => JSON.parse(String(e.message['record'])) as ShadowResult);
  } finally {
    await c.close();
  }
}

/** Deletes a stream and its spend counters. */
export async function dropStream(stream: string): Promise<void> {
  const c = createClient({ url: 'redis://127.0.0.1:6379' });
  await c.connect();
  try {
    const keys = [stream];
    for await (const batch of c.scanIterator({ MATCH: `${stream}:spend:*`, COUNT: 100 })) keys.push(...batch);
    await c.del(keys);
  } finally {
    await c.close();
  }
}

/** Chat completion requests a fake received (not embeddings). */
export function chatCalls(fake: { requests: { path: string }[] }): number {
  return fake.requests.filter((r) => r.path.startsWith('/v1/chat/completions')).length;
}
