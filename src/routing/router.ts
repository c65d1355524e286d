/**
 * The router: signals → tier → candidates ordered by constraints, with the
 * state that outlives a request (compiled rules, task prototypes, load
 * gauges, learned quality). Deterministic for a given state; every decision
 * says why in `reason`. Without a `routing` section it defers to the plain
 * policy in `policy.ts`.
 */
import { LOCAL_ONLY, type RoutingConfig } from '../config/routing.js';
import { ConfigError } from '../config/load.js';
import type { SwitchyardConfig, TierConfig } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Operation } from '../protocol/canonical.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';
import { applyAb } from './ab.js';
import { NO_FIT, SATURATED, UNUSABLE, explainChoice, orderByConstraints, type Judge, type Ordered } from './constraints.js';
import { LearnedRouter, type LearnedChoice } from './learned.js';
import { ModelFileError, readRouterModel, type RouterModel } from './learned-model.js';
import { QualityModel, RecentDecisions, qualityKey, type QualityEntry, type QualityEstimate } from './learning.js';
import { openQualityStore, type QualityStore } from './learning-store.js';
import { LoadMonitor } from './load.js';
import type { RestoreReport } from './outcome-index.js';
import { openOutcomeStore, type OutcomeStore } from './outcome-store.js';
import { AUTO_MODEL, VIRTUAL_PREFIX, route as plainRoute, unknownModel, type RouteDecision, type RouteInput } from './policy.js';
import { compileRules, computeSignals, estimateTokens, privacySignal, taskType, type PrototypeIndex, type RuleMatcher, type Signals, type TaskType } from './signals/index.js';
import { chainFor, pickTier, tierDeployments } from './tiers.js';
import { findTier, routingIssues } from './validate.js';

/** The outcome store in use, its poller, and the graph snapshot beside it. */
interface OutcomeSlot {
  sig: string;
  store: OutcomeStore;
  timer: NodeJS.Timeout | undefined;
  snapshot: string | undefined;
  /** Index version of the last snapshot written or read (-1: none). */
  savedVersion: number;
}

/** Options of {@link Router}. */
export interface RouterOptions {
  /** Task prototypes embedded by the semantic cache's embedder (see `buildPrototypeIndex`). */
  prototypes?: PrototypeIndex;
  /** Store and poller failures, for the log. */
  onError?: (err: Error, op: string) => void;
  /** Poll sidecars' health (default true; `classify` turns it off). */
  pollers?: boolean;
}

/** What feedback on one request changed. */
export interface FeedbackResult {
  request_id: string;
  task: string;
  tier: string;
  score: number;
  quality: QualityEstimate;
  /** Thresholds for the task now in effect (configured + learned). */
  thresholds: number[];
  /** Whether the verdict became an outcome of the learned router (`routing.learned`). */
  learned: boolean;
}

/** The SLA header: the most time-to-first-token (streams) or latency (others) the caller accepts. */
export const SLA_HEADER = 'x-switchyard-max-latency-ms';

const REJECT_ESCALATION = UNUSABLE | NO_FIT | SATURATED;

/**
 * Decides where each request goes.
 *
 * @example
 * const router = new Router(config, registry);
 * const d = router.route({ req, id, tenant, embedding: ctx.embedding, budget: ctx.budget, headers });
 * d.reason; // 'auto: complexity 0.82 >= 0.70 -> HIGH; task code; claude-sonnet-4-5 over gpt-4o (gpt-4o breaker open)'
 */
