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
 * Gauges of live state (breaker state, in-flight, budget remaining) are
 * read at scrape time, so requests pay nothing for them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SwitchyardConfig } from '../config/schema.js';
import type { UpstreamRuntime } from '../upstream/upstream.js';
import type { DecisionRecord } from './events.js';
import { LabelSets, errorLabel, routeLabel, statusLabel } from './labels.js';

/** What the metrics read at scrape time. */
export interface MetricsSource {
  readonly config: SwitchyardConfig;
  readonly registry: { allUpstreams(): Iterable<UpstreamRuntime> };
  readonly accounting?: {
    readonly inFlight: number;
    remaining(): Iterable<{ id: string; period: 'daily' | 'monthly'; usd: number }>;
  };
  /** The router's load monitor knows the sidecar queue lengths it polls or is told. */
  readonly router?: { readonly load: { queueLength(upstream: string): number | undefined } };
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
  private readonly watched = new WeakSet<UpstreamRuntime>();
  private readonly queues = new Map<string, number>();

  readonly requests: Counter<'route' | 'tier' | 'upstream' | 'status' | 'cache'>;
  readonly duration: Histogram<'route' | 'cache'>;
  readonly ttft: Histogram<'upstream'>;
  readonly attemptDuration: Histogram<'upstream' | 'outcome'>;
  readonly tokens: Counter<'model' | 'direction'>;
  readonly cost: Counter<'model' | 'tenant'>;
  readonly savings: Counter<'model' | 'source'>;
  readonly cacheLookups: Counter<'result'>;
  readonly similarity: Histogram<string>;
  readonly breakerEvents: Counter<'upstream' | 'event'>;
  readonly fallbacks: Counter<'from' | 'to'>;
  readonly retries: Counter<'upstream'>;
  readonly errors: Counter<'code'>;
  readonly downgrades: Counter<string>;
  /** SSE events not sent to a client that was too slow to take them. */
  readonly liveDropped: Counter<string>;
  /** Decision records a sink failed to write. */
  readonly sinkErrors: Counter<'sink'>;

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    this.labels = new LabelSets(source.config);
    if (source.config.observability.metrics.processMetrics) collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({
      name: 'switchyard_requests_total',
      help: 'LLM requests by route, tier, upstream that answered (none: cache hit or rejection), HTTP status and cache result',
      labelNames: ['route', 'tier', 'upstream', 'status', 'cache'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Arrival to the last byte of the answer',
      labelNames: ['route', 'cache'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'switchyard_time_to_first_token_seconds',
      help: 'Upstream call to its first byte (response headers), per upstream',
      labelNames: ['upstream'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'switchyard_upstream_attempt_duration_seconds',
      help: 'One upstream attempt: to its response (headers for streams) or its failure',
      labelNames: ['upstream', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.tokens = new Counter({ name: 'switchyard_tokens_total', help: 'Tokens by model and direction (input|output)', labelNames: ['model', 'direction'], registers });
    this.cost = new Counter({ name: 'switchyard_cost_usd_total', help: 'Spend in USD by model and tenant (listed tenants; others other/bucket-NN)', labelNames: ['model', 'tenant'], registers });
    this.savings = new Counter({
      name: 'switchyard_savings_usd_total',
      help: 'Estimated USD saved against the reference model, by the model that answered and the source (cache|routing)',
      labelNames: ['model', 'source'],
      registers,
    });
    this.cacheLookups = new Counter({ name: 'switchyard_cache_lookups_total', help: 'Cache lookups by result', labelNames: ['result'], registers });
    this.similarity = new Histogram({ name: 'switchyard_cache_similarity', help: 'Cosine similarity of semantic cache hits', buckets: SIMILARITY_BUCKETS, registers });
    this.breakerEvents = new Counter({ name: 'switchyard_breaker_events_total', help: 'Circuit breaker events by upstream', labelNames: ['upstream', 'event'], registers });
    this.fallbacks = new Counter({ name: 'switchyard_fallbacks_total', help: 'Moves from one candidate upstream to the next', labelNames: ['from', 'to'], registers });
    this.retries = new Counter({ name: 'switchyard_retries_total', help: 'Retries of the same upstream', labelNames: ['upstream'], registers });
    this.errors = new Counter({ name: 'switchyard_errors_total', help: 'Requests that ended in an error, by code', labelNames: ['code'], registers });
    this.downgrades = new Counter({ name: 'switchyard_budget_downgrades_total', help: 'Requests admitted on a soft budget (the router was asked to downgrade)', registers });
    this.liveDropped = new Counter({ name: 'switchyard_live_events_dropped_total', help: 'Decision events not sent to a live client that was too slow', registers });
    this.sinkErrors = new Counter({ name: 'switchyard_record_sink_errors_total', help: 'Decision records a sink failed to write', labelNames: ['sink'], registers });

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
    this.watchBreakers();
  }

  /** Re-derives label sets and breaker subscriptions after a config reload. */
  private refresh(): void {
    if (this.labels.config === this.source.config) return;
    this.labels = new LabelSets(this.source.config);
    this.watchBreakers();
  }

  /** Subscribes to the breaker events of upstreams not yet watched (new ones appear on reload). */
  watchBreakers(): void {
    for (const u of this.source.registry.allUpstreams()) {
      if (this.watched.has(u)) continue;
      this.watched.add(u);
      const upstream = this.labels.upstream(u.name);
      for (const event of BREAKER_EVENTS) {
        const child = this.breakerEvents.labels(upstream, event);
        // opossum's typings overload `on` per event name; every one of these takes a plain listener.
        (u.breaker.circuit.on as (e: string, f: () => void) => unknown).call(u.breaker.circuit, event, () => child.inc());
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
    this.requests.labels(route, l.tier(r.tier), upstream, statusLabel(r.status), r.cache).inc();
    this.duration.labels(route, r.cache).observe(r.durationMs / 1000);
    if (r.ttftMs !== undefined && r.upstream !== undefined) this.ttft.labels(upstream).observe(r.ttftMs / 1000);
    if (r.cache !== 'off') this.cacheLookups.labels(r.cache).inc();
    if (r.similarity !== undefined && r.cache === 'hit-semantic') this.similarity.observe(r.similarity);
    if (r.error !== undefined) this.errors.labels(errorLabel(r.error)).inc();
    if (r.budget === 'soft') this.downgrades.inc();

    const model = l.model(r.model);
    if (r.inputTokens) this.tokens.labels(model, 'input').inc(r.inputTokens);
    if (r.outputTokens) this.tokens.labels(model, 'output').inc(r.outputTokens);
    if (r.costUsd) this.cost.labels(model, l.tenant(r.tenant)).inc(r.costUsd);
    if (r.savingsUsd) this.savings.labels(model, r.cache === 'hit-exact' || r.cache === 'hit-semantic' ? 'cache' : 'routing').inc(r.savingsUsd);

    const attempts = r.attempts;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i]!;
      if (a.ms !== undefined) this.attemptDuration.labels(l.upstream(a.upstream), a.outcome).observe(a.ms / 1000);
      if (i === 0) continue;
      const prev = attempts[i - 1]!;
      if (prev.upstream === a.upstream && prev.model === a.model) {
        if (a.outcome !== 'skipped') this.retries.labels(l.upstream(a.upstream)).inc();
      } else this.fallbacks.labels(l.upstream(prev.upstream), l.upstream(a.upstream)).inc();
    }
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
