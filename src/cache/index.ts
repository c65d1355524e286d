/**
 * The response cache the core calls: exact lookups first, then semantic
 * ones (embed the last user turn once, search its partition, verify the best
 * candidates), behind one facade that never fails a request: a broken store
 * or embedder degrades to a miss and is counted in `stats().errors`.
 */
import type { CacheConfig } from '../config/cache.js';
import { createEmbedder, EmbedderBusyError, type Embedder } from '../embedding/index.js';
import type { CanonicalRequest, CanonicalResponse } from '../protocol/canonical.js';
import { digestOf, exactKey, partitionOf, partitionPrefix, questionText, type Partition } from './key.js';
import { MemoryExactStore } from './stores/memory.js';
import { RedisExactStore } from './stores/redis.js';
import { acquireRedis, type RedisLease } from '../store/redis-pool.js';
import type { ExactStore, VectorStore } from './types.js';
import { parseSignature, signatureOf } from './signature.js';
import { textSignature, verifySignatures, type TextSignature } from './verify.js';
import { MemoryVectorStore } from './vector/memory.js';
import { RedisVectorStore } from './vector/redis.js';

export type { CacheConfig, CacheConfigInput } from '../config/cache.js';
export { exactKey, partitionOf, partitionPrefix, questionText, splitQuestion, type Partition } from './key.js';

/** `miss-embedder-busy`: a miss whose semantic stage was skipped because the embedder's queue was full. */
export type CacheResultKind = 'hit-exact' | 'hit-semantic' | 'miss' | 'miss-embedder-busy' | 'bypass';

/** What the core knows about a request when it looks it up. */
export interface CacheLookupInput {
  req: CanonicalRequest;
  tenant: string;
  modelGroup: string;
  /** e.g. `/v1/chat/completions`; selects per-route overrides. */
  route: string;
  /** `cache-control: no-cache`: skip the lookup, the answer may be stored. */
  noCache: boolean;
  /** `cache-control: no-store`: neither lookup nor store. */
  noStore: boolean;
  /** `false`: do not embed this request (private content and an embedder off the host): exact cache only. */
  semantic?: boolean;
}

/** Opaque to the core: where and how to store the answer of a looked-up request. */
export interface CacheTicket {
  readonly partition: Partition;
  readonly key: string;
  readonly ttlSeconds: number;
  /** The question to embed, when the semantic cache applies. */
  readonly text?: string;
  /** Its embedding, when the lookup computed it. */
  embedding?: Float32Array;
}

/** The result of a lookup. */
export interface CacheLookup {
  result: CacheResultKind;
  response?: CanonicalResponse;
  /** Cosine similarity of a semantic hit. */
  similarity?: number;
  /** The last user turn's embedding when computed, for routing to reuse. */
  embedding?: Float32Array;
  /** Present when the answer may be stored. */
  ticket?: CacheTicket;
}

/** Counters since start; `entries` is the exact store's size. */
export interface CacheStats {
  lookups: number;
  hitsExact: number;
  hitsSemantic: number;
  misses: number;
  /** Misses whose semantic stage was skipped: the embedder's queue was full (also counted in `misses`). */
  missesEmbedderBusy: number;
  bypass: number;
  stores: number;
  errors: number;
  entries: number;
  /** Entries of the in-process semantic index (0 with Redis or when semantic is off). */
  semanticEntries: number;
  /** Its approximate bytes (bounded by `cache.semantic.maxBytes`). */
  semanticBytes: number;
}

/** The cache facade. */
export interface ResponseCache {
  /** Never throws: a store failure (Redis down) degrades to 'miss', counted in `stats().errors`. */
  lookup(input: CacheLookupInput): Promise<CacheLookup>;
  /** Never throws. Refuses errors, content-filtered and empty answers, and tool-call turns unless `cacheToolCalls`. */
  store(ticket: CacheTicket, response: CanonicalResponse): Promise<void>;
  /** Deletes a tenant's entries (or one model group's); resolves to the exact plus semantic entries removed. */
  purge(filter: { tenant: string; modelGroup?: string }): Promise<number>;
  stats(): CacheStats;
  /** The semantic cache's embedder (shared, e.g. with routing's task prototypes), if any. */
  readonly embedder: Embedder | undefined;
  /** True when the embedder sends text off the host (an `openai-compatible` endpoint not on loopback). */
  readonly embedsRemotely: boolean;
  /** True when semantic entries (question text and vector) are written to a shared store (Redis). */
  readonly storesQuestionsRemotely: boolean;
  close(): Promise<void>;
}