export class Router {
  /** Queue gauges and sidecar health (`load.setQueueLength('local', n)`). */
  readonly load = new LoadMonitor();
  /** Settles when persisted quality estimates are loaded (learning starts from priors until then). */
  ready: Promise<void> = Promise.resolve();
  private cfg!: SwitchyardConfig;
  private rules: RuleMatcher = () => [];
  private ladder: TierConfig[] = [];
  private agentic: TierConfig | undefined;
  private modelTier = new Map<string, string>();
  private slaTiers = new Map<string, number>();
  private privacyKinds = new Set<string>();
  private hasLocalOnlyRule = false;
  private quality: QualityModel | undefined;
  private store: QualityStore | undefined;
  private storeSig = '';
  private recent = new RecentDecisions(10_000);
  /** `learning.scope: tenant`: each tenant's own estimate from its own feedback, bounded, least recently updated dropped. */
  private readonly tenantQuality = new Map<string, QualityModel>();
  private prototypes: PrototypeIndex | undefined;
  private learned: LearnedRouter | undefined;
  private learnedModel: { path: string; model: RouterModel } | undefined;
  private outcomes: OutcomeSlot | undefined;
  /** How the online outcomes were restored at start (snapshot or rebuild), once done. */
  private restored: RestoreReport | undefined;
  private embedderId: string | undefined;
  private readonly onError: (err: Error, op: string) => void;
  private readonly pollers: boolean;

  constructor(
    cfg: SwitchyardConfig,
    private readonly reg: UpstreamRegistry,
    opts: RouterOptions = {},
  ) {
    this.prototypes = opts.prototypes;
    this.onError = opts.onError ?? (() => undefined);
    this.pollers = opts.pollers ?? true;
    this.reload(cfg);
  }

  /** Adopts a new config; throws `ConfigError` (keeping the old one) when routing names unknown tiers or upstreams. */
  reload(cfg: SwitchyardConfig): void {
    const issues = routingIssues(cfg);
    if (issues.length > 0) throw new ConfigError(issues);
    const model = this.loadModel(cfg);
    const r = cfg.routing;
    this.cfg = cfg;
    this.load.stop();
    if (!r) return;
    this.rules = compileRules(r.rules);
    this.ladder = r.ladder.map((n) => findTier(cfg, n)!);
    // Unset: the tier named AGENTIC if the config has one, else none (a config with other tier names still starts).
    this.agentic = r.agenticTier === null ? undefined : findTier(cfg, r.agenticTier ?? 'AGENTIC');
    this.modelTier = new Map();
    for (const t of [...this.ladder, ...cfg.tiers]) for (const m of t.models) if (!this.modelTier.has(m)) this.modelTier.set(m, t.name);
    this.slaTiers = new Map(Object.entries(r.sla.tiers).map(([k, v]) => [k.toLowerCase(), v]));
    this.privacyKinds = new Set(r.privacy.kinds);
    this.hasLocalOnlyRule = Object.values(r.ruleTiers).includes(LOCAL_ONLY);
    if (this.pollers) this.load.start(r.load, cfg);
    this.configureLearning(r);
    this.configureLearned(r, model);
  }

  /** Reads `routing.learned.model` (again only when the path changed); a bad file is a config error. */
  private loadModel(cfg: SwitchyardConfig): RouterModel | undefined {
    const l = cfg.routing?.learned;
    if (!l?.enabled || !l.model) return undefined;
    if (this.learnedModel?.path === l.model) return this.learnedModel.model;
    try {
      const model = readRouterModel(l.model);
      this.learnedModel = { path: l.model, model };
      return model;
    } catch (e) {
      if (e instanceof ModelFileError) throw new ConfigError([{ path: 'routing.learned.model', message: e.message }]);
      throw e;
    }
  }

