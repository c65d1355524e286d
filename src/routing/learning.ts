/**
 * Learning from feedback: a Beta posterior of answer quality per (task type,
 * tier), decayed with a half-life and capped in evidence so it keeps
 * tracking, and the threshold shifts it implies. A tier that does well on a
 * task keeps more of that task (its upper threshold rises); one that does
 * badly hands more to the next tier. Every shift is clamped to the guard rail
 * around the configured threshold.
 */
import type { RoutingLearningConfig } from '../config/routing.js';

/** One posterior: Beta(a, b) over "the answer was good", updated at `t` (ms since epoch). */
export interface QualityEntry {
  a: number;
  b: number;
  t: number;
}

/** Posterior mean and evidence of one (task, tier). */
export interface QualityEstimate {
  mean: number;
  /** Feedback weight behind the mean (decayed, capped). */
  n: number;
}

const PRIOR = 1;

/** The key of a (task, tier) pair in maps and stores: `code|high`. */
export function qualityKey(task: string, tier: string): string {
  return `${task}|${tier.toLowerCase()}`;
}

/** Per (task, tier) quality posteriors and the threshold shifts they imply. */
export class QualityModel {
  private readonly entries = new Map<string, QualityEntry>();
  private readonly shifts = new Map<string, Float64Array>();

  constructor(
    private cfg: RoutingLearningConfig,
    /** Lower-cased ladder tier names, cheapest first. */
    private ladder: readonly string[],
  ) {}

  /** Adopts new settings or a new ladder; shifts are recomputed. */
  configure(cfg: RoutingLearningConfig, ladder: readonly string[]): void {
    this.cfg = cfg;
    this.ladder = ladder;
    this.recompute();
  }

  /**
   * Adds one score in [0, 1] for a (task, tier) and returns the updated entry.
   *
   * @example
   * model.update('code', 'MEDIUM', 1); // MEDIUM did well on code: its upper threshold creeps up
   */
  update(task: string, tier: string, score: number, now = Date.now()): QualityEntry {
    const key = qualityKey(task, tier);
    const e = this.entries.get(key) ?? { a: PRIOR, b: PRIOR, t: now };
    const f = now > e.t ? 0.5 ** ((now - e.t) / (this.cfg.halfLifeHours * 3_600_000)) : 1;
    let ea = (e.a - PRIOR) * f + score;
    let eb = (e.b - PRIOR) * f + (1 - score);
    const n = ea + eb;
    if (n > this.cfg.maxEvidence) {
      ea *= this.cfg.maxEvidence / n;
      eb *= this.cfg.maxEvidence / n;
    }
    const next = { a: PRIOR + ea, b: PRIOR + eb, t: now };
    this.entries.set(key, next);
    this.recomputeTask(task);
    return next;
  }

  /** Merges entries from a store: a newer entry wins. */
  merge(entries: Iterable<[string, QualityEntry]>): void {
    for (const [key, e] of entries) {
      const cur = this.entries.get(key);
      if (!cur || e.t > cur.t) this.entries.set(key, e);
    }
    this.recompute();
  }

  /** The posterior of a (task, tier). */
  estimate(task: string, tier: string): QualityEstimate {
    const e = this.entries.get(qualityKey(task, tier));
    if (!e) return { mean: 0.5, n: 0 };
    return { mean: e.a / (e.a + e.b), n: e.a + e.b - 2 * PRIOR };
  }

  /** Learned offsets of the ladder thresholds for a task (undefined: none yet). Read on the hot path. */
  shiftsFor(task: string): Float64Array | undefined {
    return this.shifts.get(task);
  }

  /** All entries, for persisting. */
  all(): IterableIterator<[string, QualityEntry]> {
    return this.entries.entries();
  }

  private recompute(): void {
    this.shifts.clear();
    const tasks = new Set<string>();
    for (const key of this.entries.keys()) tasks.add(key.slice(0, key.indexOf('|')));
    for (const t of tasks) this.recomputeTask(t);
  }

  /** shift_i = clamp(gain · (q_i − target) · n/(n + minSamples), ±guardRail), q_i the quality of ladder step i. */
  private recomputeTask(task: string): void {
    const { gain, targetQuality, minSamples, guardRail } = this.cfg;
    const out = new Float64Array(Math.max(0, this.ladder.length - 1));
    let any = false;
    for (let i = 0; i < out.length; i++) {
      const { mean, n } = this.estimate(task, this.ladder[i]!);
      if (n <= 0) continue;
      const raw = gain * (mean - targetQuality) * (n / (n + minSamples));
      out[i] = Math.max(-guardRail, Math.min(guardRail, raw));
      if (out[i] !== 0) any = true;
    }
    if (any) this.shifts.set(task, out);
    else this.shifts.delete(task);
  }
}

/** What a recent decision remembers for feedback. */
export interface RecentDecision {
  task: string;
  tier: string;
  /** The request's embedding, kept for the learned router (a reference to the cache's vector, not a copy). */
  embedding?: Float32Array;
  /** The tenant that made the request: only it (or an admin) may rate it. */
  tenant?: string;
}

/**
 * A bounded map of recent request ids → (task, tier): the oldest entry goes
 * when full. Feedback consumes an entry, so one request counts once.
 */
export class RecentDecisions {
  private readonly map = new Map<string, RecentDecision>();

  constructor(private max: number) {}

  resize(max: number): void {
    this.max = max;
    this.trim();
  }

  remember(id: string, d: RecentDecision): void {
    this.map.set(id, d);
    this.trim();
  }

  /** The decision of a request id, left in place. */
  peek(id: string): RecentDecision | undefined {
    return this.map.get(id);
  }

  /** The decision of a request id, removed from the map; undefined if unknown, expired or used. */
  take(id: string): RecentDecision | undefined {
    const d = this.map.get(id);
    if (d) this.map.delete(id);
    return d;
  }

  get size(): number {
    return this.map.size;
  }

  private trim(): void {
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
