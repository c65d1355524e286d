/**
 * Shadow degradation tests, run by the core's `observe` once a user's answer
 * is final. The hook is synchronous and cheap (sampling by request-id hash, a
 * concurrency check); everything else — the spend reservation, the call to
 * the cheaper side, scoring, storage, the optional feed into routing's
 * learned quality — runs afterwards in the background, and every error there
 * is caught and recorded. The user's answer is never delayed, changed or
 * failed by it.
 */
import { costOf, type PriceBook, type TokenUsage } from '../accounting/pricing.js';
import type { SwitchyardConfig } from '../config/schema.js';
import type { RequestContext } from '../core/context.js';
import { createEmbedder, type Embedder } from '../embedding/index.js';
import type { Logger } from '../observability/logger.js';
import type { CanonicalEmbeddingResponse, CanonicalResponse } from '../protocol/canonical.js';
import type { LoadMonitor } from '../routing/load.js';
import { estimateTextTokens, estimateTokens } from '../routing/signals/length.js';
import type { Deployment, UpstreamRegistry } from '../upstream/registry.js';
import { callShadow } from './call.js';
import { Judge, DEFAULT_RUBRIC } from './judge.js';
import { MemoryLedger, RedisLedger, type SpendLedger } from './ledger.js';
import type { ShadowResult } from './result.js';
import { compilePlan, pickShadow, type SamplingPlan, type ShadowPick } from './sampler.js';
import { agreement, scorePair } from './scorer.js';
import { openShadowStore, type ShadowStore } from './store.js';

/** What the tester uses of the core (the `Switchyard` instance). */
export interface ShadowHost {
  readonly config: SwitchyardConfig;
  readonly registry: UpstreamRegistry;
  readonly router: {
    readonly load: LoadMonitor;
    recordQuality(task: string, tier: string, score: number): unknown;
    recordOutcome(embedding: Float32Array, tier: string, score: number, tenant: string | undefined, source: 'shadow'): boolean;
  };
  readonly accounting: { readonly prices: PriceBook };
  readonly cache: { readonly embedder: Embedder | undefined } | undefined;
}

/** The part of an observation the hook reads (the core's `Observation`). */
export interface ShadowObservation {
  deployment: Deployment;
  status: number;
  complete: boolean;
  response?: CanonicalResponse | CanonicalEmbeddingResponse;
}

/** Counters since start. */
export interface ShadowStats {
  /** Requests that fell in the sample. */
  sampled: number;
  /** Shadow calls sent. */
  started: number;
  /** Results stored (including failed calls). */
  completed: number;
  /** Shadow calls that failed (recorded with `error`). */
  failed: number;
  skippedBusy: number;
  skippedBudget: number;
  skippedNoTarget: number;
  /** Unexpected errors (store, ledger, hook). */
  errors: number;
  inFlight: number;
}

interface Job {
  ctx: RequestContext;
  answer: string;
  model: string;
  usage: TokenUsage | undefined;
  latencyMs: number;
  pick: ShadowPick;
  config: SwitchyardConfig;
}

interface Backends {
  sig: string;
  store: ShadowStore;
  ledger: SpendLedger;
}

/**
 * Runs shadow tests for one core. Built by the core; `observe` is its hook.
 *
 * @example
 * const sy = createSwitchyard(config); // shadow.enabled: true
 * sy.shadow.onResult((r) => console.log(r.task, r.similarity, r.agreed));
 * await sy.shadow.drain(); // tests: wait for background shadow work
 */
export class ShadowTester {
  private plan: SamplingPlan | undefined;
  private judge: { config: SwitchyardConfig; judge: Judge | undefined } | undefined;
  private backends: Backends | undefined;
  private embedder: { sig: string; embedder: Embedder } | undefined;
  private readonly jobs = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private readonly listeners = new Set<(r: ShadowResult) => void>();
  private readonly warned = new Map<string, number>();
  private readonly c = { sampled: 0, started: 0, completed: 0, failed: 0, skippedBusy: 0, skippedBudget: 0, skippedNoTarget: 0, errors: 0 };
  private running = 0;
  private closed = false;

