/**
 * The decision record: one per request, the same facts the response headers
 * carry, emitted on the live event stream (and to metrics and record sinks).
 */
import { EventEmitter } from 'node:events';
import type { CacheResult } from '../core/context.js';
import type { AttemptRecord } from '../upstream/fallback.js';

export interface DecisionRecord {
  id: string;
  time: string;
  tenant: string;
  protocol: string;
  operation: string;
  requested: string;
  stream: boolean;
  cache: CacheResult;
  similarity?: number;
  tier?: string;
  reason?: string;
  upstream?: string;
  model?: string;
  status: number;
  /** The answer was complete (a stream ended properly). */
  complete: boolean;
  attempts: AttemptRecord[];
  durationMs: number;
  ttftMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** The token counts were estimated here (the upstream reported no usage, e.g. a cut stream). */
  usageEstimated?: boolean;
  /** USD the answer cost (0 for a cache hit); absent when nothing was used. */
  costUsd?: number;
  /** USD saved against the reference model (`accounting.pricing.referenceModel`), never negative. */
  savingsUsd?: number;
  /** Budget standing at admission (`soft`: the router was asked to downgrade). */
  budget?: 'ok' | 'soft' | 'hard';
  error?: string;
  /** An identity refusal (`operation: identity`): the face it came through. */
  face?: string;
  /** An identity refusal: the TCP peer (never a credential). */
  peer?: string;
  /** An identity refusal: how many this record stands for (1, or the rest of a window's group). */
  refusals?: number;
}

export interface SwitchyardEvents {
  decision: [DecisionRecord];
  /** Identity refusals, bounded per window (`identity/refusals.ts`); to sinks and the live stream, not to metrics. */
  refusal: [DecisionRecord];
}

/** Typed emitter of decision records; listeners must be cheap or defer work. */
export class DecisionEvents extends EventEmitter<SwitchyardEvents> {}