/** Optional collaborators of {@link createResponseCache}. */
export interface ResponseCacheDeps {
  /** Default: `createEmbedder(cfg.semantic.embedding)` (closed with the cache). */
  embedder?: Embedder;
  /** Overrides `cfg.redis.url`. */
  redisUrl?: string;
  /** A vector store to use instead of the configured one (benchmarks, custom backends); closed by its owner. */
  vectorStore?: VectorStore;
  /** Store and embedder failures, at most once a minute per distinct message. */
  onError?: (err: Error, op: string) => void;
}

const EMBEDDER_RETRY_MS = 30_000;
/** The embedder refused a text because its queue was full. */
const BUSY = Symbol('embedder-busy');

/** Whether a URL points at this host. */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}

/**
 * Whether an answer is complete and may be replayed to someone else: it
 * ended with a known `stop` (or a tool-call turn when `cacheToolCalls`),
 * never `length`, a content filter, an error or a missing/unknown finish,
 * and it is the only choice (an `n > 1` answer is stored whole or not at
 * all, and the canonical form holds one choice: not at all).
 */
export function isStorable(response: CanonicalResponse, cacheToolCalls: boolean): boolean {
  if (response.finishReason !== 'stop' && response.finishReason !== 'tool_calls') return false;
  if (response.finishUnknown || (response.choices ?? 1) > 1) return false;
  const calls = response.toolCalls !== undefined && response.toolCalls.length > 0;
  if ((calls || response.finishReason === 'tool_calls') && !cacheToolCalls) return false;
  return calls || response.text.length > 0;
}

/** `n > 1` (or `best_of > 1`): several answers, which one stored choice cannot replay. */
function asksManyChoices(req: CanonicalRequest): boolean {
  const { n, best_of: bestOf } = req.extra;
  return (typeof n === 'number' && n > 1) || (typeof bestOf === 'number' && bestOf > 1);
}