  constructor(
    private readonly host: ShadowHost,
    private readonly opts: { logger?: Logger; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.reload(host.config);
  }

  /** Validates a config's `shadow` section before the core adopts it; throws `ConfigError` on dangling names. */
  reload(config: SwitchyardConfig): void {
    this.plan = compilePlan(config);
  }

  /**
   * The hook in `observe`: decides, synchronously, whether this answer gets a
   * shadow test and schedules it. Never throws.
   */
  observe(ctx: RequestContext, o: ShadowObservation, usage?: TokenUsage): void {
    const config = this.host.config;
    if (!config.shadow.enabled || this.closed) return;
    try {
      const resp = o.response;
      if (!o.complete || o.status < 200 || o.status >= 300 || !resp || !('text' in resp) || !resp.text || (resp.toolCalls?.length ?? 0) > 0) return;
      if (this.plan?.config !== config) this.plan = compilePlan(config);
      const pick = pickShadow(this.plan, ctx, o.deployment, this.host.registry, this.host.router.load);
      if (pick === undefined) return;
      this.c.sampled++;
      if (pick === 'no-target') {
        this.c.skippedNoTarget++;
        return;
      }
      if (this.running >= config.shadow.maxConcurrent) {
        this.c.skippedBusy++;
        return;
      }
      this.running++;
      const job: Job = { ctx, answer: resp.text, model: o.deployment.model.name, usage, latencyMs: performance.now() - ctx.startedAt, pick, config };
      // After the current turn: the face writes the user's answer first.
      const p = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.run(job))
        .catch((e: unknown) => this.fault('shadow test failed', e))
        .finally(() => {
          this.running--;
          this.jobs.delete(p);
        });
      this.jobs.add(p);
    } catch (e) {
      this.fault('shadow sampling failed', e);
    }
  }