  private configureLearned(r: RoutingConfig, model: RouterModel | undefined): void {
    const l = r.learned;
    if (!l?.enabled) {
      void this.closeOutcomes(); // takes the index (for its snapshot) before it is dropped
      this.learned = undefined;
      return;
    }
    const ladder = this.ladder.map((t) => t.name);
    if (this.learned) this.learned.configure(l, ladder, model);
    else {
      this.learned = new LearnedRouter(l, ladder, model);
      this.learned.onIndexError((e) => this.onError(e, 'learned index'));
    }
    this.learned.setEmbedderId(this.embedderId);
    // Ready once the model's seed graph is built (in the background): the first decisions then search it, not a scan.
    this.ready = Promise.all([this.ready, this.learned.settled()]).then(() => undefined);
    const sig = JSON.stringify([l.store, l.redis, l.file, l.snapshot]);
    if (this.outcomes?.sig === sig) return;
    void this.closeOutcomes();
    const store = openOutcomeStore(l, (err, op) => this.onError(err, `learned ${op}`));
    const learned = this.learned;
    const snapshot = l.snapshot ?? (l.store === 'file' ? `${l.file}.graph` : undefined);
    const slot: OutcomeSlot = { sig, store, timer: undefined, snapshot, savedVersion: -1 };
    this.outcomes = slot;
    this.restored = undefined;
    const loaded = store.load().then(async (list) => {
      const index = learned.outcomes;
      const report = await index.restore(list, snapshot, () => this.outcomes !== slot);
      if (!report) return;
      // A rebuild is saved at once: the next start loads what was just built.
      if (report.source === 'snapshot') slot.savedVersion = index.version;
      else if (list.length > 0) await this.saveOutcomeGraph(slot);
      if (this.outcomes !== slot) return;
      this.restored = report;
      if (l.store !== 'redis') return;
      let busy = false;
      slot.timer = setInterval(() => {
        if (busy) return;
        busy = true;
        void store
          .poll()
          .then((more) => learned.outcomes.addSliced(more, false, () => this.outcomes !== slot))
          .finally(() => (busy = false));
      }, l.redis.syncMs);
      slot.timer.unref();
    });
    this.ready = Promise.all([this.ready, loaded]).then(() => undefined);
  }

