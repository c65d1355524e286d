/**
 * The live view's numbers: totals since start and latency percentiles over
 * the last N requests, kept from the same decision records that feed the
 * metrics and the event stream (so the three agree). Breakdown keys use the
 * metrics' bounded label sets.
 *
 * History for a dashboard opened late: the last {@link RECENT_RECORDS}
 * decisions, and a time series since start ({@link SeriesPoint}) sampled at
 * most once a second when records arrive; when it holds
 * {@link SERIES_POINTS} points every other one is dropped and the interval
 * doubles, so it always spans the whole uptime in bounded memory.
 */
import type { DecisionRecord } from './events.js';
import { LabelSets, statusLabel } from './labels.js';
import type { MetricsSource } from './metrics.js';

/** Percentiles of a window of samples, in milliseconds. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Decisions kept for a dashboard that opens late. */
export const RECENT_RECORDS = 20;
/** Most points of the series since start (then its resolution halves). */
export const SERIES_POINTS = 360;

/** One point of the series since start: cumulative counts and the latency window's percentiles then. */
export interface SeriesPoint {
  /** Unix ms. */
  t: number;
  total: number;
  errors: number;
  lookups: number;
  hits: number;
  costUsd: number;
  savingsUsd: number;
  p50: number;
  p90: number;
  p99: number;
}

/** What `/switchyard/stats` returns. */
export interface StatsSnapshot {
  startedAt: string;
  now: string;
  /** Sequence number of the last record counted (the SSE event id of that record). */
  seq: number;
  requests: {
    total: number;
    errors: number;
    byStatus: Record<string, number>;
    byRoute: Record<string, number>;
    byTier: Record<string, number>;
    byUpstream: Record<string, number>;
    byModel: Record<string, number>;
    byCache: Record<string, number>;
  };
  cache: { lookups: number; hits: number; hitRate: number };
  tokens: { input: number; output: number };
  costUsd: number;
  savingsUsd: number;
  referenceModel?: string;
  costByModel: Record<string, number>;
  latencyMs: Percentiles;
  ttftMs: Percentiles;
  inFlight: number;
  breakers: { upstream: string; state: string; inFlight: number; available: boolean }[];
  /** Per deployment (model on an upstream): its breaker, whether it takes requests now, and why not. */
  deployments: { upstream: string; model: string; state: string; usable: boolean; reason?: string }[];
  budgets: { id: string; period: string; usd: number }[];
  /** The configured names breakdowns use (anything else is counted as `other`). */
  labels: { models: string[]; upstreams: string[]; tiers: string[] };
  /** The last decisions, oldest first; the last one has sequence number `seq`. */
  recent: DecisionRecord[];
  /** The series since start, oldest first, and the current interval between points (ms). */
  series: SeriesPoint[];
  seriesIntervalMs: number;
}

/** A fixed-size ring of samples. */
class Ring {
  private readonly buf: Float64Array;
  private n = 0;
  private i = 0;
  constructor(size: number) {
    this.buf = new Float64Array(size);
  }
  push(v: number): void {
    this.buf[this.i] = v;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }
  percentiles(): Percentiles {
    if (this.n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const s = this.buf.slice(0, this.n).sort();
    const at = (q: number) => s[Math.min(this.n - 1, Math.ceil(q * this.n) - 1)]!;
    return { count: this.n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[this.n - 1]! };
  }
}

const bump = (m: Record<string, number>, k: string, by = 1) => {
  m[k] = (m[k] ?? 0) + by;
};

/**
 * @example
 * const stats = new LiveStats(sy, 2048, () => 'gpt-4o');
 * sy.events.on('decision', (r) => stats.record(r, ++seq));
 * stats.snapshot();
 */
export class LiveStats {
  private readonly startedAt = new Date().toISOString();
  private labels: LabelSets;
  private seq = 0;
  private total = 0;
  private errors = 0;
  private readonly byStatus: Record<string, number> = {};
  private readonly byRoute: Record<string, number> = {};
  private readonly byTier: Record<string, number> = {};
  private readonly byUpstream: Record<string, number> = {};
  private readonly byModel: Record<string, number> = {};
  private readonly byCache: Record<string, number> = {};
  private readonly costByModel: Record<string, number> = {};
  private lookups = 0;
  private hits = 0;
  private input = 0;
  private output = 0;
  private cost = 0;
  private savings = 0;
  private readonly latency: Ring;
  private readonly ttft: Ring;
  private readonly recent: DecisionRecord[] = [];
  private series: SeriesPoint[] = [];
  private seriesIntervalMs = 1_000;
  private nextPointAt = 0;

