/**
 * The outcome-trained router: P(a cheaper tier is good enough | request),
 * estimated from labelled outcomes near the request in the embedding space
 * the semantic cache already computes, weighted by similarity and shrunk
 * toward a prior from the existing signals (complexity, length) when the
 * evidence is thin. A request goes up the ladder while that probability is
 * below the tier's target; the guard rail keeps the choice within
 * `maxSteps` of the complexity choice.
 *
 * Seed outcomes come from a model file (`switchyard route-fit`) and are
 * shared by every tenant; online outcomes (feedback, shadow tests) are kept
 * per tenant or globally, bounded, oldest first out.
 */
import type { RoutingLearnedConfig } from '../config/routing-learned.js';
import { centered, type PriorModel, type ProbeHead, type RouterModel } from './learned-model.js';
import { OutcomeIndex, type OutcomeMatch } from './outcome-index.js';
import type { StoredOutcome } from './outcome-store.js';
import { COMPLEXITY_FEATURES, type ComplexityFeatures } from './signals/complexity-features.js';

/** The estimate for one tier. */
export interface LearnedEstimate {
  /** The cheaper tier judged (ladder spelling). */
  tier: string;
  /** P(tier good enough | request), 0..1. */
  p: number;
  /** The prior alone (complexity, length). */
  prior: number;
  /** Neighbours that counted (similarity ≥ minSimilarity). */
  neighbours: number;
  /** Their summed weight. */
  evidence: number;
  /** The target p is compared with. */
  target: number;
}

/** The learned choice on the ladder. */
export interface LearnedChoice {
  step: number;
  /** e.g. `learned: p(MEDIUM ok)=0.82 from 37 neighbours >= 0.80 -> MEDIUM`. */
  why: string;
  /** Estimates computed, cheapest tier first. */
  estimates: LearnedEstimate[];
}

/** What the estimate reads of a request. */
export interface LearnedInput {
  embedding: Float32Array | undefined;
  /** Complexity score 0..1. */
  complexity: number;
  /** Estimated prompt tokens. */
  tokens: number;
  /** The complexity features behind `complexity` (a probe with feature weights reads them; absent: their fitted mean term counts). */
  features?: ComplexityFeatures | undefined;
  /** Online scope: the tenant (scope `tenant`) or ignored (`global`). */
  tenant: string | undefined;
}

const GLOBAL = '*';
/** Slope of the complexity prior around a threshold when no fitted prior applies. */
const THRESHOLD_SLOPE = 10;

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (p: number) => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};

/**
 * The fitted prior: P(cheaper tier ok) from complexity and length.
 *
 * @example
 * priorP({ intercept: 1.2, complexity: -0.8, length: 0 }, 0.5, 40); // ≈0.77
 */
export function priorP(m: PriorModel, complexity: number, tokens: number, embedding?: Float32Array, features?: ComplexityFeatures): number {
  if (m.probe) return clamp01(1 - probeGap(m.probe, complexity, tokens, embedding, features));
  return sigmoid(m.intercept + m.complexity * logit(complexity) + m.length * Math.log1p(tokens));
}

/**
 * The probe's predicted quality gain from the stronger tier, `P(strong right) − P(weak right)` (−1..1).
 *
 * @example
 * probeGap(model.prior.probe, 0.4, 60, embedding); // 0.12: the stronger tier is right 12 points more often
 */
