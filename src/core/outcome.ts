/** What `decide` concludes: answer now, forward upstream, or not ours. */
import type { Deployment } from '../upstream/registry.js';
import type { RequestContext } from './context.js';

/** Answer without calling an upstream: a cache hit, a listing, or a rejection. */
export interface RespondOutcome {
  type: 'respond';
  ctx: RequestContext | undefined;
  status: number;
  headers: Record<string, string>;
  contentType: 'application/json' | 'text/event-stream';
  body: string;
}

/** Call an upstream: the candidates in order (first = chosen, rest = fallbacks). */
export interface ForwardOutcome {
  type: 'forward';
  ctx: RequestContext;
  candidates: Deployment[];
  headers: Record<string, string>;
}

/** Not an LLM route: the face passes it on untouched. */
export interface PassOutcome {
  type: 'pass';
}

export type Outcome = RespondOutcome | ForwardOutcome | PassOutcome;
