/** Per-request state carried from `decide` through `execute` to `observe`. */
import type { CanonicalRequest, Operation, Protocol } from '../protocol/canonical.js';
import type { AttemptRecord } from '../upstream/fallback.js';
import type { RouteDecision } from '../routing/policy.js';
import type { CacheTicket } from '../cache/index.js';
import type { Identity } from '../identity/identity.js';

/** `miss-embedder-busy`: a miss whose semantic stage was skipped because the embedder's queue was full. */
export type CacheResult = 'hit-exact' | 'hit-semantic' | 'miss' | 'miss-embedder-busy' | 'bypass' | 'off';

export interface CacheControl {
  /** Skip the lookup (may still store). */
  noCache: boolean;
  /** Neither look up nor store. */
  noStore: boolean;
}

export interface RequestContext {
  readonly id: string;
  /** performance.now() at arrival. */
  readonly startedAt: number;
  readonly protocol: Protocol;
  readonly operation: Operation;
  readonly req: CanonicalRequest;
  /** The client's JSON body. */
  readonly raw: Record<string, unknown>;
  /** The client's body bytes, when the face read them itself. */
  readonly rawBytes: Buffer | undefined;
  /** The resolved identity's tenant (`identity.tenant`): what cache partitions, budgets and limits key on. */
  readonly tenant: string;
  /** Who is calling, resolved once per request before the body is parsed. */
  readonly identity: Identity;
  readonly cacheControl: CacheControl;
  cache: CacheResult;
  similarity?: number;
  /** The last user turn's embedding, computed once by the semantic cache; routing reuses it. */
  embedding?: Float32Array;
  /** Where to store the answer, when the cache may keep it. */
  cacheTicket?: CacheTicket;
  /** Budget standing from accounting: `soft` asks the router to downgrade. */
  budget?: 'ok' | 'soft' | 'hard';
  route?: RouteDecision;
  attempts: AttemptRecord[];
  /** A proxy carries the forward out (nginx redirect) and may report usage later: accounting keeps a correction handle. */
  correctable?: boolean;
  /** Upstream and model that answered. */
  upstream?: string;
  model?: string;
}

/** The LLM API operations Switchyard serves, by method and path. */
export interface Endpoint {
  protocol: Protocol;
  operation: Operation;
}

const ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': { protocol: 'openai', operation: 'chat' },
  '/v1/completions': { protocol: 'openai', operation: 'completion' },
  '/v1/embeddings': { protocol: 'openai', operation: 'embedding' },
  '/v1/messages': { protocol: 'anthropic', operation: 'chat' },
};

/** The path without its query string. */
export function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/** The endpoint a path names (query string ignored), or undefined for other paths. */
export function endpointFor(path: string): Endpoint | undefined {
  return ENDPOINTS[pathOnly(path)];
}

/** The protocol to render errors in for a path (Anthropic for /v1/messages, OpenAI otherwise). */
export function protocolForPath(path: string): Protocol {
  return path.startsWith('/v1/messages') ? 'anthropic' : 'openai';
}
