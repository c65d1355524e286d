/**
 * Observability of one Switchyard instance: one listener on the decision
 * events feeds the metrics, the live stats, the SSE stream, the record sink,
 * the decision log and the trace spans, serializing each record at most once.
 * Created by the core; the faces expose it over HTTP (`http.ts`).
 */
import type { SwitchyardConfig } from '../config/schema.js';
import type { DecisionEvents, DecisionRecord } from './events.js';
import { LiveHub } from './live.js';
import { addKnownSecrets, type Logger } from './logger.js';
import { SwitchyardMetrics, type MetricsSource } from './metrics.js';
import { createRecordSink, type RecordSink } from './records.js';
import { LiveStats } from './stats.js';
import { DecisionTracer } from './tracing.js';

export { SwitchyardMetrics, METRIC_NAMES, BREAKER_EVENTS, type MetricsSource } from './metrics.js';
export type { StatsSnapshot, Percentiles } from './stats.js';
export type { DecisionRecord } from './events.js';

/** What observability needs of the core (a `Switchyard` is one). */
export interface ObservedCore extends MetricsSource {
  readonly events: DecisionEvents;
  readonly accounting?: MetricsSource['accounting'] & { readonly prices: { readonly reference?: { model: string } | undefined } };
}

/** Options of {@link Observability}. */
export interface ObservabilityOptions {
  logger?: Logger;
  /** Environment the upstream keys are read from; their values are scrubbed from logs. */
  env?: NodeJS.ProcessEnv;
}

/**
 * @example
 * const obs = new Observability(sy, { logger });
 * await obs.metrics.exposition(); // Prometheus text
 * obs.stats.snapshot();           // the dashboard's numbers
 */
export class Observability {
  readonly metrics: SwitchyardMetrics;
  readonly stats: LiveStats;
  readonly live: LiveHub;
  private readonly tracer: DecisionTracer;
  private sink: RecordSink | undefined;
  private sinkKey: string;
  private seen: SwitchyardConfig;
  /** Records seen: the live stream's event ids and the stats snapshot's `seq`. */
  private seq = 0;
  private readonly onDecision = (r: DecisionRecord) => this.record(r);
  /** Identity refusals (already bounded): to the sink and the live stream only; they are not requests for metrics and stats. */
  private readonly onRefusal = (r: DecisionRecord) => this.recordRefusal(r);

  constructor(
    private readonly core: ObservedCore,
    private readonly opts: ObservabilityOptions = {},
  ) {
    const cfg = core.config;
    this.seen = cfg;
    this.metrics = new SwitchyardMetrics(core);
    this.stats = new LiveStats(core, cfg.observability.live.window, () => core.accounting?.prices.reference?.model);
    this.live = new LiveHub(() => this.metrics.liveDropped.inc(1));
    this.tracer = new DecisionTracer(() => core.config);
    this.sinkKey = JSON.stringify(cfg.observability.records);
    this.sink = createRecordSink(cfg.observability.records, () => this.metrics.sinkErrors.inc(1, cfg.observability.records.sink));
    this.noteSecrets(cfg);
    core.events.on('decision', this.onDecision);
    core.events.on('refusal', this.onRefusal);
  }

  /** The local sidecar's queue length (fed by whoever knows it). */
  setLocalQueueLength(upstream: string, length: number): void {
    this.metrics.setLocalQueueLength(upstream, length);
  }

  private noteSecrets(cfg: SwitchyardConfig): void {
    const env = this.opts.env ?? process.env;
    addKnownSecrets(cfg.upstreams.map((u) => (u.apiKeyEnv ? env[u.apiKeyEnv] : undefined)));
  }

  private reconfigure(cfg: SwitchyardConfig): void {
    this.seen = cfg;
    this.noteSecrets(cfg);
    const key = JSON.stringify(cfg.observability.records);
    if (key === this.sinkKey) return;
    const old = this.sink;
    this.sinkKey = key;
    this.sink = createRecordSink(cfg.observability.records, () => this.metrics.sinkErrors.inc(1, cfg.observability.records.sink));
    void old?.close();
  }

  private recordRefusal(r: DecisionRecord): void {
    const cfg = this.core.config;
    if (cfg !== this.seen) this.reconfigure(cfg);
    const seq = ++this.seq;
    let json: string | undefined;
    if (this.sink) this.sink.write((json ??= JSON.stringify(r)));
    if (this.live.size > 0) this.live.publish(r, seq, (json ??= JSON.stringify(r)));
  }

  private record(r: DecisionRecord): void {
    const cfg = this.core.config;
    if (cfg !== this.seen) this.reconfigure(cfg);
    const seq = ++this.seq;
    this.metrics.record(r);
    this.stats.record(r, seq);
    if (cfg.observability.tracing.enabled) this.tracer.record(r);
    let json: string | undefined;
    if (this.sink) this.sink.write((json ??= JSON.stringify(r)));
    if (this.live.size > 0) this.live.publish(r, seq, (json ??= JSON.stringify(r)));
    if (cfg.observability.logging.decisions) this.opts.logger?.info({ decision: r }, 'decision');
  }

  async close(): Promise<void> {
    this.core.events.off('decision', this.onDecision);
    this.core.events.off('refusal', this.onRefusal);
    this.live.close();
    await this.sink?.close();
  }
}