  private async run(job: Job): Promise<void> {
    if (this.closed) return;
    const { ctx, pick, config } = job;
    const s = config.shadow;
    const d = pick.targets[0]!;
    const prices = this.host.accounting.prices;
    const usage = job.usage ?? { inputTokens: estimateTokens(ctx.req), outputTokens: estimateTextTokens(job.answer) };
    const judge = this.judgeFor(config);
    const judgePrice = s.judge ? { inputPer1M: s.judge.inputPricePer1M, outputPer1M: s.judge.outputPricePer1M } : undefined;
    const judgeEstimate = judgePrice
      ? costOf(judgePrice, { inputTokens: Math.ceil((DEFAULT_RUBRIC.length + Math.min(s.judge!.maxChars, 4 * usage.inputTokens) + 2 * Math.min(s.judge!.maxChars, job.answer.length)) / 3), outputTokens: 50 })
      : 0;
    const b = this.backendsFor(config);
    await b.store.ready(); // the spend ledger shares its connection
    const reservation = await b.ledger.reserve(prices.cost(d.model.name, usage) + judgeEstimate, s.dailyBudgetUsd);
    if (!reservation) {
      this.c.skippedBudget++;
      return;
    }
    this.c.started++;
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`no answer within ${s.timeoutMs}ms`)), s.timeoutMs);
    timer.unref();
    const r: ShadowResult = {
      v: 1,
      id: ctx.id,
      time: '',
      tenant: ctx.tenant,
      task: pick.task,
      complexity: Number(pick.complexity.toFixed(4)),
      byComplexity: pick.byComplexity,
      tier: pick.tier,
      model: job.model,
      ...(pick.shadowTier !== undefined ? { shadowTier: pick.shadowTier } : {}),
      shadowModel: d.model.name,
      cost: prices.cost(job.model, usage),
      shadowCost: 0,
      latencyMs: Math.round(job.latencyMs),
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
    };
    let spent = 0;
    try {
      const shadow = await callShadow(d, ctx, ac.signal);
      r.shadowCost = prices.cost(d.model.name, shadow.usage);
      r.shadowLatencyMs = Math.round(shadow.latencyMs);
      r.shadowOutputTokens = shadow.usage.outputTokens;
      spent += r.shadowCost;
      const scores = await scorePair(ctx.req, job.answer, shadow.text, { embedder: s.similarity ? this.embedderFor(config) : undefined, judge, signal: ac.signal });
      if (scores.similarity !== undefined) r.similarity = scores.similarity;
      if (scores.similarityError !== undefined) r.similarityError = scores.similarityError;
      if (scores.judge !== undefined) r.judge = scores.judge;
      if (scores.judgeError !== undefined) r.judgeError = scores.judgeError;
      if (judgePrice && scores.judgeTokens) {
        r.judgeCost = costOf(judgePrice, scores.judgeTokens);
        spent += r.judgeCost;
      }
      const agreed = agreement(r, s.agreement);
      if (agreed !== undefined) r.agreed = agreed;
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
      this.c.failed++;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
      await b.ledger.settle(reservation, spent);
    }
    r.time = new Date().toISOString();
    if (!(await b.store.write(r))) this.c.errors++;
    this.c.completed++;
    this.feedRouter(r, config);
    this.feedLearned(r, job.ctx);
    for (const l of this.listeners) {
      try {
        l(r);
      } catch (e) {
        this.fault('shadow result listener failed', e);
      }
    }
  }

  /** Automatic mode: the verdict becomes evidence of the shadow tier's quality on this task. */
  private feedRouter(r: ShadowResult, config: SwitchyardConfig): void {
    if (!config.shadow.auto.enabled || r.agreed === undefined || !r.byComplexity || r.shadowTier === undefined) return;
    try {
      this.host.router.recordQuality(r.task, r.shadowTier, r.agreed ? 1 : 0);
    } catch (e) {
      this.fault('shadow auto mode could not record quality', e);
    }
  }

  /** The verdict becomes a labelled outcome of the learned router (`routing.learned`), near this request's embedding. */
  private feedLearned(r: ShadowResult, ctx: RequestContext): void {
    if (r.agreed === undefined || r.shadowTier === undefined || !ctx.embedding) return;
    try {
      this.host.router.recordOutcome(ctx.embedding, r.shadowTier, r.agreed ? 1 : 0, ctx.tenant, 'shadow');
    } catch (e) {
      this.fault('shadow result could not feed the learned router', e);
    }
  }

  private judgeFor(config: SwitchyardConfig): Judge | undefined {
    if (this.judge?.config !== config) {
      const j = config.shadow.judge;
      const same = this.judge && JSON.stringify(this.judge.config.shadow.judge) === JSON.stringify(j);
      this.judge = { config, judge: same ? this.judge!.judge : j ? new Judge(j, this.opts.env) : undefined };
    }
    return this.judge.judge;
  }

  private backendsFor(config: SwitchyardConfig): Backends {
    const st = config.shadow.store;
    const sig = JSON.stringify(st);
    if (this.backends?.sig === sig) return this.backends;
    const old = this.backends;
    const store = openShadowStore(st, (e) => this.fault('shadow store error', e));
    const ledger = store.redis ? new RedisLedger(store.redis, `${st.redis.stream}:spend`, (e) => this.fault('shadow spend ledger error', e)) : new MemoryLedger();
    this.backends = { sig, store, ledger };
    if (old) void old.store.close();
    return this.backends;
  }

  /** The semantic cache's embedder when there is one; else one built once from `cache.semantic.embedding`. */
  private embedderFor(config: SwitchyardConfig): Embedder {
    const shared = this.host.cache?.embedder;
    if (shared) return shared;
    const sig = JSON.stringify(config.cache.semantic.embedding);
    if (this.embedder?.sig !== sig) {
      void this.embedder?.embedder.close?.();
      this.embedder = { sig, embedder: createEmbedder(config.cache.semantic.embedding) };
    }
    return this.embedder.embedder;
  }

  private fault(msg: string, e: unknown): void {
    this.c.errors++;
    const reason = e instanceof Error ? e.message : String(e);
    const key = `${msg}: ${reason}`;
    const now = Date.now();
    if ((this.warned.get(key) ?? 0) > now) return;
    this.warned.set(key, now + 60_000);
    this.opts.logger?.warn({ reason }, msg);
  }

  /** Subscribes to stored results; returns the unsubscribe function. */
  onResult(listener: (r: ShadowResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Counters since start. */
  stats(): ShadowStats {
    return { ...this.c, inFlight: this.running };
  }

  /** USD spent (and reserved) on shadow tests today. */
  async spentToday(): Promise<number> {
    return this.backends ? this.backends.ledger.today() : 0;
  }

  /** Resolves when no shadow test is scheduled or running. */
  async drain(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
  }

  /** Aborts running shadow calls, waits for their records, closes the store. */
  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.aborts) ac.abort(new Error('shutting down'));
    await this.drain();
    await this.backends?.store.close();
    await this.embedder?.embedder.close?.();
  }
}