  constructor(
    private readonly source: MetricsSource,
    window: number,
    private readonly referenceModel: () => string | undefined = () => undefined,
  ) {
    this.labels = new LabelSets(source.config);
    this.latency = new Ring(window);
    this.ttft = new Ring(window);
  }

  /** Counts a record; `seq` is its sequence number on the live stream. */
  record(r: DecisionRecord, seq: number): void {
    this.seq = seq;
    if (this.labels.config !== this.source.config) this.labels = new LabelSets(this.source.config);
    const l = this.labels;
    this.total++;
    if (r.status >= 400 || r.error !== undefined) this.errors++;
    bump(this.byStatus, statusLabel(r.status));
    bump(this.byRoute, `${r.protocol}:${r.operation}`);
    bump(this.byTier, l.recordTier(r));
    bump(this.byUpstream, l.upstream(r.upstream));
    bump(this.byModel, l.model(r.model));
    bump(this.byCache, r.cache);
    if (r.cache !== 'off') this.lookups++;
    if (r.cache === 'hit-exact' || r.cache === 'hit-semantic') this.hits++;
    this.input += r.inputTokens ?? 0;
    this.output += r.outputTokens ?? 0;
    if (r.costUsd) {
      this.cost += r.costUsd;
      bump(this.costByModel, l.model(r.model), r.costUsd);
    }
    if (r.savingsUsd) this.savings += r.savingsUsd;
    this.latency.push(r.durationMs);
    if (r.ttftMs !== undefined) this.ttft.push(r.ttftMs);
    this.recent.push(r);
    if (this.recent.length > RECENT_RECORDS) this.recent.shift();
    this.samplePoint(Date.now());
  }

  /** Adds a point to the series when one is due (no timer: a quiet gateway adds none). */
  private samplePoint(now: number): void {
    if (now < this.nextPointAt) return;
    this.nextPointAt = now + this.seriesIntervalMs;
    const l = this.latency.percentiles();
    this.series.push({ t: now, total: this.total, errors: this.errors, lookups: this.lookups, hits: this.hits, costUsd: this.cost, savingsUsd: this.savings, p50: l.p50, p90: l.p90, p99: l.p99 });
    if (this.series.length > SERIES_POINTS) {
      // Keep the first point (the start) and every other one after it: half the resolution, same span.
      this.series = this.series.filter((_, i) => i % 2 === 0 || i === this.series.length - 1);
      this.seriesIntervalMs *= 2;
    }
  }

  snapshot(): StatsSnapshot {
    const ref = this.referenceModel();
    if (this.total > 0) this.samplePoint(Date.now());
    return {
      startedAt: this.startedAt,
      now: new Date().toISOString(),
      seq: this.seq,
      requests: {
        total: this.total,
        errors: this.errors,
        byStatus: { ...this.byStatus },
        byRoute: { ...this.byRoute },
        byTier: { ...this.byTier },
        byUpstream: { ...this.byUpstream },
        byModel: { ...this.byModel },
        byCache: { ...this.byCache },
      },
      cache: { lookups: this.lookups, hits: this.hits, hitRate: this.lookups ? this.hits / this.lookups : 0 },
      tokens: { input: this.input, output: this.output },
      costUsd: this.cost,
      savingsUsd: this.savings,
      ...(ref ? { referenceModel: ref } : {}),
      costByModel: { ...this.costByModel },
      latencyMs: this.latency.percentiles(),
      ttftMs: this.ttft.percentiles(),
      inFlight: this.source.accounting?.inFlight ?? 0,
      breakers: [...this.source.registry.allUpstreams()].map((u) => ({ upstream: u.name, state: u.breaker.state, inFlight: u.inFlight, available: u.available })),
      deployments: [...(this.source.registry.allDeployments?.() ?? [])].map((d) => {
        const why = d.whyUnusable();
        return { upstream: d.upstream.name, model: d.model.name, state: d.breaker.state, usable: why === undefined, ...(why ? { reason: why } : {}) };
      }),
      budgets: this.source.accounting ? [...this.source.accounting.remaining()].map((b) => ({ ...b })) : [],
      labels: this.labels.names(),
      recent: [...this.recent],
      series: [...this.series],
      seriesIntervalMs: this.seriesIntervalMs,
    };
  }
}
