/**
 * Every Prometheus metric Switchyard exports, in one file: one prom-client
 * `Registry` per Switchyard instance (plus Node's default process metrics),
 * fed from decision records and breaker events.
 *
 * Cardinality: every label value comes from a bounded set (see `labels.ts`):
 * models, upstreams and tiers from the config, routes from the endpoint
 * table, statuses and error codes from fixed sets. The one per-caller label,
 * `tenant` on `switchyard_cost_usd_total`, only carries tenants listed in
 * `observability.metrics.tenants`; every other tenant is `other` or one of
 * `tenantBuckets` hashed buckets. Worst case series count ≈ routes × tiers ×
 * upstreams × statuses × cache results for the request counter; the rest are
 * per model or per upstream.
 *
 * Cost per request: the per-request counters and histograms are
 * `fast-metrics.ts` series (a Map lookup each, ≈ 1 µs for a whole record);
 * gauges of live state (breaker state, in-flight, budget remaining, queue
 * length) are read at scrape time, so requests pay nothing for them.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SwitchyardConfig } from '../config/schema.js';
import type { UpstreamRuntime } from '../upstream/upstream.js';
import type { Deployment } from '../upstream/deployment.js';
import type { DecisionRecord } from './events.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';
import { LabelSets, errorLabel, routeLabel, statusLabel } from './labels.js';

/** What the metrics read at scrape time. */
export interface MetricsSource {
  readonly config: SwitchyardConfig;
  readonly registry: { allUpstreams(): Iterable<UpstreamRuntime>; allDeployments?(): Iterable<Deployment> };
  readonly accounting?: {
    readonly inFlight: number;
    remaining(): Iterable<{ id: string; period: 'daily' | 'monthly'; usd: number }>;
  };
  /** The router's load monitor knows the sidecar queue lengths it polls or is told. */
  readonly router?: { readonly load: { queueLength(upstream: string): number | undefined } };
  /** Shadow degradation tests' counters since start. */
  readonly shadow?: { stats(): object };
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const SIMILARITY_BUCKETS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1];
const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;
/** opossum events counted by `switchyard_breaker_events_total`. */
export const BREAKER_EVENTS = ['open', 'halfOpen', 'close', 'reject', 'failure', 'timeout'] as const;

/** Every metric name, for tests and dashboards. */
export const METRIC_NAMES = [
  'switchyard_requests_total',
  'switchyard_request_duration_seconds',
  'switchyard_time_to_first_token_seconds',
  'switchyard_upstream_attempt_duration_seconds',
  'switchyard_tokens_total',
  'switchyard_cost_usd_total',
  'switchyard_savings_usd_total',
  'switchyard_cache_lookups_total',
  'switchyard_cache_similarity',
  'switchyard_breaker_state',
  'switchyard_breaker_events_total',
  'switchyard_fallbacks_total',
  'switchyard_retries_total',
  'switchyard_errors_total',
  'switchyard_budget_downgrades_total',
  'switchyard_in_flight_requests',
  'switchyard_upstream_in_flight',
  'switchyard_local_queue_length',
  'switchyard_budget_remaining_usd',
  'switchyard_live_events_dropped_total',
  'switchyard_record_sink_errors_total',
  'switchyard_shadow_tests',
  'switchyard_deployment_breaker_state',
  'switchyard_deployment_usable',
  'switchyard_stream_resumes_total',
  'switchyard_stream_malformed_events_total',
] as const;

/**
 * The metrics of one Switchyard instance.
 *
 * @example
 * const m = new SwitchyardMetrics(sy);
 * sy.events.on('decision', (r) => m.record(r));
 * res.end(await m.registry.metrics());
 */
export class SwitchyardMetrics {
  readonly registry = new Registry();
  private labels: LabelSets;
  private readonly watched = new WeakSet<object>();
  private readonly queues = new Map<string, number>();

  readonly requests: FastCounter;
  readonly duration: FastHistogram;
  readonly ttft: FastHistogram;
  readonly attemptDuration: FastHistogram;
  readonly tokens: FastCounter;
  readonly cost: FastCounter;
  readonly savings: FastCounter;
  readonly cacheLookups: FastCounter;
  readonly similarity: FastHistogram;
  readonly breakerEvents: Counter<'upstream' | 'event'>;
  readonly fallbacks: FastCounter;
  readonly retries: FastCounter;
  readonly errors: FastCounter;
  readonly downgrades: FastCounter;
  /** SSE events not sent to a live client that was too slow to take them. */
  readonly liveDropped: FastCounter;
  /** Decision records a sink failed to write. */
  readonly sinkErrors: FastCounter;
  /** Mid-stream resumes by outcome (prefill, restart, fresh, not_spliceable, no_candidate, failed, not_resumable). */
  readonly streamResumes: FastCounter;
  /** Upstream stream events skipped because they could not be parsed. */
  readonly malformedEvents: FastCounter;

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    this.labels = new LabelSets(source.config);
    if (source.config.observability.metrics.processMetrics) collectDefaultMetrics({ register: this.registry });

