/**
 * Candidate constraints: the second half of the policy. Each deployment gets
 * a penalty made of flags (unusable > context does not fit > saturated >
 * slower than the SLA); a stable sort by penalty keeps the configured order
 * among equals, so nothing is dropped and the attempt log can say why each
 * one was passed over. Unknown latency is judged optimistically.
 */
import type { Deployment } from '../upstream/registry.js';
import type { LoadMonitor } from './load.js';

/** No key, breaker open, cooling down, or health check failing. */
export const UNUSABLE = 8;
/** Prompt estimate plus max_tokens exceed the context window. */
export const NO_FIT = 4;
/** In-flight or queue length past its configured limit. */
export const SATURATED = 2;
/** The latency estimate exceeds the SLA. */
export const SLOW = 1;

/** The facts a penalty is judged from. */
export interface Judge {
  now: number;
  /** Estimated prompt tokens. */
  tokens: number;
  /** Requested completion tokens (0 when unstated). */
  maxOutput: number;
  /** Latency SLA in ms, when one applies. */
  slaMs: number | undefined;
  /** Streams are judged by time to first token, others by whole latency. */
  stream: boolean;
  load: LoadMonitor;
  maxInFlight: Readonly<Record<string, number>>;
  maxQueue: number;
}

/** The latency estimate the SLA is judged by, or undefined before any sample. */
export function latencyEstimate(d: Deployment, stream: boolean): number | undefined {
  return stream ? (d.ttftMs.value ?? d.upstream.ttftMs.value) : (d.latencyMs.value ?? d.upstream.latencyMs.value);
}

/** The penalty flags of one candidate. */
export function penalty(d: Deployment, j: Judge): number {
  const u = d.upstream;
  let p = 0;
  if (!d.usable(j.now) || j.load.downReason(u.name) !== undefined) p |= UNUSABLE;
  if (d.model.contextWindow !== undefined && j.tokens + j.maxOutput > d.model.contextWindow) p |= NO_FIT;
  const maxIn = j.maxInFlight[u.name];
  const q = j.load.queueLength(u.name);
  if ((maxIn !== undefined && u.inFlight >= maxIn) || (q !== undefined && q > j.maxQueue)) p |= SATURATED;
  if (j.slaMs !== undefined) {
    const est = latencyEstimate(d, j.stream);
    if (est !== undefined && est > j.slaMs) p |= SLOW;
  }
  return p;
}

/** Why a candidate was passed over, e.g. `gpt-4o breaker open`. */
export function describePenalty(d: Deployment, p: number, j: Judge): string {
  const u = d.upstream;
  const parts: string[] = [];
  if (p & UNUSABLE) parts.push(j.load.downReason(u.name) ?? d.whyUnusable(j.now) ?? 'unusable');
  if (p & NO_FIT) parts.push(`context ${j.tokens + j.maxOutput} > ${d.model.contextWindow}`);
  if (p & SATURATED) {
    const q = j.load.queueLength(u.name);
    parts.push(q !== undefined && q > j.maxQueue ? `queue ${q} > ${j.maxQueue}` : `in-flight ${u.inFlight} >= ${j.maxInFlight[u.name]}`);
  }
  if (p & SLOW) parts.push(`${j.stream ? 'ttft' : 'latency'} ${Math.round(latencyEstimate(d, j.stream)!)}ms > SLA ${j.slaMs}ms`);
  return `${d.model.name} ${parts.join(', ')}`;
}

/** Candidates ordered by penalty, with each one's flags. */
export interface Ordered {
  list: Deployment[];
  flags: number[];
}

/**
 * Orders candidates by penalty, stable. The common case (nothing flagged)
 * returns the input order without sorting.
 *
 * @example
 * orderByConstraints(tierCandidates, judge).list[0]; // the first usable, fitting, unsaturated, fast-enough model
 */
export function orderByConstraints(cands: Deployment[], j: Judge): Ordered {
  const flags = cands.map((d) => penalty(d, j));
  let any = false;
  for (const f of flags) if (f !== 0) any = true;
  if (!any) return { list: cands, flags };
  const idx = cands.map((_, i) => i).sort((a, b) => flags[a]! - flags[b]! || a - b);
  return { list: idx.map((i) => cands[i]!), flags: idx.map((i) => flags[i]!) };
}

/**
 * Explains the first choice against the candidates it overtook, e.g.
 * `claude-sonnet over gpt-4o (gpt-4o breaker open)`; undefined when the
 * first preference won.
 */
export function explainChoice(before: readonly Deployment[], after: Ordered, j: Judge): string | undefined {
  const chosen = after.list[0];
  if (!chosen || before[0] === chosen) return undefined;
  const stop = before.indexOf(chosen);
  const over = stop === -1 ? before : before.slice(0, stop);
  const passed = over.map((d) => describePenalty(d, after.flags[after.list.indexOf(d)] ?? 0, j));
  const names = over.map((d) => d.model.name);
  return `${chosen.model.name} over ${names.join(', ')} (${passed.join('; ')})`;
}
