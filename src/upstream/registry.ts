/**
 * Upstreams and models from the config, kept live across reloads: an upstream
 * whose settings did not change keeps its pool, breaker and estimates.
 */
import type { ModelConfig, SwitchyardConfig } from '../config/schema.js';
import { UpstreamRuntime } from './upstream.js';

/** A model on the upstream that serves it. */
export interface Deployment {
  model: ModelConfig;
  upstream: UpstreamRuntime;
  /** The model name sent upstream. */
  upstreamModel: string;
}

export class UpstreamRegistry {
  private upstreams = new Map<string, UpstreamRuntime>();
  private models = new Map<string, Deployment>();

  constructor(cfg: SwitchyardConfig, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.apply(cfg);
  }

  /** Applies a (validated) config; returns the runtimes that were dropped, for closing. */
  apply(cfg: SwitchyardConfig): UpstreamRuntime[] {
    const next = new Map<string, UpstreamRuntime>();
    for (const u of cfg.upstreams) {
      const prev = this.upstreams.get(u.name);
      next.set(u.name, prev && prev.sameAs(u) ? prev : new UpstreamRuntime(u, this.env));
    }
    const dropped = [...this.upstreams.values()].filter((u) => next.get(u.name) !== u);
    const models = new Map<string, Deployment>();
    for (const u of cfg.upstreams) {
      const runtime = next.get(u.name)!;
      for (const m of u.models) models.set(m.name, { model: m, upstream: runtime, upstreamModel: m.upstreamModel ?? m.name });
    }
    this.upstreams = next;
    this.models = models;
    for (const d of dropped) void d.close();
    return dropped;
  }

  deployment(model: string): Deployment | undefined {
    return this.models.get(model);
  }

  upstream(name: string): UpstreamRuntime | undefined {
    return this.upstreams.get(name);
  }

  allUpstreams(): IterableIterator<UpstreamRuntime> {
    return this.upstreams.values();
  }

  allDeployments(): IterableIterator<Deployment> {
    return this.models.values();
  }

  async close(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
  }
}
