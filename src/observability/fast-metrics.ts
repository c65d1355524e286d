/**
 * Counters and histograms for the per-request path, exposed through a
 * prom-client `Registry`. prom-client's own `labels(...).inc()` validates
 * and hashes a label object on every call (≈ 400 ns each, measured); these
 * keep each series in a Map keyed by its joined label values (≈ 10 ns) and
 * build prom-client's exposition values only at scrape time. Label values
 * must come from bounded sets (see `labels.ts`): a series is never dropped.
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;
const SEP = '\u0001';

/** What prom-client's registry reads from a metric at scrape time. */
interface ExposedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

function keyOf(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : values.join(SEP);
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const l: Labels = {};
  for (let i = 0; i < names.length; i++) l[names[i]!] = values[i] ?? '';
  return l;
}

abstract class FastMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The registry only calls name/help/type/aggregator/get/reset: the shape of a prom-client metric.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract values(): ExposedValue[];
  abstract reset(): void;

  /** prom-client's metric read (scrape time only). */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExposedValue[] }> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() });
  }
}

/**
 * A monotonic counter.
 *
 * @example
 * const c = new FastCounter('switchyard_requests_total', 'Requests', ['route', 'status'], registry);
 * c.inc(1, '/v1/chat/completions', '200');
 */
export class FastCounter extends FastMetric {
  readonly type = 'counter';
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  /** Adds `by` (≥ 0) to the series of these label values, given in `labelNames` order. */
  inc(by: number, ...values: string[]): void {
    const k = keyOf(values);
    const s = this.series.get(k);
    if (s) s.value += by;
    else this.series.set(k, { labels: labelsOf(this.labelNames, values), value: by });
  }

  protected values(): ExposedValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }

  reset(): void {
    this.series.clear();
  }
}

interface HistogramSeries {
  labels: Labels;
  /** Non-cumulative counts per bucket; observations above the last bound only count in `count`. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with fixed buckets.
 *
 * @example
 * const h = new FastHistogram('switchyard_request_duration_seconds', 'Duration', ['route'], [0.1, 1, 10], registry);
 * h.observe(0.25, '/v1/messages');
 */
export class FastHistogram extends FastMetric {
  readonly type = 'histogram';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
  }

  observe(v: number, ...values: string[]): void {
    const k = keyOf(values);
    let s = this.series.get(k);
    if (!s) {
      s = { labels: labelsOf(this.labelNames, values), counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }

  protected values(): ExposedValue[] {
    const out: ExposedValue[] = [];
    for (const s of this.series.values()) {
      let cum = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cum += s.counts[i]!;
        out.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: this.buckets[i]! }, value: cum });
      }
      out.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }

  reset(): void {
    this.series.clear();
  }
}