  /**
   * Writes the outcome-graph snapshot when the outcomes changed since the
   * last one (a failure is reported, never thrown); the write waits for the
   * index's background work to settle.
   */
  private async saveOutcomeGraph(slot: OutcomeSlot, index = this.learned?.outcomes): Promise<void> {
    if (!slot.snapshot || !index || index.size === 0 || index.version === slot.savedVersion) return;
    const version = index.version;
    try {
      await index.writeSnapshot(slot.snapshot);
      slot.savedVersion = version;
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)), 'learned snapshot');
    }
  }

  /** How the learned router's stored outcomes were restored at start (undefined until done, or without `routing.learned`). */
  get learnedRestore(): RestoreReport | undefined {
    return this.restored;
  }

  /** Stops the outcome poller, writes the graph snapshot if the outcomes changed, and closes the store. */
  private async closeOutcomes(): Promise<void> {
    const o = this.outcomes;
    if (!o) return;
    const index = this.learned?.outcomes;
    this.outcomes = undefined;
    clearInterval(o.timer);
    await this.saveOutcomeGraph(o, index);
    await o.store.close();
  }

  /** The id of the embedder whose vectors reach `route` (the semantic cache's): a model fitted on another embedder's vectors is not searched. */
  setEmbedderId(id: string | undefined): void {
    this.embedderId = id;
    this.learned?.setEmbedderId(id);
  }

  /** The outcome-trained router, when `routing.learned` is on. */
  get learnedRouter(): LearnedRouter | undefined {
    return this.learned;
  }

  private configureLearning(r: RoutingConfig): void {
    const l = r.learning;
    const ladder = this.ladder.map((t) => t.name.toLowerCase());
    if (!l.enabled) {
      this.quality = undefined;
      return;
    }
    this.recent.resize(l.recentRequests);
    if (this.quality) this.quality.configure(l, ladder);
    else this.quality = new QualityModel(l, ladder);
    if (l.scope === 'global') this.tenantQuality.clear();
    for (const m of this.tenantQuality.values()) m.configure(l, ladder);
    const sig = JSON.stringify([l.store, l.redis, l.file]);
    if (sig === this.storeSig && this.store) return;
    const old = this.store;
    this.storeSig = sig;
    const store = openQualityStore(l, this.onError);
    this.store = store;
    // Another instance's tenant feedback moves that tenant's routing here too.
    store.watchTenants?.((tenant, key, e) => this.applyTenantEntry(tenant, key, e));
    const model = this.quality;
    this.ready = (old ? old.close() : Promise.resolve()).then(async () => {
      const local = new Map(model.all());
      model.merge(await store.load());
      // Feedback taken before the load, or kept across a store change, is written through.
      for (const [k, e] of model.all()) if (local.get(k) === e) store.changed(k, e);
    });
  }

  /** Sets (or replaces) the task prototypes, once the embedder has embedded them. */
  setPrototypes(p: PrototypeIndex | undefined): void {
    this.prototypes = p;
  }

  /** Signals of a request as the router sees them (no embedding: keywords decide the task). */
  signals(input: RouteInput): Signals {
    return computeSignals(input.req, { ...(input.embedding ? { embedding: input.embedding } : {}), ...(this.prototypes ? { prototypes: this.prototypes } : {}), rules: this.rules });
  }

  /** The complexity thresholds in effect for a task: configured, plus the learned shift. */
  thresholdsFor(task: string, tenant?: string): number[] {
    const th = this.cfg.routing?.taskThresholds[task as TaskType] ?? this.cfg.routing?.thresholds ?? [];
    const s = this.qualityFor(tenant)?.shiftsFor(task);
    return th.map((t, i) => Number((t + (s?.[i] ?? 0)).toFixed(4)));
  }

  /** The estimate that routes a tenant's traffic: its own (tenant scope, once it rated something), else the shared one. */
  private qualityFor(tenant: string | undefined): QualityModel | undefined {
    return (tenant !== undefined ? this.tenantQuality.get(tenant) : undefined) ?? this.quality;
  }

  /** Routes one request. Throws `SwitchyardError` (404 unknown model, 503 nothing local for a private request). */
  route(input: RouteInput): RouteDecision {
    const cfg = this.cfg;
    const r = cfg.routing;
    if (!r) return plainRoute(input.req, cfg, this.reg);
    const req = input.req;
    const requested = req.model || AUTO_MODEL;
    const notes: string[] = [];
    let signals: Signals | undefined;
    let learnedChoice: LearnedChoice | undefined;
    let tier: TierConfig | undefined;
    let step = -1;
    let cheapest = false;
    let base: Deployment[];
    let pinned: string | undefined;
    const soft = input.budget === 'soft';
    if (requested.toLowerCase() === AUTO_MODEL) {
      signals = this.signals(input);
      const taskTh = r.taskThresholds[signals.task.type];
      const pick = pickTier(signals, taskTh ? { ...r, thresholds: taskTh } : r, this.ladder, this.agentic, (n) => findTier(cfg, n), this.qualityFor(input.tenant)?.shiftsFor(signals.task.type));
      tier = pick.tier;
      step = pick.step;
      notes.push(`auto: ${pick.why}`);
      if (this.learned && pick.byComplexity && step >= 0) {
        learnedChoice = this.learned.choose({ embedding: input.embedding, complexity: signals.complexity, tokens: signals.tokens, features: signals.features, tenant: input.tenant }, step, this.thresholdsFor(signals.task.type));
        step = learnedChoice.step;
        tier = this.ladder[step]!;
        notes.push(learnedChoice.why);
      }
      notes.push(`task ${signals.task.type}`);
      if (soft) {
        cheapest = true;
        if (step > 0) {
          tier = this.ladder[--step]!;
          notes.push(`budget soft -> ${tier.name} (one tier down)`);
        } else notes.push('budget soft -> cheapest first');
      }
      base = tierDeployments(tier, cfg, this.reg);
    } else if (requested.startsWith(VIRTUAL_PREFIX)) {
      const name = (pinned = requested.slice(VIRTUAL_PREFIX.length));
      tier = findTier(cfg, name);
      if (!tier) throw unknownModel(requested);
      step = this.ladder.indexOf(tier);
      notes.push(`pinned tier ${name}`);
      if (soft) {
        cheapest = true;
        notes.push('budget soft -> cheapest first');
      }
      base = tierDeployments(tier, cfg, this.reg);
    } else {
      base = chainFor(requested, cfg, this.reg);
      if (base.length === 0) throw unknownModel(requested);
      notes.push('explicit model');
    }
    const op = req.operation;
    base = base.filter((d) => d.upstream.provider.supports(op));
    const j = this.judge(input, tier, signals);
    const localWhy = this.localOnlyReason(input, signals, tier === undefined);
    let out: Ordered;
    if (localWhy) {
      out = this.routeLocal(base, op, j, localWhy, notes);
    } else {
      let pref = base;
      const weights = tier ? this.abWeights(tier) : undefined;
      if (weights) {
        const ab = applyAb(pref, weights, r.ab.key === 'tenant' ? (input.tenant ?? '') : (input.id ?? ''));
        if (ab) {
          pref = ab.list;
          notes.push(ab.note);
        }
      }
      if (cheapest) pref = byPrice(pref);
      out = orderByConstraints(pref, j);
      let to: TierConfig | undefined;
      let pool = pref;
      for (let s = step + 1; step >= 0 && s < this.ladder.length && (out.list.length === 0 || out.flags[0]! & REJECT_ESCALATION); s++) {
        to = this.ladder[s]!;
        pool = tierDeployments(to, cfg, this.reg, [...pool]).filter((d) => d.upstream.provider.supports(op));
        out = orderByConstraints(pool, j);
      }
      const why = explainChoice(pref, out, j);
      if (to && out.list[0] && !pref.includes(out.list[0])) notes.push(`spill over to ${this.modelTier.get(out.list[0].model.name) ?? to.name}: ${why}`);
      else if (why) notes.push(why);
    }
    const first = out.list[0];
    const tierName = first && tier && !base.includes(first) ? this.modelTier.get(first.model.name) : tier?.name;
    const task = signals?.task.type ?? (this.quality && input.id ? taskType(req, input.embedding, this.prototypes).type : undefined);
    const learnTier = tierName ?? (first ? this.modelTier.get(first.model.name) : undefined);
    // A private (local-only) request never becomes a stored outcome: its embedding is not kept for feedback.
    if ((this.quality || this.learned) && input.id && task && learnTier) {
      this.recent.remember(input.id, { task, tier: learnTier, ...(input.embedding && this.learned && !localWhy ? { embedding: input.embedding } : {}), ...(input.tenant !== undefined ? { tenant: input.tenant } : {}) });
    }
    return {
      requested,
      ...(tierName ? { tier: pinned !== undefined && tierName === tier?.name ? pinned : tierName } : {}),
      candidates: out.list,
      reason: headerSafe(notes.join('; ')),
      ...(signals ? { signals, task: signals.task.type, thresholds: this.thresholdsFor(signals.task.type, input.tenant) } : task ? { task } : {}),
      ...(localWhy ? { localOnly: true } : {}),
      ...(learnedChoice ? { learned: learnedChoice } : {}),
    };
  }

  /** Local-only: the tier's local models, then every other local one; never a cloud model. */
  private routeLocal(base: Deployment[], op: Operation, j: Judge, why: string, notes: string[]): Ordered {
    const local = base.filter((d) => d.upstream.config.local);
    const add = (d: Deployment) => {
      if (d.upstream.config.local && !local.includes(d) && d.upstream.provider.supports(op)) local.push(d);
    };
    for (const t of this.ladder) for (const d of tierDeployments(t, this.cfg, this.reg)) add(d);
    for (const d of this.reg.allDeployments()) add(d);
    const out = orderByConstraints(local, j);
    const overridden = base[0] && !base[0].upstream.config.local ? `: ${base[0].model.name} overridden` : '';
    notes.push(`${why} -> local-only${overridden}`);
    if (out.list.length === 0 || out.flags[0]! & UNUSABLE) {
      const state = out.list.map((d) => `${d.upstream.name}: ${this.load.downReason(d.upstream.name) ?? d.whyUnusable(j.now) ?? 'unusable'}`);
      throw new SwitchyardError(
        'no_upstream_available',
        `${why}: this request may only go to a local upstream, and ${state.length === 0 ? 'none is configured (mark one `local: true`)' : `none is usable (${[...new Set(state)].join('; ')})`}`,
      );
    }
    const chosen = explainChoice(local, out, j);
    if (chosen) notes.push(chosen);
    return out;
  }

  private localOnlyReason(input: RouteInput, s: Signals | undefined, explicit: boolean): string | undefined {
    const r = this.cfg.routing!;
    if (r.privacy.localOnly && (!explicit || r.privacy.explicitModels)) {
      const kinds = s ? s.sensitive : privacySignal(input.req);
      let hit = '';
      for (const k of kinds) if (this.privacyKinds.has(k)) hit = hit ? `${hit}, ${k}` : k;
      if (hit) return `privacy (${hit})`;
    }
    if (!this.hasLocalOnlyRule) return undefined;
    for (const rule of s ? s.rules : this.rules(input.req)) if (r.ruleTiers[rule] === LOCAL_ONLY) return `rule ${rule}`;
    return undefined;
  }

  private abWeights(tier: TierConfig): Readonly<Record<string, number>> | undefined {
    const tiers = this.cfg.routing!.ab.tiers;
    for (const k in tiers) if (k.toLowerCase() === tier.name.toLowerCase()) return tiers[k];
    return undefined;
  }

  private judge(input: RouteInput, tier: TierConfig | undefined, s: Signals | undefined): Judge {
    const r = this.cfg.routing!;
    const h = input.headers?.[SLA_HEADER];
    const fromHeader = Number(Array.isArray(h) ? h[0] : h);
    const slaMs =
      Number.isFinite(fromHeader) && fromHeader > 0
        ? fromHeader
        : ((tier ? this.slaTiers.get(tier.name.toLowerCase()) : undefined) ?? (input.path ? r.sla.routes[input.path] : undefined) ?? r.sla.maxLatencyMs);
    return {
      now: Date.now(),
      tokens: s ? s.tokens : estimateTokens(input.req),
      maxOutput: input.req.maxTokens ?? 0,
      slaMs,
      stream: input.req.stream,
      load: this.load,
      maxInFlight: r.load.maxInFlight,
      maxQueue: r.load.maxQueue,
    };
  }

  /**
   * Records a quality score in [0, 1] for a (task, tier): from feedback, or
   * from shadow tests comparing tiers. Shifts that task's thresholds within
   * the guard rail and persists the estimate.
   *
   * @example
   * router.recordQuality('code', 'MEDIUM', 0.9);
   */
  recordQuality(task: TaskType | string, tier: string, score: number): QualityEstimate {
    if (!this.quality) throw new SwitchyardError('not_found', 'routing learning is off: add a `routing` section with `learning.enabled: true`');
    if (!(score >= 0 && score <= 1)) throw new SwitchyardError('invalid_request', '`score` must be a number from 0 to 1', { param: 'score' });
    const e = this.quality.update(task, tier, score);
    this.store?.changed(qualityKey(task, tier), e);
    return this.quality.estimate(task, tier);
  }

  /**
   * Feedback on a recent request (`x-switchyard-request-id`); each request
   * counts once. Only the tenant that made the request may rate it (another
   * tenant's id is "unknown", and stays rateable by its owner), or an admin.
   * Under `learning.scope: tenant` a tenant's score moves only its own
   * estimate; the shared one moves only for admin feedback (or shadow tests).
   * Under `global`, tenant feedback is refused (403). The learned router
   * (`routing.learned`) takes a tenant's verdict only when it learns per
   * tenant; with a global scope only admin verdicts become outcomes.
   */
  feedback(requestId: string, score: number, by: { tenant?: string; admin?: boolean } = { admin: true }): FeedbackResult {
    const l = this.cfg.routing?.learning;
    const useQuality = this.quality !== undefined && l !== undefined;
    if (!useQuality && !this.learned) throw new SwitchyardError('not_found', 'routing learning is off: add a `routing` section with `learning.enabled: true` or `learned`');
    if (!(score >= 0 && score <= 1)) throw new SwitchyardError('invalid_request', '`score` must be a number from 0 to 1', { param: 'score' });
    const seen = this.recent.peek(requestId);
    const mine = seen !== undefined && (by.admin === true || (by.tenant !== undefined && seen.tenant === by.tenant));
    if (!mine) throw new SwitchyardError('not_found', `unknown request id "${requestId}": not routed here recently for this caller, a cache hit, or already rated`, { param: 'request_id' });
    const learnedScope = this.cfg.routing?.learned?.scope ?? 'global';
    const tenantMovesLearned = this.learned !== undefined && learnedScope === 'tenant';
    if (!by.admin && (useQuality ? l!.scope === 'global' : !tenantMovesLearned)) {
      throw new SwitchyardError('permission_denied', 'routing learning is global: only admin feedback (with the admin token) moves routing');
    }
    const d = this.recent.take(requestId)!;
    const learned = d.embedding && (by.admin || tenantMovesLearned) ? this.recordOutcome(d.embedding, d.tier, score, d.tenant, 'feedback') : false;
    if (!useQuality) return { request_id: requestId, task: d.task, tier: d.tier, score, quality: { mean: score, n: 0 }, thresholds: this.thresholdsFor(d.task), learned };
    if (by.admin || by.tenant === undefined) {
      const quality = this.recordQuality(d.task, d.tier, score);
      return { request_id: requestId, task: d.task, tier: d.tier, score, quality, thresholds: this.thresholdsFor(d.task), learned };
    }
    const own = this.ownModel(by.tenant, l!);
    const entry = own.update(d.task, d.tier, score); // not inside the optional call: `?.(` would skip it
    this.store?.tenantChanged?.(by.tenant, qualityKey(d.task, d.tier), entry);
    return { request_id: requestId, task: d.task, tier: d.tier, score, quality: own.estimate(d.task, d.tier), thresholds: this.thresholdsFor(d.task, by.tenant), learned };
  }

  /** A tenant entry announced by another instance (newest wins; our own echo changes nothing). */
  private applyTenantEntry(tenant: string, key: string, e: QualityEntry): void {
    const l = this.cfg.routing?.learning;
    if (!this.quality || !l?.enabled || l.scope !== 'tenant') return;
    this.ownModel(tenant, l).merge([[key, e]]);
  }

  private ownModel(tenant: string, l: NonNullable<RoutingConfig['learning']>): QualityModel {
    let m = this.tenantQuality.get(tenant);
    if (m) this.tenantQuality.delete(tenant);
    else {
      // Starts from the shared estimate, so a tenant's first score does not forget what everyone learned.
      m = new QualityModel(l, this.ladder.map((t) => t.name.toLowerCase()));
      m.merge(this.quality!.all());
    }
    this.tenantQuality.set(tenant, m);
    while (this.tenantQuality.size > l.maxTenants) this.tenantQuality.delete(this.tenantQuality.keys().next().value!);
    return m;
  }

  /**
   * An outcome for the learned router: `tier` (a cheaper ladder tier) was
   * good enough (`score` 1) or not (0) for the request embedded as
   * `embedding`. Returns whether it was stored (false: learned routing off,
   * that source turned off, the top tier, or an unknown tier).
   *
   * @example
   * router.recordOutcome(ctx.embedding, 'MEDIUM', 1, ctx.tenant, 'shadow'); // a shadow test agreed
   */
  recordOutcome(embedding: Float32Array, tier: string, score: number, tenant: string | undefined, source: 'feedback' | 'shadow'): boolean {
    if (!this.learned || !this.learned.sources[source] || !(score >= 0 && score <= 1)) return false;
    const stored = this.learned.record({ vector: embedding, tier, score, tenant });
    if (stored) this.outcomes?.store.append(stored);
    return stored !== undefined;
  }

  /** Stops pollers and flushes the stores. */
  async close(): Promise<void> {
    this.load.stop();
    await this.ready.catch(() => undefined);
    await this.store?.close();
    await this.closeOutcomes();
  }
}

const NOT_HEADER_SAFE = /[^\x20-\x7e]/g;

/** The reason travels as a header: operator-chosen names with other characters are shown as `?`. */
function headerSafe(s: string): string {
  NOT_HEADER_SAFE.lastIndex = 0;
  return NOT_HEADER_SAFE.test(s) ? s.replace(NOT_HEADER_SAFE, '?') : s;
}

/** Cheapest first (input + output price per 1M tokens), stable. */
function byPrice(list: Deployment[]): Deployment[] {
  const price = (d: Deployment) => d.model.inputPricePer1M + d.model.outputPricePer1M;
  return list.map((d, i) => [d, i] as const).sort((a, b) => price(a[0]) - price(b[0]) || a[1] - b[1]).map(([d]) => d);
}
