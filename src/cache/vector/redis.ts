/**
 * Semantic index in Redis with RediSearch (2.6+, or Redis 8's built-in
 * search): the store a fleet of replicas shares.
 *
 * Entries are hashes at `<prefix>v:<partition id>:<question digest>` holding
 * the vector (FLOAT32 bytes), the partition and model as TAGs, the question
 * and the answer JSON, with a TTL per key. The index is created on first use:
 *
 *   FT.CREATE <name> ON HASH PREFIX 1 <prefix>v: SCHEMA
 *     vec VECTOR HNSW 6 TYPE FLOAT32 DIM <d> DISTANCE_METRIC COSINE
 *     partition TAG CASESENSITIVE  model TAG CASESENSITIVE
 *
 * and queried with `(@partition:{<escaped>})=>[KNN k @vec $B AS score]`,
 * DIALECT 2; COSINE `score` is a distance, similarity = 1 - score.
 */
import type { CanonicalResponse } from '../../protocol/canonical.js';
import { digestOf } from '../key.js';
import type { VectorMatch, VectorRecord, VectorStore } from '../types.js';
import { escapeGlob, unlinkMatching, type CacheRedisClient } from '../stores/redis-client.js';

/** Options of {@link RedisVectorStore}. */
export interface RedisVectorStoreOptions {
  client: CacheRedisClient;
  /** e.g. `switchyard:`; hashes live under `<keyPrefix>v:`. */
  keyPrefix: string;
  /** Default `<keyPrefix>semantic`. */
  indexName?: string;
  /** HNSW graph parameters of a new index. */
  m?: number;
  efConstruction?: number;
  efRuntime?: number;
}

/** The server has no RediSearch module. */
export class RediSearchMissingError extends Error {
  constructor(detail: string) {
    super(
      `RediSearch 2.6+ is required for cache.semantic.vectorStore "redis", but the Redis server does not know FT.* commands (${detail}). ` +
        'Use Redis Stack, Redis 8 or a server with the search module loaded, or set cache.semantic.vectorStore to "memory".',
    );
    this.name = 'RediSearchMissingError';
  }
}

/** An existing index was built for vectors of another length. */
export class VectorDimensionMismatchError extends Error {
  constructor(
    readonly indexName: string,
    readonly indexDim: number,
    readonly embedderDim: number,
  ) {
    super(
      `RediSearch index "${indexName}" holds ${indexDim}-dimensional vectors but the embedder produces ${embedderDim}-dimensional ones. ` +
        `Drop the index (FT.DROPINDEX ${indexName} DD), or set cache.semantic.indexName to a new name, or use the embedder the index was built with.`,
    );
    this.name = 'VectorDimensionMismatchError';
  }
}

/**
 * Escapes a value for a TAG query (`@field:{...}`): every ASCII character
 * other than letters, digits and `_` is backslash-escaped (`-`, `.`, `@`,
 * `:`, spaces, braces, `|`, ...).
 */
export function escapeTagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_\u0080-\uFFFF]/g, (c) => `\\${c}`);
}

/** FT.SEARCH as node-redis parses it over RESP2 (the client's default). */
interface SearchResult {
  total: number;
  documents: Array<{ id: string; value: Record<string, unknown> }>;
}

function isUnknownCommand(err: unknown): boolean {
  return err instanceof Error && /unknown command/i.test(err.message);
}

function isUnknownIndex(err: unknown): boolean {
  return err instanceof Error && /unknown index|no such index|not found/i.test(err.message);
}

/** The `dim` of the first VECTOR attribute in a raw (RESP2) FT.INFO reply. */
export function dimFromInfo(reply: unknown): number | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    if (String(reply[i]).toLowerCase() !== 'attributes' || !Array.isArray(reply[i + 1])) continue;
    for (const attr of reply[i + 1] as unknown[]) {
      if (!Array.isArray(attr)) continue;
      const words = attr.map((x) => (Array.isArray(x) ? '' : String(x)));
      if (!words.some((w) => w.toUpperCase() === 'VECTOR')) continue;
      const at = words.findIndex((w) => w.toLowerCase() === 'dim');
      if (at >= 0) return Number(words[at + 1]);
    }
  }
  return undefined;
}

/**
 * RediSearch-backed vector store.
 *
 * @example
 * ```ts
 * const store = new RedisVectorStore({ client: openCacheRedis({ url }), keyPrefix: 'switchyard:' });
 * await store.init(512); // creates the index or checks its dimension
 * ```
 */
export class RedisVectorStore implements VectorStore {
  readonly kind = 'redis' as const;
  readonly indexName: string;
  private readonly base: string;
  private ready: Promise<void> | undefined;
  private readyDim: number | undefined;
  private count = 0;
  private countedAt = 0;

  constructor(private readonly opts: RedisVectorStoreOptions) {
    this.base = `${opts.keyPrefix}v:`;
    this.indexName = opts.indexName ?? `${opts.keyPrefix}semantic`;
  }

  /**
   * Creates the index, or checks an existing one's dimension. Rejects with
   * {@link RediSearchMissingError} or {@link VectorDimensionMismatchError}
   * (both remembered); other failures (Redis down) are retried on next use.
   */
  init(dim: number): Promise<void> {
    if (this.ready !== undefined && this.readyDim === dim) return this.ready;
    this.readyDim = dim;
    const p = this.ensureIndex(dim);
    this.ready = p;
    p.catch((err: unknown) => {
      const permanent = err instanceof RediSearchMissingError || err instanceof VectorDimensionMismatchError;
      if (!permanent && this.ready === p) this.ready = undefined;
    });
    return p;
  }

