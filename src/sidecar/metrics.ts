/**
 * The sidecar's Prometheus metrics, in their own registry (a process may run
 * a sidecar next to the gateway's default registry, or several in tests).
 * The queue gauges are read from the queue at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SlotQueue } from './queue.js';

/** The metrics of one sidecar. */
export interface SidecarMetrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'status'>;
  duration: Histogram<'endpoint'>;
  tokens: Counter<'kind'>;
}

/**
 * Creates the registry and its metrics.
 *
 * @example
 * const m = createSidecarMetrics(queue);
 * res.end(await m.registry.metrics());
 */
export function createSidecarMetrics(queue: SlotQueue, defaults = true): SidecarMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'switchyard_sidecar_' });
  new Gauge({
    name: 'switchyard_sidecar_queue_length',
    help: 'Requests waiting for a generation slot',
    registers: [registry],
    collect() {
      this.set(queue.waiting);
    },
  });
  new Gauge({
    name: 'switchyard_sidecar_queue_capacity',
    help: 'Requests allowed to wait; beyond it requests get 503',
    registers: [registry],
    collect() {
      this.set(queue.capacity);
    },
  });
  new Gauge({
    name: 'switchyard_sidecar_slots_active',
    help: 'Requests being generated now',
    registers: [registry],
    collect() {
      this.set(queue.active);
    },
  });
  new Gauge({
    name: 'switchyard_sidecar_slots_total',
    help: 'Parallel generation slots',
    registers: [registry],
    collect() {
      this.set(queue.slots);
    },
  });
  return {
    registry,
    requests: new Counter({ name: 'switchyard_sidecar_requests_total', help: 'Requests by endpoint and status', labelNames: ['endpoint', 'status'], registers: [registry] }),
    duration: new Histogram({
      name: 'switchyard_sidecar_request_duration_seconds',
      help: 'Time from arrival to the last byte, queueing included',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    tokens: new Counter({ name: 'switchyard_sidecar_tokens_total', help: 'Tokens processed, by kind (prompt, completion)', labelNames: ['kind'], registers: [registry] }),
  };
}
