/**
 * Upstreams and models from the config, kept live across reloads: an upstream
 * whose settings did not change keeps its pool, breaker and estimates.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import { Deployment } from './deployment.js';
import { UpstreamRuntime } from './upstream.js';

export { Deployment };

export class UpstreamRegistry {
  private upstreams = new Map<string, UpstreamRuntime>();
  private models = new Map<string, Deployment>();
  private probing = false;

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
      for (const m of u.models) {
        const prev = this.models.get(m.name);
        models.set(m.name, prev && prev.sameAs(m, runtime) ? prev : new Deployment(m, runtime));
      }
    }
    for (const d of this.models.values()) if (models.get(d.model.name) !== d) d.close();
    this.upstreams = next;
    this.models = models;
    if (this.probing) for (const u of next.values()) u.startProbe();
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

  /** Starts probing `local: true` upstreams (now and after every reload). */
  startProbes(): void {
    this.probing = true;
    for (const u of this.upstreams.values()) u.startProbe();
  }

  /** The deployments of one upstream. */
  deploymentsOf(upstream: UpstreamRuntime): Deployment[] {
    return [...this.models.values()].filter((d) => d.upstream === upstream);
  }

  async close(): Promise<void> {
    for (const d of this.models.values()) d.close();
    await Promise.all([...this.upstreams.values()].map((u) => u.close()));
  }
}