  async add(vector: Float32Array, record: VectorRecord): Promise<void> {
    // A hash TAG value is split at the separator; partition ids (hex and ':') never hold one.
    if (record.partition.includes(',')) throw new Error(`partition "${record.partition}" holds the TAG separator ","`);
    await this.init(vector.length);
    const key = `${this.base}${record.partition}:${digestOf(record.text, 32)}`;
    const vec = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    await this.opts.client
      .multi()
      .hSet(key, {
        vec,
        partition: record.partition,
        model: record.model,
        text: record.text,
        response: JSON.stringify(record.response),
        expiresAt: String(record.expiresAt),
      })
      .pExpireAt(key, record.expiresAt)
      .exec();
  }

  async search(partition: string, vector: Float32Array, k: number): Promise<VectorMatch[]> {
    await this.init(vector.length);
    const res = (await this.opts.client.ft.search(this.indexName, `(@partition:{${escapeTagValue(partition)}})=>[KNN ${k} @vec $B AS score]`, {
      PARAMS: { B: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength) },
      RETURN: ['score', 'partition', 'model', 'text', 'response', 'expiresAt'],
      SORTBY: { BY: 'score', DIRECTION: 'ASC' },
      LIMIT: { from: 0, size: k },
      DIALECT: 2,
    })) as unknown as SearchResult;
    const now = Date.now();
    const out: VectorMatch[] = [];
    for (const doc of res.documents) {
      const v = doc.value;
      const expiresAt = Number(v.expiresAt);
      // A key past its TTL may linger until Redis reclaims it; the partition is checked again.
      if (!(expiresAt > now) || v.partition !== partition) continue;
      out.push({
        similarity: 1 - Number(v.score),
        record: {
          partition,
          model: String(v.model),
          text: String(v.text),
          response: JSON.parse(String(v.response)) as CanonicalResponse,
          expiresAt,
        },
      });
    }
    return out;
  }

  async purge(partitionPrefix: string): Promise<number> {
    return unlinkMatching(this.opts.client, `${escapeGlob(this.base + partitionPrefix)}*`);
  }

  /** Documents in the index at the last count (FT.INFO `num_docs`, refreshed in the background). */
  size(): number {
    if (Date.now() - this.countedAt > 30_000 && this.ready !== undefined && this.opts.client.isReady) {
      this.countedAt = Date.now();
      this.opts.client
        .sendCommand(['FT.INFO', this.indexName])
        .then((reply) => {
          if (!Array.isArray(reply)) return;
          const at = reply.findIndex((x) => String(x) === 'num_docs');
          if (at >= 0) this.count = Number(reply[at + 1]);
        })
        .catch(() => undefined);
    }
    return this.count;
  }

  /** Drops the index and its documents (tests, resets). */
  async drop(): Promise<void> {
    try {
      await this.opts.client.ft.dropIndex(this.indexName, { DD: true });
    } catch (err) {
      if (!isUnknownIndex(err)) throw err;
    }
    this.ready = undefined;
  }

  /** The client is shared and closed by its owner. */
  async close(): Promise<void> {}

  private async ensureIndex(dim: number): Promise<void> {
    let info: unknown;
    try {
      info = await this.opts.client.sendCommand(['FT.INFO', this.indexName]);
    } catch (err) {
      if (isUnknownCommand(err)) throw new RediSearchMissingError((err as Error).message);
      if (!isUnknownIndex(err)) throw err;
      await this.create(dim);
      return;
    }
    await this.checkDim(info, dim);
  }

  private async create(dim: number): Promise<void> {
    try {
      await this.opts.client.ft.create(
        this.indexName,
        {
          vec: {
            type: 'VECTOR',
            ALGORITHM: 'HNSW',
            TYPE: 'FLOAT32',
            DIM: dim,
            DISTANCE_METRIC: 'COSINE',
            M: this.opts.m,
            EF_CONSTRUCTION: this.opts.efConstruction,
            EF_RUNTIME: this.opts.efRuntime,
          },
          partition: { type: 'TAG', CASESENSITIVE: true },
          model: { type: 'TAG', CASESENSITIVE: true },
        },
        { ON: 'HASH', PREFIX: this.base },
      );
    } catch (err) {
      if (isUnknownCommand(err)) throw new RediSearchMissingError((err as Error).message);
      // Another replica created it first: check it like any existing index.
      if (err instanceof Error && /already exists/i.test(err.message)) {
        await this.checkDim(await this.opts.client.sendCommand(['FT.INFO', this.indexName]), dim);
        return;
      }
      throw err;
    }
  }

  /**
   * FT.INFO lists `dim` since RediSearch 2.8; on 2.6 a KNN probe with a
   * vector of our length makes the server name the expected blob size.
   */
  private async checkDim(info: unknown, dim: number): Promise<void> {
    const known = dimFromInfo(info);
    if (known !== undefined) {
      if (known !== dim) throw new VectorDimensionMismatchError(this.indexName, known, dim);
      return;
    }
    try {
      await this.opts.client.ft.search(this.indexName, '*=>[KNN 1 @vec $B]', {
        PARAMS: { B: Buffer.alloc(dim * 4) },
        LIMIT: { from: 0, size: 0 },
        DIALECT: 2,
      });
    } catch (err) {
      const m = err instanceof Error ? /blob size \((\d+)\).*expected size \((\d+)\)/i.exec(err.message) : null;
      if (m !== null) throw new VectorDimensionMismatchError(this.indexName, Number(m[2]) / 4, dim);
      throw err;
    }
  }
}
