/**
 * Readiness: a small list of named checks, each saying whether this instance
 * can serve traffic now and why not. The core registers `upstreams` (at
 * least one deployment is usable); other parts add theirs (a shared store's
 * health, say) with `add`. `/readyz` answers 503 with the failing reasons.
 */

/** What one check reports. */
export interface ReadinessResult {
  ok: boolean;
  /** Why not, when `ok` is false: what to set, start or wait for. */
  reason?: string;
}

/** A named readiness check; `check` should be cheap (it runs on every probe) and never throw. */
export interface ReadinessCheck {
  name: string;
  check(): ReadinessResult | Promise<ReadinessResult>;
}

/** The verdict of every check. */
export interface ReadinessReport {
  ready: boolean;
  checks: ({ name: string } & ReadinessResult)[];
}

/**
 * The readiness checks of one Switchyard instance.
 *
 * @example
 * sy.readiness.add({ name: 'redis', check: () => (store.healthy ? { ok: true } : { ok: false, reason: 'Redis does not answer' }) });
 * const { ready, checks } = await sy.readiness.evaluate();
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  /** Adds (or replaces, by name) a check. */
  add(check: ReadinessCheck): void {
    this.checks.set(check.name, check);
  }

  remove(name: string): void {
    this.checks.delete(name);
  }

  /** Runs every check; a check that throws counts as failing with its message. */
  async evaluate(): Promise<ReadinessReport> {
    const checks = await Promise.all(
      [...this.checks.values()].map(async (c) => {
        try {
          return { name: c.name, ...(await c.check()) };
        } catch (e) {
          return { name: c.name, ok: false, reason: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    return { ready: checks.every((c) => c.ok), checks };
  }
}
