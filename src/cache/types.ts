/**
 * The two store interfaces behind the cache facade: one backend per file
 * (`stores/memory.ts`, `stores/redis.ts`, `vector/memory.ts`, `vector/redis.ts`).
 */
import type { CanonicalResponse } from '../protocol/canonical.js';

/** What an exact entry holds. Tenant and model group are checked again on read. */
export interface ExactEntry {
  response: CanonicalResponse;
  tenant: string;
  modelGroup: string;
  /** Unix ms. */
  storedAt: number;
}

/** Exact-cache store: key → entry with a TTL. */
export interface ExactStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<ExactEntry | undefined>;
  set(key: string, entry: ExactEntry, ttlSeconds: number): Promise<void>;
  /** Deletes every entry whose key starts with `partitionPrefix` (see `partitionPrefix` in key.ts); resolves to the count. */
  purge(partitionPrefix: string): Promise<number>;
  /** Entries held (Redis: the last count taken, refreshed in the background). */
  size(): number;
  close(): Promise<void>;
}

/** What a semantic entry holds besides its vector. */
export interface VectorRecord {
  /** Partition id (key.ts). */
  partition: string;
  /** Model group, for filtering and purges. */
  model: string;
  /** The question's text, only with `keepPromptText` (otherwise ''). */
  text: string;
  /** The verifier's signature of the question (`signature.ts`), when the verifier was on at store time. */
  sig?: string;
  /** Digest of the question: tells entries of one partition apart (Redis key). */
  id?: string;
  response: CanonicalResponse;
  /** Unix ms. */
  expiresAt: number;
}

/** A neighbour found in a partition. */
export interface VectorMatch {
  record: VectorRecord;
  /** Cosine similarity (1 = same direction). */
  similarity: number;
}

/** Semantic-cache vector index, partitioned. Vectors are L2-normalised. */
export interface VectorStore {
  readonly kind: 'memory' | 'redis';
  add(vector: Float32Array, record: VectorRecord): Promise<void>;
  /** Up to `k` nearest live entries of `partition`, most similar first. */
  search(partition: string, vector: Float32Array, k: number): Promise<VectorMatch[]>;
  purge(partitionPrefix: string): Promise<number>;
  size(): number;
  close(): Promise<void>;
}

/** Approximate bytes of an answer held in memory (UTF-16 strings + overhead). */
export function responseBytes(r: CanonicalResponse): number {
  let n = 160 + 2 * (r.id.length + r.model.length + r.text.length);
  for (const tc of r.toolCalls ?? []) n += 64 + 2 * (tc.id.length + tc.name.length + tc.arguments.length);
  return n;
}
