/** docs/limits.md: every yaml block is a complete config the real loader accepts, with the values the text claims. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

const doc = readFileSync('docs/limits.md', 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

it('has yaml blocks that load through the real loader', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  const [serverBlock, cacheBlock] = blocks.map((b) => parseConfig(b, { OPENAI_API_KEY: 'sk-dummy' }));
  expect(serverBlock!.server).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, maxConnections: 4096, maxRequestsPerSocket: 1000 });
  expect(cacheBlock!.cache.semantic).toMatchObject({ maxBytes: 256 * 1024 * 1024, keepPromptText: false });
  expect(cacheBlock!.cache.semantic.embedding.batch).toEqual({ maxBatch: 32, maxWaitMs: 2, maxQueue: 64, maxQueueWaitMs: 200 });
});

it('states the defaults the schema has', () => {
  const d = parseConfig('{}', {});
  expect(d.server).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, maxConnections: 4096, maxRequestsPerSocket: 1000 });
  expect(d.cache.memory.maxBytes).toBe(64 * 1024 * 1024);
  expect(d.cache.semantic.maxBytes).toBe(256 * 1024 * 1024);
  expect(d.cache.semantic.embedding.batch).toMatchObject({ maxQueue: 64, maxQueueWaitMs: 200 });
});
