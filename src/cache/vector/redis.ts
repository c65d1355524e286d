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
 * DIALECT 2 (plus HYBRID_POLICY / BATCH_SIZE / EF_RUNTIME when configured);
 * COSINE `score` is a distance, similarity = 1 - score.
 *
 * The index's dimension and metric are recorded at creation in a key of
 * their own, `<prefix>semantic-meta:<index>`, and checked at init: FT.INFO
 * on RediSearch 2.6 lists no dimension, and a wrong-size probe of an empty
 * 2.6 index answers without error, so the record is the only reliable check.
 * Every RediSearch failure surfaces as a {@link VectorStoreError}.
 * RediSearch serves one node: the store refuses a Redis Cluster connection.
 */
import type { CanonicalResponse } from '../../protocol/canonical.js';
import { digestOf } from '../key.js';
import type { VectorMatch, VectorRecord, VectorStore } from '../types.js';
import type { RedisNodeClient, RedisStore } from '../../store/redis.js';
import { escapeGlob, unlinkMatching } from '../stores/redis-client.js';

/** How a filtered KNN query runs (RediSearch 2.6 query attributes); unset fields use the server's choice. */
export interface VectorQueryTuning {
  /** `ADHOC_BF` (brute force over the filter's matches) or `BATCHES` (HNSW in batches, then filter). */
  hybridPolicy?: 'ADHOC_BF' | 'BATCHES';
  /** Batch size for `BATCHES`. */
  batchSize?: number;
  /** HNSW candidate list size at query time (recall vs speed). */
  efRuntime?: number;
}

/** Options of {@link RedisVectorStore}. */
export interface RedisVectorStoreOptions {
  redis: RedisStore;
  /** e.g. `switchyard:`; hashes live under `<keyPrefix>v:`. */
  keyPrefix: string;
  /** Default `<keyPrefix>semantic`. */
  indexName?: string;
  /** HNSW graph parameters of a new index. */
  m?: number;
  efConstruction?: number;
  efRuntime?: number;
  /** Query attributes of each lookup. */
  query?: VectorQueryTuning;
}

/** The distance metric every index of this store uses. */
const METRIC = 'COSINE';

/** Any failure of the RediSearch store, with a reason a caller can act on. */
export class VectorStoreError extends Error {
  constructor(
    readonly reason: 'module-missing' | 'dimension' | 'metric' | 'index' | 'query' | 'cluster',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VectorStoreError';
  }
}

/** The server has no RediSearch module. */
export class RediSearchMissingError extends VectorStoreError {
  constructor(detail: string) {
    super(
      'module-missing',
      `RediSearch 2.6+ is required for cache.semantic.vectorStore "redis", but the Redis server does not know FT.* commands (${detail}). ` +
        'Use Redis Stack, Redis 8 or a server with the search module loaded, or set cache.semantic.vectorStore to "memory".',
    );
    this.name = 'RediSearchMissingError';
  }
}