class Cache implements ResponseCache {
  private readonly counters = { lookups: 0, hitsExact: 0, hitsSemantic: 0, misses: 0, missesEmbedderBusy: 0, bypass: 0, stores: 0, errors: 0 };
  private readonly redis: RedisLease | undefined;
  private readonly vectorRedis: RedisLease | undefined;
  private readonly exact: ExactStore;
  private readonly vectors: VectorStore | undefined;
  readonly embedder: Embedder | undefined;
  readonly embedsRemotely: boolean;
  get storesQuestionsRemotely(): boolean {
    return this.vectors?.kind === 'redis';
  }
  private embedderReady: Promise<void> | undefined;
  private embedderRetryAt = 0;
  private readonly restored: Promise<unknown>;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly cfg: CacheConfig,
    private readonly deps: ResponseCacheDeps,
  ) {
    const sem = cfg.semantic;
    this.embedsRemotely = sem.enabled && sem.embedding.kind === 'openai-compatible' && !isLoopbackUrl(sem.embedding.baseUrl);
    const redisVectors = sem.enabled && sem.vectorStore === 'redis' && deps.vectorStore === undefined;
    const conn = deps.redisUrl !== undefined ? { ...cfg.redis, url: deps.redisUrl, cluster: undefined } : cfg.redis;
    if (cfg.store === 'redis' || (redisVectors && sem.redis === undefined)) {
      this.redis = acquireRedis('cache', conn, (err) => this.report(err, 'redis-connection', false));
    }
    if (redisVectors && sem.redis !== undefined) {
      this.vectorRedis = acquireRedis('semantic', sem.redis, (err) => this.report(err, 'redis-connection', false));
    }
    this.exact =
      cfg.store === 'redis'
        ? new RedisExactStore({ redis: this.redis!.store, keyPrefix: cfg.redis.keyPrefix })
        : new MemoryExactStore({ maxBytes: cfg.memory.maxBytes, maxEntries: cfg.memory.maxEntries });
    this.restored = Promise.resolve();
    if (sem.enabled) {
      this.embedder = deps.embedder ?? createEmbedder(sem.embedding, { boundQueue: true });
      this.startEmbedder();
      if (deps.vectorStore !== undefined) {
        this.vectors = deps.vectorStore;
      } else if (sem.vectorStore === 'redis') {
        this.vectors = new RedisVectorStore({ redis: (this.vectorRedis ?? this.redis)!.store, keyPrefix: cfg.redis.keyPrefix, indexName: sem.indexName, query: sem.redisQuery });
      } else {
        const mem = new MemoryVectorStore({ maxEntries: sem.maxEntries, maxBytes: sem.maxBytes, embedderId: this.embedder.id });
        this.vectors = mem;
        if (sem.snapshotPath !== undefined) {
          const path = sem.snapshotPath;
          this.restored = mem.restore(path).catch((err: unknown) => this.report(err, 'snapshot-restore'));
          if (sem.snapshotIntervalSeconds !== undefined) {
            this.timer = setInterval(() => void this.snapshot(), sem.snapshotIntervalSeconds * 1000);
            this.timer.unref();
          }
        }
      }
    }
  }

  async lookup(input: CacheLookupInput): Promise<CacheLookup> {
    this.counters.lookups++;
    try {
      return await this.tryLookup(input);
    } catch (err) {
      // Stores and the embedder are guarded below; this is the last line (e.g. an unhashable request).
      this.report(err, 'lookup');
      this.counters.misses++;
      return { result: 'miss' };
    }
  }

  async store(ticket: CacheTicket, response: CanonicalResponse): Promise<void> {
    try {
      await this.tryStore(ticket, response);
    } catch (err) {
      this.report(err, 'store');
    }
  }

  private async tryLookup(input: CacheLookupInput): Promise<CacheLookup> {
    const { req, tenant, modelGroup } = input;
    const route = this.cfg.routes?.[input.route as keyof NonNullable<CacheConfig['routes']>];
    const enabled = this.cfg.enabled && (route?.enabled ?? true) && this.modelAllowed(req.model, modelGroup);
    if (!enabled || input.noStore || req.operation === 'embedding' || asksManyChoices(req)) return this.bypass();
    const questionChars = this.cfg.semantic.questionChars;
    const partition = partitionOf({ tenant, modelGroup, req, questionChars });
    const semantic = this.vectors !== undefined && input.semantic !== false && (route?.semantic ?? true);
    const text = semantic ? questionText(req, questionChars) : undefined;
    const ticket: CacheTicket = { partition, key: exactKey(req, partition), ttlSeconds: route?.ttlSeconds ?? this.cfg.ttlSeconds, text };
    if (input.noCache) return this.bypass(ticket);

    try {
      const hit = await this.exact.get(ticket.key);
      if (hit !== undefined && hit.tenant === tenant && hit.modelGroup === modelGroup) {
        this.counters.hitsExact++;
        return { result: 'hit-exact', response: hit.response };
      }
    } catch (err) {
      this.report(err, 'exact-get');
    }

    if (text !== undefined) {
      const embedding = await this.embed(text);
      if (embedding === BUSY) {
        this.counters.misses++;
        this.counters.missesEmbedderBusy++;
        // Stored exact-only: embedding it at store time would load the busy embedder again.
        return { result: 'miss-embedder-busy', ticket: { partition, key: ticket.key, ttlSeconds: ticket.ttlSeconds } };
      }
      if (embedding !== undefined) {
        ticket.embedding = embedding;
        const hit = await this.semanticHit(partition, text, embedding, route?.threshold ?? this.cfg.semantic.threshold);
        if (hit !== undefined) {
          this.counters.hitsSemantic++;
          return { result: 'hit-semantic', response: hit.response, similarity: hit.similarity, embedding };
        }
      }
    }
    this.counters.misses++;
    return { result: 'miss', embedding: ticket.embedding, ticket };
  }

  private async tryStore(ticket: CacheTicket, response: CanonicalResponse): Promise<void> {
    if (!isStorable(response, this.cfg.cacheToolCalls)) return;
    const { partition } = ticket;
    let stored = false;
    try {
      await this.exact.set(ticket.key, { response, tenant: partition.tenant, modelGroup: partition.modelGroup, storedAt: Date.now() }, ticket.ttlSeconds);
      stored = true;
    } catch (err) {
      this.report(err, 'exact-set');
    }
    if (ticket.text !== undefined && this.vectors !== undefined) {
      const embedding = ticket.embedding ?? (await this.embed(ticket.text));
      if (embedding !== undefined && embedding !== BUSY) {
        try {
          await this.restored;
          const expiresAt = Date.now() + ticket.ttlSeconds * 1000;
          // The prompt text is kept only when configured: the verifier reads a signature of it.
          const sem = this.cfg.semantic;
          const text = sem.keepPromptText ? ticket.text : '';
          const sig = sem.verifier ? signatureOf(ticket.text) : undefined;
          const record = { partition: partition.id, model: partition.modelGroup, text, id: digestOf(ticket.text, 32), response, expiresAt };
          await this.vectors.add(embedding, sig === undefined ? record : { ...record, sig });
          stored = true;
        } catch (err) {
          this.report(err, 'vector-add');
        }
      }
    }
    if (stored) this.counters.stores++;
  }

  async purge(filter: { tenant: string; modelGroup?: string }): Promise<number> {
    const prefix = partitionPrefix(filter);
    await this.restored;
    const [exact, semantic] = await Promise.all([this.exact.purge(prefix), this.vectors?.purge(prefix) ?? 0]);
    return exact + semantic;
  }

  stats(): CacheStats {
    const mem = this.vectors instanceof MemoryVectorStore ? this.vectors : undefined;
    return { ...this.counters, entries: this.exact.size(), semanticEntries: mem?.size() ?? 0, semanticBytes: mem?.byteSize ?? 0 };
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.snapshot();
    await this.exact.close();
    if (this.deps.vectorStore === undefined) await this.vectors?.close();
    await this.redis?.release();
    await this.vectorRedis?.release();
    if (this.deps.embedder === undefined) await this.embedder?.close?.().catch(() => undefined);
  }

  private bypass(ticket?: CacheTicket): CacheLookup {
    this.counters.bypass++;
    return ticket === undefined ? { result: 'bypass' } : { result: 'bypass', ticket };
  }

  private modelAllowed(model: string, group: string): boolean {
    const only = this.cfg.models;
    return only === undefined || only.includes(model) || only.includes(group);
  }

  /** The best candidate above the threshold that the verifier accepts. */
  private async semanticHit(partition: Partition, text: string, embedding: Float32Array, threshold: number) {
    try {
      await this.restored;
      const matches = await this.vectors!.search(partition.id, embedding, this.cfg.semantic.candidates);
      matches.sort((a, b) => b.similarity - a.similarity);
      let query: TextSignature | undefined;
      for (const m of matches) {
        if (m.similarity < threshold) break;
        if (m.record.partition !== partition.id) continue;
        if (this.cfg.semantic.verifier) {
          // An entry stored with the verifier off has neither signature nor text: it cannot be checked, so it is not served.
          const cached = m.record.sig ? parseSignature(m.record.sig) : m.record.text ? textSignature(m.record.text) : undefined;
          if (cached === undefined) continue;
          query ??= textSignature(text);
          if (!verifySignatures(query, cached, m.similarity, { minScore: this.cfg.semantic.verifierMinScore }).accept) continue;
        }
        return { response: m.record.response, similarity: m.similarity };
      }
    } catch (err) {
      this.report(err, 'vector-search');
    }
    return undefined;
  }

  private startEmbedder(): void {
    const p = this.embedder!.ready();
    this.embedderReady = p;
    p.catch((err: unknown) => {
      this.embedderRetryAt = Date.now() + EMBEDDER_RETRY_MS;
      this.report(err, 'embedder-ready');
    });
  }

  /**
   * One embedding; `undefined` (counted) when the embedder fails, {@link BUSY} when its queue is
   * full (not an error: the lookup goes on exact-only, the answer is stored exact-only).
   */
  private async embed(text: string): Promise<Float32Array | typeof BUSY | undefined> {
    try {
      if (this.embedderRetryAt !== 0) {
        if (Date.now() < this.embedderRetryAt) return undefined;
        this.embedderRetryAt = 0;
        this.startEmbedder();
      }
      await this.embedderReady;
      const [vec] = await this.embedder!.embed([text]);
      return vec;
    } catch (err) {
      if (err instanceof EmbedderBusyError) return BUSY;
      if (this.embedderRetryAt === 0) this.report(err, 'embed');
      return undefined;
    }
  }

  private async snapshot(): Promise<void> {
    const path = this.cfg.semantic.snapshotPath;
    if (!(this.vectors instanceof MemoryVectorStore) || path === undefined) return;
    try {
      await this.restored;
      await this.vectors.snapshot(path);
    } catch (err) {
      this.report(err, 'snapshot-write');
    }
  }

  private report(err: unknown, op: string, count = true): void {
    if (count) this.counters.errors++;
    const e = err instanceof Error ? err : new Error(String(err));
    const id = `${op}:${e.message}`;
    const now = Date.now();
    if ((this.reported.get(id) ?? 0) > now) return;
    if (this.reported.size > 1000) this.reported.clear();
    this.reported.set(id, now + 60_000);
    this.deps.onError?.(e, op);
  }
}

/**
 * Builds the response cache from its configuration.
 *
 * @example
 * ```ts
 * const cache = createResponseCache(cacheSchema.parse({ semantic: { threshold: 0.85 } }));
 * const hit = await cache.lookup({ req, tenant, modelGroup: 'fast', route: '/v1/chat/completions', noCache: false, noStore: false });
 * if (hit.result === 'miss' && hit.ticket) await cache.store(hit.ticket, answer);
 * ```
 */
export function createResponseCache(cfg: CacheConfig, deps: ResponseCacheDeps = {}): ResponseCache {
  return new Cache(cfg, deps);
}