    const reg = this.registry;
    this.requests = new FastCounter(
      'switchyard_requests_total',
      'LLM requests by route, tier, upstream that answered (none: cache hit or rejection), HTTP status and cache result',
      ['route', 'tier', 'upstream', 'status', 'cache'],
      reg,
    );
    this.duration = new FastHistogram('switchyard_request_duration_seconds', 'Arrival to the last byte of the answer', ['route', 'cache'], DURATION_BUCKETS, reg);
    this.ttft = new FastHistogram('switchyard_time_to_first_token_seconds', 'Upstream call to its first byte (response headers), per upstream', ['upstream'], DURATION_BUCKETS, reg);
    this.attemptDuration = new FastHistogram(
      'switchyard_upstream_attempt_duration_seconds',
      'One upstream attempt: to its response (headers for streams) or its failure',
      ['upstream', 'outcome'],
      DURATION_BUCKETS,
      reg,
    );
    this.tokens = new FastCounter('switchyard_tokens_total', 'Tokens by model and direction (input|output)', ['model', 'direction'], reg);
    this.cost = new FastCounter('switchyard_cost_usd_total', 'Spend in USD by model and tenant (listed tenants; others other/bucket-NN)', ['model', 'tenant'], reg);
    this.savings = new FastCounter(
      'switchyard_savings_usd_total',
      'Estimated USD saved against the reference model, by the model that answered and the source (cache|routing)',
      ['model', 'source'],
      reg,
    );
    this.cacheLookups = new FastCounter('switchyard_cache_lookups_total', 'Cache lookups by result', ['result'], reg);
    this.similarity = new FastHistogram('switchyard_cache_similarity', 'Cosine similarity of semantic cache hits', [], SIMILARITY_BUCKETS, reg);
    this.breakerEvents = new Counter({ name: 'switchyard_breaker_events_total', help: 'Circuit breaker events by upstream', labelNames: ['upstream', 'event'], registers });
    this.fallbacks = new FastCounter('switchyard_fallbacks_total', 'Moves from one candidate upstream to the next', ['from', 'to'], reg);
    this.retries = new FastCounter('switchyard_retries_total', 'Retries of the same upstream', ['upstream'], reg);
    this.errors = new FastCounter('switchyard_errors_total', 'Requests that ended in an error, by code', ['code'], reg);
    this.downgrades = new FastCounter('switchyard_budget_downgrades_total', 'Requests admitted on a soft budget (the router was asked to downgrade)', [], reg);
    this.liveDropped = new FastCounter('switchyard_live_events_dropped_total', 'Decision events not sent to a live client that was too slow', [], reg);
    this.sinkErrors = new FastCounter('switchyard_record_sink_errors_total', 'Decision records a sink failed to write', ['sink'], reg);
    this.streamResumes = new FastCounter(
      'switchyard_stream_resumes_total',
      'Streams that failed mid-answer and were continued on the next candidate, by outcome (prefill, restart, fresh: spliced; not_spliceable, no_candidate, failed, not_resumable: ended in an in-band error)',
      ['outcome'],
      reg,
    );
    this.malformedEvents = new FastCounter('switchyard_stream_malformed_events_total', 'Upstream stream events skipped because they could not be parsed', ['upstream'], reg);
    this.downgrades.inc(0);
    this.liveDropped.inc(0);