/** An existing index was built for vectors of another length. */
export class VectorDimensionMismatchError extends VectorStoreError {
  constructor(
    readonly indexName: string,
    readonly indexDim: number,
    readonly embedderDim: number,
  ) {
    super(
      'dimension',
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

/** What `<prefix>semantic-meta:<index>` records about an index. */
export interface VectorIndexMeta {
  dim: number;
  metric: string;
  type: 'FLOAT32';
  createdAt: string;
}

/** The KNN clause of a lookup, with the tuning's query attributes (exported for tests). */
export function knnQuery(partition: string, k: number, tuning: VectorQueryTuning = {}): string {
  const attrs: string[] = [];
  if (tuning.hybridPolicy !== undefined) attrs.push(`HYBRID_POLICY ${tuning.hybridPolicy}`);
  if (tuning.hybridPolicy === 'BATCHES' && tuning.batchSize !== undefined) attrs.push(`BATCH_SIZE ${tuning.batchSize}`);
  if (tuning.efRuntime !== undefined) attrs.push(`EF_RUNTIME ${tuning.efRuntime}`);
  return `(@partition:{${escapeTagValue(partition)}})=>[KNN ${k} @vec $B${attrs.map((a) => ` ${a}`).join('')} AS score]`;
}

/** Turns a RediSearch reply error into a typed error (the dimension, a missing module or index, or the query). */
export function vectorError(err: unknown, indexName: string, dim: number): Error {
  if (err instanceof VectorStoreError || !(err instanceof Error)) return err instanceof Error ? err : new Error(String(err));
  if (isUnknownCommand(err)) return new RediSearchMissingError(err.message);
  const size = /blob size \((\d+)\).*expected size \((\d+)\)/i.exec(err.message);
  if (size !== null) return new VectorDimensionMismatchError(indexName, Number(size[2]) / 4, dim);
  if (isUnknownIndex(err)) return new VectorStoreError('index', `RediSearch index "${indexName}" does not exist (dropped while in use?): ${err.message}`, { cause: err });
  if (err.name === 'ErrorReply' || err.constructor.name.endsWith('ErrorReply')) {
    return new VectorStoreError('query', `RediSearch refused the query on "${indexName}": ${err.message}`, { cause: err });
  }
  // Deadline, breaker, connection: left as they are (the cache counts them as a miss).
  return err;
}

/**
 * RediSearch-backed vector store.
 *
 * @example
 * ```ts
 * const store = new RedisVectorStore({ redis: acquireRedis('cache', config.cache.redis).store, keyPrefix: 'switchyard:' });
 * await store.init(512); // creates the index or checks its recorded dimension
 * ```
 */
export class RedisVectorStore implements VectorStore {
  readonly kind = 'redis' as const;
  readonly indexName: string;
  /** Where the index's dimension and metric are recorded. */
  readonly metaKey: string;
  private readonly base: string;
  private ready: Promise<void> | undefined;
  private readyDim: number | undefined;
  private count = 0;
  private countedAt = 0;

  constructor(private readonly opts: RedisVectorStoreOptions) {
    this.base = `${opts.keyPrefix}v:`;
    this.indexName = opts.indexName ?? `${opts.keyPrefix}semantic`;
    this.metaKey = `${opts.keyPrefix}semantic-meta:${this.indexName}`;
    if (opts.redis.cluster) {
      throw new VectorStoreError(
        'cluster',
        'RediSearch serves one Redis node; point cache.semantic at a Redis with the query engine (Redis 8 or Redis Stack) via its own cache.redis, not at a cluster',
      );
    }
  }

  private get client(): RedisNodeClient {
    return this.opts.redis.node('the RediSearch vector store');
  }

  /** One deadline-guarded call; RediSearch errors come back typed. */
  private async call<T>(op: string, fn: (c: RedisNodeClient) => Promise<T>, dim = this.readyDim ?? 0): Promise<T> {
    try {
      return await this.opts.redis.call(op, () => fn(this.client));
    } catch (err) {
      const typed = vectorError(err, this.indexName, dim);
      // The index was dropped behind our back: the next call creates it again (and checks the record).
      if (typed instanceof VectorStoreError && typed.reason === 'index' && op !== 'vector-info' && op !== 'vector-drop') this.ready = undefined;
      throw typed;
    }
  }

  /**
   * Creates the index (recording its dimension and metric), or checks an
   * existing one against the record. Rejects with {@link RediSearchMissingError}
   * or {@link VectorDimensionMismatchError} (both remembered); other
   * failures (Redis down) are retried on next use.
   */
  init(dim: number): Promise<void> {
    if (this.ready !== undefined && this.readyDim === dim) return this.ready;
    this.readyDim = dim;
    const p = this.ensureIndex(dim);
    this.ready = p;
    p.catch((err: unknown) => {
      const permanent = err instanceof VectorStoreError && (err.reason === 'module-missing' || err.reason === 'dimension' || err.reason === 'metric');
      if (!permanent && this.ready === p) this.ready = undefined;
    });
    return p;
  }

  async add(vector: Float32Array, record: VectorRecord): Promise<void> {
    // A hash TAG value is split at the separator; partition ids (hex and ':') never hold one.
    if (record.partition.includes(',')) throw new Error(`partition "${record.partition}" holds the TAG separator ","`);
    await this.init(vector.length);
    const key = `${this.base}${record.partition}:${record.id ?? digestOf(record.text, 32)}`;
    const vec = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    await this.call('vector-add', (c) =>
      c
        .multi()
        .hSet(key, {
          vec,
          partition: record.partition,
          model: record.model,
          text: record.text,
          ...(record.sig !== undefined ? { sig: record.sig } : {}),
          response: JSON.stringify(record.response),
          expiresAt: String(record.expiresAt),
        })
        .pExpireAt(key, record.expiresAt)
        .exec(),
    );
  }

  async search(partition: string, vector: Float32Array, k: number): Promise<VectorMatch[]> {
    await this.init(vector.length);
    const query = knnQuery(partition, k, this.opts.query);
    const res = (await this.call('vector-search', (c) =>
      c.ft.search(this.indexName, query, {
        PARAMS: { B: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength) },
        RETURN: ['score', 'partition', 'model', 'text', 'sig', 'response', 'expiresAt'],
        SORTBY: { BY: 'score', DIRECTION: 'ASC' },
        LIMIT: { from: 0, size: k },
        DIALECT: 2,
      }),
    )) as unknown as SearchResult;
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
          text: String(v.text ?? ''),
          ...(typeof v.sig === 'string' && v.sig !== '' ? { sig: v.sig } : {}),
          response: JSON.parse(String(v.response)) as CanonicalResponse,
          expiresAt,
        },
      });
    }
    return out;
  }

  async purge(partitionPrefix: string): Promise<number> {
    return unlinkMatching(this.opts.redis, `${escapeGlob(this.base + partitionPrefix)}*`);
  }

  /** Documents in the index at the last count (FT.INFO `num_docs`, refreshed in the background). */
  size(): number {
    if (Date.now() - this.countedAt > 30_000 && this.ready !== undefined && this.opts.redis.available) {
      this.countedAt = Date.now();
      this.info()
        .then((reply) => {
          const n = numDocs(reply);
          if (n !== undefined) this.count = n;
        })
        .catch(() => undefined);
    }
    return this.count;
  }

  /** Drops the index, its documents and its record (tests, resets, the benchmark's cleanup). */
  async drop(): Promise<void> {
    try {
      await this.call('vector-drop', (c) => c.ft.dropIndex(this.indexName, { DD: true }));
    } catch (err) {
      if (!(err instanceof VectorStoreError && err.reason === 'index')) throw err;
    }
    await this.call('vector-drop', (c) => c.del(this.metaKey));
    this.ready = undefined;
  }

  /** The client is shared and closed by its owner. */
  async close(): Promise<void> {}

  /** The recorded dimension and metric, if any. */
  async meta(): Promise<VectorIndexMeta | undefined> {
    const raw = await this.call('vector-meta', (c) => c.get(this.metaKey));
    if (raw === null) return undefined;
    try {
      const m = JSON.parse(raw) as VectorIndexMeta;
      return Number.isInteger(m.dim) && typeof m.metric === 'string' ? m : undefined;
    } catch {
      return undefined;
    }
  }

  private info(): Promise<unknown> {
    return this.call('vector-info', (c) => c.sendCommand(['FT.INFO', this.indexName]));
  }

  private check(meta: VectorIndexMeta, dim: number): void {
    if (meta.dim !== dim) throw new VectorDimensionMismatchError(this.indexName, meta.dim, dim);
    if (meta.metric !== METRIC) {
      throw new VectorStoreError('metric', `RediSearch index "${this.indexName}" uses ${meta.metric} distance; this version needs ${METRIC}. Drop it (FT.DROPINDEX ${this.indexName} DD) or set cache.semantic.indexName.`);
    }
  }

  /** Records the index's shape unless another replica did first; then checks whichever record won. */
  private async record(dim: number): Promise<void> {
    const mine: VectorIndexMeta = { dim, metric: METRIC, type: 'FLOAT32', createdAt: new Date().toISOString() };
    await this.call('vector-meta', (c) => c.set(this.metaKey, JSON.stringify(mine), { condition: 'NX' }));
    const meta = await this.meta();
    if (meta) this.check(meta, dim);
  }

  private async ensureIndex(dim: number): Promise<void> {
    let info: unknown;
    try {
      info = await this.info();
    } catch (err) {
      if (!(err instanceof VectorStoreError && err.reason === 'index')) throw err;
      await this.create(dim);
      return;
    }
    const meta = await this.meta();
    if (meta) return this.check(meta, dim);
    await this.adopt(info, dim);
  }

  /**
   * An index without a record (made by an older Switchyard). An empty one
   * holds nothing to lose and its shape cannot be checked on 2.6, so it is
   * rebuilt for this dimension (on every version, for one behaviour). A
   * non-empty one is checked by FT.INFO's `dim` (RediSearch 2.8+), else by a
   * probe, which fails on a non-empty 2.6 index of another dimension.
   */
  private async adopt(info: unknown, dim: number): Promise<void> {
    if ((numDocs(info) ?? 0) === 0) {
      await this.call('vector-drop', (c) => c.ft.dropIndex(this.indexName)).catch((err: unknown) => {
        if (!(err instanceof VectorStoreError && err.reason === 'index')) throw err;
      });
      return this.create(dim);
    }
    const known = dimFromInfo(info);
    if (known !== undefined) {
      if (known !== dim) throw new VectorDimensionMismatchError(this.indexName, known, dim);
      return this.record(dim);
    }
    await this.call(
      'vector-probe',
      (c) => c.ft.search(this.indexName, '*=>[KNN 1 @vec $B]', { PARAMS: { B: Buffer.alloc(dim * 4) }, LIMIT: { from: 0, size: 0 }, DIALECT: 2 }),
      dim,
    );
    return this.record(dim);
  }

  private async create(dim: number): Promise<void> {
    try {
      await this.call('vector-create', (c) =>
        c.ft.create(
          this.indexName,
          {
            vec: {
              type: 'VECTOR',
              ALGORITHM: 'HNSW',
              TYPE: 'FLOAT32',
              DIM: dim,
              DISTANCE_METRIC: METRIC,
              M: this.opts.m,
              EF_CONSTRUCTION: this.opts.efConstruction,
              EF_RUNTIME: this.opts.efRuntime,
            },
            partition: { type: 'TAG', CASESENSITIVE: true },
            model: { type: 'TAG', CASESENSITIVE: true },
          },
          { ON: 'HASH', PREFIX: this.base },
        ),
      );
    } catch (err) {
      // Another replica created it first: check it like any existing index.
      if (err instanceof VectorStoreError && /already exists/i.test(err.message)) {
        const meta = await this.meta();
        if (meta) return this.check(meta, dim);
        return this.adopt(await this.info(), dim);
      }
      throw err;
    }
    await this.record(dim);
  }
}

/** `num_docs` of a raw (RESP2) FT.INFO reply. */
function numDocs(reply: unknown): number | undefined {
  if (!Array.isArray(reply)) return undefined;
  const at = reply.findIndex((x) => String(x) === 'num_docs');
  return at >= 0 ? Number(reply[at + 1]) : undefined;
}