export function probeGap(probe: NonNullable<PriorModel['probe']>, complexity: number, tokens: number, embedding?: Float32Array, features?: ComplexityFeatures): number {
  return headP(probe.strong, complexity, tokens, embedding, features) - headP(probe.weak, complexity, tokens, embedding, features);
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** One probe head's probability (a request without a usable embedding gets the fitted mean of the embedding term). */
function headP(h: ProbeHead, complexity: number, tokens: number, embedding: Float32Array | undefined, features: ComplexityFeatures | undefined): number {
  let z = h.intercept + h.complexity * logit(complexity) + h.length * Math.log1p(tokens);
  const f = h.features;
  if (f && features) for (let j = 0; j < f.length; j++) z += f[j]! * features[COMPLEXITY_FEATURES[j]!];
  else if (f) z += h.featuresMean ?? 0;
  const w = h.embedding;
  if (embedding && embedding.length === w.length) for (let i = 0; i < w.length; i++) z += w[i]! * embedding[i]!;
  else z += h.embeddingMean;
  return sigmoid(z);
}

/**
 * Similarity-weighted mean of neighbour scores, shrunk toward `prior` by
 * `priorWeight` pseudo-neighbours.
 *
 * @example
 * shrunkEstimate([{ score: 1, similarity: 0.9 }], 0.5, { sharpness: 0.1, priorWeight: 4, minSimilarity: 0.3 }).p; // ≈0.57
 */
export function shrunkEstimate(
  matches: readonly OutcomeMatch[],
  prior: number,
  k: { sharpness: number; priorWeight: number; minSimilarity: number },
): { p: number; neighbours: number; evidence: number } {
  let sw = 0;
  let sws = 0;
  let count = 0;
  for (const m of matches) {
    if (m.similarity < k.minSimilarity) continue;
    const w = Math.exp((Math.min(1, m.similarity) - 1) / k.sharpness);
    sw += w;
    sws += w * m.score;
    count++;
  }
  const den = sw + k.priorWeight;
  return { p: den > 0 ? (sws + k.priorWeight * prior) / den : prior, neighbours: count, evidence: sw };
}

/**
 * Outcome memory and estimates for one ladder.
 *
 * @example
 * const l = new LearnedRouter(cfg.routing.learned, ['MEDIUM', 'HIGH'], model);
 * l.record({ vector, tier: 'MEDIUM', score: 0, tenant: 't1' });
 * l.choose({ embedding, complexity: 0.4, tokens: 60, tenant: 't1' }, 0, [0.7]).why;
 */
export class LearnedRouter {
  private readonly online: OutcomeIndex;
  private seeds: OutcomeIndex | undefined;
  private seedTier = '';
  /** The model's seeds vote on the quality gain (`knn.vote: gain`): decided once per model, not per decision. */
  private gain = false;
  private ladder: string[] = [];
  private lower: string[] = [];
  private embedderId: string | undefined;
  /** Reused buffer for the centred query (one decision at a time: route() is synchronous). */
  private scratch = new Float32Array(0);

  constructor(
    private cfg: RoutingLearnedConfig,
    ladder: readonly string[],
    private model: RouterModel | undefined,
    now: () => number = Date.now,
  ) {
    this.online = new OutcomeIndex({ maxOutcomes: cfg.maxOutcomes, maxAgeMs: cfg.maxAgeHours * 3_600_000, now });
    this.configure(cfg, ladder, model);
  }

  /** Adopts new settings, ladder or model; online outcomes are kept. */
  configure(cfg: RoutingLearnedConfig, ladder: readonly string[], model: RouterModel | undefined): void {
    this.cfg = cfg;
    this.ladder = [...ladder];
    this.lower = ladder.map((t) => t.toLowerCase());
    this.online.setBounds(cfg.maxOutcomes, cfg.maxAgeHours * 3_600_000);
    if (model !== this.model || !this.seeds) {
      this.model = model;
      this.seeds = undefined;
      this.gain = model !== undefined && gainVote(model);
      if (model && model.seeds.length > 0) {
        const seeds = new OutcomeIndex({ maxOutcomes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.POSITIVE_INFINITY, now: () => 0 });
        // With `vote: gain` a seed's score holds its gain (−1..1) as (gain + 1) / 2: the weighted mean stays linear in it.
        const gain = this.gain;
        for (const s of model.seeds) seeds.add({ vector: model.center ? centered(s.vector, model.center) : s.vector, tier: GLOBAL, score: gain ? (s.gain! + 1) / 2 : s.score, scope: GLOBAL, at: 0 });
        this.scratch = new Float32Array(model.dim);
        seeds.onError = this.online.onError;
        this.seeds = seeds;
      }
    }
    // The model's tier: named, or the ladder's second-strongest.
    this.seedTier = (model?.tier ?? this.lower[this.lower.length - 2] ?? '').toLowerCase();
  }

  /** Which online sources feed outcomes. */
  get sources(): { feedback: boolean; shadow: boolean } {
    return this.cfg.sources;
  }

  /** The embedder of the vectors `estimate` receives; the seed outcomes are searched only when it is the model's (or unknown). */
  setEmbedderId(id: string | undefined): void {
    this.embedderId = id;
  }

  /** Whether a request vector lives in the model's space (its length, its embedder). */
  private fitsModel(v: Float32Array): boolean {
    return this.model !== undefined && v.length === this.model.dim && (this.embedderId === undefined || this.embedderId === this.model.embedder);
  }

  private seedsUsable(v: Float32Array): boolean {
    return this.seeds !== undefined && this.fitsModel(v);
  }

  /** The model in use (undefined: complexity prior and online outcomes only). */
  get modelInUse(): RouterModel | undefined {
    return this.model;
  }

  /** The online outcome index (snapshot and restore). */
  get outcomes(): OutcomeIndex {
    return this.online;
  }

  /** Resolves once the outcome indexes (online and seeds) have no background work left (graph builds, a refit). */
  async settled(): Promise<void> {
    await Promise.all([this.online.settled(), this.seeds?.settled()]);
  }

  /** Where failures of the outcome indexes' background work are reported (online and seeds). */
  onIndexError(fn: (e: Error) => void): void {
    this.online.onError = fn;
    if (this.seeds) this.seeds.onError = fn;
  }

  /** Builds the outcome indexes' pending graphs now, synchronously (offline tools: decisions independent of timing). */
  finishNow(): void {
    this.online.finishNow();
    this.seeds?.finishNow();
  }

  /** Online outcomes held. */
  get size(): number {
    return this.online.size;
  }

  /**
   * Records an online outcome: `tier` (a cheaper tier) was good enough for
   * the request embedded as `vector` with `score` in 0..1. Returns what was
   * stored (to persist), or undefined when it cannot count (top tier,
   * unknown tier, bad vector or score).
   */
  record(o: { vector: Float32Array; tier: string; score: number; tenant?: string | undefined; at?: number }): StoredOutcome | undefined {
    const step = this.lower.indexOf(o.tier.toLowerCase());
    if (step < 0 || step >= this.lower.length - 1) return undefined;
    const stored: StoredOutcome = { vector: o.vector, tier: this.lower[step]!, score: o.score, scope: this.scopeOf(o.tenant), at: o.at ?? Date.now() };
    return this.online.add(stored) ? stored : undefined;
  }

  /**
   * The `k` nearest online outcomes of a tier for a request (what
   * {@link LearnedRouter.estimate} reads before weighting): for checking the
   * approximate index against an exact search.
   *
   * @example
   * learned.nearest('MEDIUM', embedding, 32, 't1'); // [{ score: 1, similarity: 0.97 }, ...]
   */
  nearest(tier: string, query: Float32Array, k: number, tenant?: string): OutcomeMatch[] {
    return this.online.search(this.scopeOf(tenant), tier, query, k);
  }

  /** Puts back an outcome read from the store (any tier, any scope; too old or malformed ones are dropped). */
  restore(o: StoredOutcome): boolean {
    return this.online.add(o);
  }

  private scopeOf(tenant: string | undefined): string {
    return this.cfg.scope === 'tenant' ? `t:${tenant ?? ''}` : GLOBAL;
  }

  /** The ladder step whose p(ok) ranks requests (`classify`'s `score`): the model's tier, else the second-strongest. */
  scoreStep(): number {
    const i = this.lower.indexOf(this.seedTier);
    return i >= 0 && i < this.lower.length - 1 ? i : Math.max(0, this.lower.length - 2);
  }

  /** The target of a ladder step. */
  targetOf(step: number): number {
    const name = this.lower[step]!;
    for (const k in this.cfg.targets) if (k.toLowerCase() === name) return this.cfg.targets[k]!;
    return this.cfg.target ?? (this.model && name === this.seedTier ? this.model.target : 0.8);
  }

  /**
   * Neighbour settings: config, else the model's, else defaults for learning
   * from live traffic alone (repeated requests sit close together, and a
   * prior made from a threshold knows little, so neighbours count more).
   */
  private knn() {
    const m = this.model?.knn;
    const c = this.cfg;
    return {
      neighbours: c.neighbours ?? m?.neighbours ?? 32,
      sharpness: c.sharpness ?? m?.sharpness ?? 0.2,
      priorWeight: c.priorWeight ?? m?.priorWeight ?? 2,
      minSimilarity: c.minSimilarity ?? m?.minSimilarity ?? 0.5,
    };
  }

  /**
   * P(ladder[step] good enough | request). `threshold` is the complexity
   * threshold above ladder[step] in effect: without a fitted prior for that
   * tier the prior reproduces the complexity decision (p0 = target at the
   * threshold).
   */
  estimate(step: number, input: LearnedInput, threshold: number | undefined): LearnedEstimate {
    const tier = this.lower[step]!;
    const target = this.targetOf(step);
    const fitted = this.model && tier === this.seedTier ? this.model.prior : undefined;
    if (fitted && this.gain) return this.estimateByGain(step, input, target);
    const prior = fitted
      ? priorP(fitted, input.complexity, input.tokens, input.embedding && this.fitsModel(input.embedding) ? input.embedding : undefined, input.features)
      : sigmoid(logit(target) - THRESHOLD_SLOPE * (input.complexity - (threshold ?? 0.5)));
    const k = this.knn();
    let matches: OutcomeMatch[] = [];
    const v = input.embedding;
    if (v) {
      matches = this.online.search(this.scopeOf(input.tenant), tier, v, k.neighbours);
      if (tier === this.seedTier && this.seedsUsable(v)) {
        const c = this.model!.center;
        const seeds = this.seeds!.search(GLOBAL, GLOBAL, c ? centered(v, c, this.scratch) : v, k.neighbours);
        if (matches.length === 0) matches = seeds;
        else if (seeds.length > 0) matches = [...matches, ...seeds].sort((a, b) => b.similarity - a.similarity).slice(0, k.neighbours);
      }
    }
    const e = shrunkEstimate(matches, prior, k);
    return { tier: this.ladder[step]!, p: e.p, prior, neighbours: e.neighbours, evidence: e.evidence, target };
  }

  /**
   * The model's tier under `knn.vote: gain`: the seed neighbours' mean gain
   * (strong right − weak right), shrunk toward the probe's predicted gap by
   * `priorWeight`, gives `p0 = 1 − gap`; the tier's online outcomes (0..1
   * verdicts on the cheaper tier) are then shrunk toward `p0` the same way.
   * Where the seeds are far (a kind of request the labels never had), their
   * weights vanish and the probe decides.
   */
  private estimateByGain(step: number, input: LearnedInput, target: number): LearnedEstimate {
    const probe = this.model!.prior.probe!;
    const k = this.knn();
    const v = input.embedding;
    const fits = v !== undefined && this.fitsModel(v);
    const gap0 = probeGap(probe, input.complexity, input.tokens, fits ? v : undefined, input.features);
    let seed = { p: (gap0 + 1) / 2, neighbours: 0, evidence: 0 };
    if (v && fits && this.seeds) {
      const c = this.model!.center;
      seed = shrunkEstimate(this.seeds.search(GLOBAL, GLOBAL, c ? centered(v, c, this.scratch) : v, k.neighbours), (gap0 + 1) / 2, k);
    }
    const p0 = clamp01(2 - 2 * seed.p);
    const online = v ? shrunkEstimate(this.online.search(this.scopeOf(input.tenant), this.lower[step]!, v, k.neighbours), p0, k) : { p: 0, neighbours: 0, evidence: 0 };
    const p = online.neighbours > 0 ? online.p : p0;
    return { tier: this.ladder[step]!, p, prior: clamp01(1 - gap0), neighbours: seed.neighbours + online.neighbours, evidence: seed.evidence + online.evidence, target };
  }

  /**
   * Walks the ladder within `maxSteps` of the complexity step `cstep`: from
   * the lowest allowed step up while p(ok) < target.
   */
  choose(input: LearnedInput, cstep: number, thresholds: ArrayLike<number>): LearnedChoice {
    const top = this.ladder.length - 1;
    const lo = Math.max(0, cstep - this.cfg.maxSteps);
    const hi = Math.min(top, cstep + this.cfg.maxSteps);
    const estimates: LearnedEstimate[] = [];
    let step = lo;
    while (step < hi) {
      const e = this.estimate(step, input, thresholds[step]);
      estimates.push(e);
      if (e.p >= e.target) break;
      step++;
    }
    return { step, why: explain(estimates, step, this.ladder, input.embedding === undefined), estimates };
  }
}

/** Whether a model's seeds vote on the quality gain (probe and gains present). */
function gainVote(m: RouterModel): boolean {
  return m.knn.vote === 'gain' && m.prior.probe !== undefined && m.seeds.length > 0 && m.seeds.every((s) => s.gain !== undefined);
}

const f2 = (x: number) => x.toFixed(2);

function explain(estimates: readonly LearnedEstimate[], step: number, ladder: readonly string[], noEmbedding: boolean): string {
  const parts = estimates.map((e) => `p(${e.tier} ok)=${f2(e.p)} ${e.neighbours > 0 ? `from ${e.neighbours} neighbour${e.neighbours === 1 ? '' : 's'}` : 'from the prior'} ${e.p >= e.target ? '>=' : '<'} ${f2(e.target)}`);
  const tail = noEmbedding ? ' (no embedding: prior only)' : '';
  return `learned: ${parts.length > 0 ? `${parts.join(', ')} ` : ''}-> ${ladder[step]}${tail}`;
}