    const src = this.source;
    const queues = this.queues;
    new Gauge({
      name: 'switchyard_local_queue_length',
      help: 'Requests waiting in the queue of a local upstream (sidecar), as last reported',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const u of src.registry.allUpstreams()) {
          const n = queues.get(u.name) ?? src.router?.load.queueLength(u.name);
          if (n !== undefined) this.set({ upstream: u.name }, n);
        }
      },
    });
    new Gauge({
      name: 'switchyard_breaker_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const u of src.registry.allUpstreams()) this.set({ upstream: u.name }, BREAKER_STATE[u.breaker.state]);
      },
    });
    new Gauge({
      name: 'switchyard_deployment_breaker_state',
      help: 'Circuit breaker state per deployment (model on an upstream): 0 closed, 1 half-open, 2 open',
      labelNames: ['upstream', 'model'],
      registers,
      collect() {
        this.reset();
        for (const d of src.registry.allDeployments?.() ?? []) this.set({ upstream: d.upstream.name, model: d.model.name }, BREAKER_STATE[d.breaker.state]);
      },
    });
    new Gauge({
      name: 'switchyard_deployment_usable',
      help: 'Whether a deployment would take a request now (key set, probe answering, breakers closed, not cooling down): 1 or 0',
      labelNames: ['upstream', 'model'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const d of src.registry.allDeployments?.() ?? []) this.set({ upstream: d.upstream.name, model: d.model.name }, d.usable(now) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchyard_upstream_in_flight',
      help: 'Calls in flight per upstream',
      labelNames: ['upstream'],
      registers,
      collect() {
        this.reset();
        for (const u of src.registry.allUpstreams()) this.set({ upstream: u.name }, u.inFlight);
      },
    });
    new Gauge({
      name: 'switchyard_in_flight_requests',
      help: 'Requests admitted and not yet finished',
      registers,
      collect() {
        this.set(src.accounting?.inFlight ?? 0);
      },
    });
    new Gauge({
      name: 'switchyard_budget_remaining_usd',
      help: 'Remaining budget (cap − spent − reserved) of each identity listed under accounting.budgets.limits',
      labelNames: ['budget', 'period'],
      registers,
      collect() {
        this.reset();
        if (src.accounting) for (const r of src.accounting.remaining()) this.set({ budget: r.id, period: r.period }, r.usd);
      },
    });
    new Gauge({
      name: 'switchyard_shadow_tests',
      help: 'Shadow degradation tests since start by outcome (sampled, started, completed, failed, skippedBusy, skippedBudget, skippedNoTarget, errors, inFlight)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const s = src.shadow?.stats();
        if (s) for (const [outcome, n] of Object.entries(s)) if (typeof n === 'number') this.set({ outcome }, n);
      },
    });
    this.watchBreakers();
  }

  /** Re-derives label sets and breaker subscriptions after a config reload. */
  private refresh(): void {
    if (this.labels.config === this.source.config) return;
    this.labels = new LabelSets(this.source.config);
    this.watchBreakers();
  }

  /**
   * Subscribes to the breaker events of upstreams and deployments not yet
   * watched (new ones appear on reload). A deployment's events count under
   * its upstream, with the upstream's connection breaker's.
   */
  watchBreakers(): void {
    const breakers: { owner: object; upstream: string; circuit: UpstreamRuntime['breaker']['circuit'] }[] = [];
    for (const u of this.source.registry.allUpstreams()) breakers.push({ owner: u, upstream: u.name, circuit: u.breaker.circuit });
    for (const d of this.source.registry.allDeployments?.() ?? []) breakers.push({ owner: d, upstream: d.upstream.name, circuit: d.breaker.circuit });
    for (const b of breakers) {
      if (this.watched.has(b.owner)) continue;
      this.watched.add(b.owner);
      const upstream = this.labels.upstream(b.upstream);
      for (const event of BREAKER_EVENTS) {
        const child = this.breakerEvents.labels(upstream, event);
        // opossum's typings overload `on` per event name; every one of these takes a plain listener.
        (b.circuit.on as (e: string, f: () => void) => unknown).call(b.circuit, event, () => child.inc());
      }
    }
  }

  /** The local sidecar's queue length, from whoever knows it (the sidecar's health, a response header). */
  setLocalQueueLength(upstream: string, length: number): void {
    this.queues.set(upstream, length);
  }

  /** Counts one decision record. */
  record(r: DecisionRecord): void {
    this.refresh();
    const l = this.labels;
    const route = routeLabel(r.protocol, r.operation);
    const upstream = l.upstream(r.upstream);
    this.requests.inc(1, route, l.recordTier(r), upstream, statusLabel(r.status), r.cache);
    this.duration.observe(r.durationMs / 1000, route, r.cache);
    if (r.ttftMs !== undefined && r.upstream !== undefined) this.ttft.observe(r.ttftMs / 1000, upstream);
    if (r.cache !== 'off') this.cacheLookups.inc(1, r.cache);
    if (r.similarity !== undefined && r.cache === 'hit-semantic') this.similarity.observe(r.similarity);
    if (r.error !== undefined) this.errors.inc(1, errorLabel(r.error));
    if (r.budget === 'soft') this.downgrades.inc(1);

    const model = l.model(r.model);
    if (r.inputTokens) this.tokens.inc(r.inputTokens, model, 'input');
    if (r.outputTokens) this.tokens.inc(r.outputTokens, model, 'output');
    if (r.costUsd) this.cost.inc(r.costUsd, model, l.tenant(r.tenant));
    if (r.savingsUsd) this.savings.inc(r.savingsUsd, model, r.cache === 'hit-exact' || r.cache === 'hit-semantic' ? 'cache' : 'routing');

    const attempts = r.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i]!;
      if (a.ms !== undefined) this.attemptDuration.observe(a.ms / 1000, l.upstream(a.upstream), a.outcome);
      if (i === 0) continue;
      const prev = attempts[i - 1]!;
      if (prev.upstream === a.upstream && prev.model === a.model) {
        if (a.outcome !== 'skipped') this.retries.inc(1, l.upstream(a.upstream));
      } else this.fallbacks.inc(1, l.upstream(prev.upstream), l.upstream(a.upstream));
    }
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
