/**
 * The core: `decide` (parse → cache → route), `execute` (upstream call with
 * breakers, retries and fallback) and `observe` (accounting, cache writes,
 * events). Orchestration only; each step lives in its own module. Knows
 * nothing of Express or gRPC.
 */
import { randomUUID } from 'node:crypto';
import type { SwitchyardConfig } from '../config/schema.js';
import { SwitchyardError, toSwitchyardError } from '../errors.js';
import type { CanonicalEmbeddingResponse, CanonicalResponse } from '../protocol/canonical.js';
import { DecisionEvents, type DecisionRecord } from '../observability/events.js';
import { AUTO_MODEL, VIRTUAL_PREFIX } from '../routing/policy.js';
import { Router } from '../routing/router.js';
import { buildPrototypeIndex } from '../routing/signals/task.js';
import { privacySignal } from '../routing/signals/privacy.js';
import { feedbackOutcome } from '../routing/feedback.js';
import type { JsonAttempt, StreamAttempt } from '../upstream/attempt.js';
import { FallbackExhausted, callWithFallback, describeUnavailable, type FallbackSuccess } from '../upstream/fallback.js';
import { CLIENT_ABORTED, UpstreamFailure } from '../upstream/failure.js';
import { UpstreamRegistry, type Deployment } from '../upstream/registry.js';
import { endpointFor, pathOnly, protocolForPath, type RequestContext } from './context.js';
import { createResponseCache, type ResponseCache } from '../cache/index.js';
import type { Logger } from '../observability/logger.js';
import { Accounting } from '../accounting/index.js';
import { Observability } from '../observability/index.js';
import { ShadowTester } from '../shadow/tester.js';
import type { ForwardOutcome, Outcome, RespondOutcome } from './outcome.js';
import { cacheControl, checkContentType, parseJsonBody, toCanonical, type IncomingRequest } from './parse.js';
import type { Identity, IdentityInput, IdentityResolver } from '../identity/index.js';
import { IdentityGate } from '../identity/identity-gate.js';
import { FeedbackGate, sharedFeedbackStore, type FeedbackSource } from '../identity/feedback-gate.js';
import { checkModelAllowed, filterAllowed } from '../identity/allowed.js';
import { Readiness } from './readiness.js';
import { relayStream, type StreamEnd } from './stream.js';
import { openContinuation, segmentFor } from './resume.js';
import { healthStatus, upstreamHealth, upstreamsReadiness, type HealthStatus, type UpstreamHealth } from './health.js';

export type { HealthStatus, UpstreamHealth } from './health.js';
import { ResponseObserver } from './observer.js';
import type { UpstreamRequestSpec } from '../upstream/providers/provider.js';
import { decisionHeaders, errorOutcome, renderEmbedding, renderJson, renderSse, streamEncoder, wantsStreamUsage } from './render.js';
import { replayEvents } from '../protocol/accumulate.js';
import { redisHealth } from '../store/redis-pool.js';
import { storeReadiness, usesRedis } from '../store/readiness.js';
import type { StoreHealth } from '../store/redis.js';

/** What `execute` hands a face to write. */
export type ExecResult =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: string }
  | {
      kind: 'stream';
      status: number;
      headers: Record<string, string>;
      chunks: AsyncGenerator<string, void, undefined>;
      /** Decision headers as they stand once the stream ended (a resumed stream made more attempts); sent as HTTP trailers. */
      trailers?: () => Record<string, string>;
    };

export interface SwitchyardOptions {
  env?: NodeJS.ProcessEnv;
  /** Replaces the configured cache (tests, custom stores). */
  cache?: ResponseCache;
  logger?: Logger;
  /**
   * The wall clock (ms since the epoch) that rate-limit windows and budget
   * periods are read from; `Date.now` when absent. For tests and simulations
   * that must not depend on where in a minute (or a day) they run.
   */
  clock?: () => number;
}

/** What a face saw of the answer, for {@link Switchyard.observe}. */
export interface Observation {
  deployment: Deployment;
  status: number;
  response?: CanonicalResponse | CanonicalEmbeddingResponse;
  /** A complete answer (a stream that ended properly). */
  complete: boolean;
  /** False: served but not to be cached (skipped malformed events, a spliced answer). */
  cacheable?: boolean;
  ttftMs?: number;
  error?: string;
}

export class Switchyard {
  private cfg: SwitchyardConfig;
  readonly registry: UpstreamRegistry;
  readonly events = new DecisionEvents();
  /** The response cache; undefined when `cache.enabled` is false. */
  readonly cache: ResponseCache | undefined;
  /** The router (signals → tier → constrained candidates, learning); `router.load` takes sidecar queue lengths. */
  readonly router: Router;
  /** Prices, budgets and rate limits: `admit` before the cache and routing, `settle` when the record is emitted. */
  readonly accounting: Accounting;
  /** Metrics, live stats and event stream, record sink, decision log, trace spans. */
  readonly observability: Observability;
  /** Shadow degradation tests (`shadow` config): fed by `observe`, runs in the background. */
  readonly shadow: ShadowTester;
  /** Named readiness checks behind `/readyz`; `upstreams` is built in, others may be added. */
  readonly readiness = new Readiness();
  private readonly log: Logger | undefined;
  private readonly gate: IdentityGate;
  private readonly feedbackGate = new FeedbackGate();

  constructor(config: SwitchyardConfig, opts: SwitchyardOptions = {}) {
    this.cfg = config;
    this.log = opts.logger;
    // Built before anything opens a connection: a keys mode without a pepper is a ConfigError.
    this.gate = new IdentityGate(config, opts.env ?? process.env, opts.logger, (r) => this.events.emit('refusal', r));
    // Built first: it checks the shadow section's names (ConfigError) before anything opens a connection.
    this.shadow = new ShadowTester(this, { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.env ? { env: opts.env } : {}) });
    this.registry = new UpstreamRegistry(config, opts.env ?? process.env);
    this.router = new Router(config, this.registry, { onError: (err, op) => opts.logger?.warn({ op, reason: err.message }, 'routing degraded') });
    this.accounting = new Accounting(() => this.cfg, opts.logger, opts.clock);
    this.readiness.add({ name: 'upstreams', check: () => upstreamsReadiness(this.registry) });
    this.syncRedisCheck(config);
    this.observability = new Observability(this, { ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.env ? { env: opts.env } : {}) });
    const log = opts.logger;
    this.cache =
      opts.cache ??
      (config.cache.enabled
        ? createResponseCache(config.cache, { onError: (err, op) => log?.warn({ op, reason: err.message }, 'cache degraded to miss') })
        : undefined);
    // Task prototypes are embedded once, by the cache's embedder, in the background; until then tasks come from keywords.
    const embedder = this.cache?.embedder;
    this.router.setEmbedderId(embedder?.id);
    if (embedder) {
      buildPrototypeIndex(embedder).then(
        (p) => this.router.setPrototypes(p),
        (err: Error) => log?.warn({ reason: err.message }, 'task prototypes unavailable; task type from keywords only'),
      );
    }
  }

  get config(): SwitchyardConfig {
    return this.cfg;
  }

  /** Resolves requests to identities (auth modes) and checks the admin token; see docs/security.md. */
  get identity(): IdentityResolver {
    return this.gate.resolver;
  }

  /** Swaps in a new validated config; upstreams whose settings did not change keep their state. */
  reload(config: SwitchyardConfig): void {
    const ids = this.gate.prepare(config); // throws (ConfigError) before anything changes
    try {
      this.shadow.reload(config); // validates only: throws on dangling shadow names, before anything changes
      this.router.reload(config); // throws on dangling routing names, before anything changes
    } catch (e) {
      ids?.discard();
      throw e;
    }
    this.registry.apply(config);
    this.cfg = config;
    ids?.commit();
    this.syncRedisCheck(config);
  }

  /** A `redis` readiness check while any feature uses Redis: reported (degraded/down), blocking only when accounting fails closed. */
  private syncRedisCheck(config: SwitchyardConfig): void {
    if (!usesRedis(config)) return this.readiness.remove('redis');
    this.readiness.add({
      name: 'redis',
      check: () => {
        const r = storeReadiness(redisHealth(), this.cfg.accounting.onStoreError === 'closed');
        return r.reason === undefined ? { ok: r.ok } : { ok: r.ok, reason: r.reason };
      },
    });
  }

  /** Parse → cache → route. Never throws: failures become `respond` outcomes. */
  async decide(inc: IncomingRequest): Promise<Outcome> {
    const ep = endpointFor(inc.path);
    const listing = !ep && inc.method === 'GET' && (inc.path === '/v1/models' || inc.path.startsWith('/v1/models?'));
    if (!ep && !listing) return { type: 'pass' };
    let ctx: RequestContext | undefined;
    let who: Identity;
    try {
      // Identity first: nothing (not even the body) is looked at for a caller who did not prove who it is.
      const r = this.gate.resolver.resolve(inc);
      who = r instanceof Promise ? await r : r;
    } catch (e) {
      const err = toSwitchyardError(e);
      this.gate.noteRefusal(err, { face: inc.face ?? 'api', protocol: protocolForPath(inc.path), peer: inc.peer });
      return errorOutcome(err, protocolForPath(inc.path), undefined);
    }
    if (!ep) return this.listModels();
    try {
      if (inc.method !== 'POST') throw new SwitchyardError('method_not_allowed', `${inc.method} is not allowed on ${inc.path}; use POST`);
      checkContentType(inc.headers);
      const raw = parseJsonBody(inc.body, this.cfg.server.bodyLimitBytes);
      const req = toCanonical(ep, raw);
      if (who.key) checkModelAllowed(who.key, req.model);
      ctx = {
        id: randomUUID(),
        startedAt: performance.now(),
        protocol: ep.protocol,
        operation: ep.operation,
        req,
        raw,
        // The client's bytes, for the byte-preserving model rewrite (a parsed body, e.g. after express.json(), has lost them).
        rawBytes: Buffer.isBuffer(inc.body) ? inc.body : typeof inc.body === 'string' ? Buffer.from(inc.body, 'utf8') : undefined,
        tenant: who.tenant,
        identity: who,
        cacheControl: cacheControl(inc.headers),
        cache: 'off',
        attempts: [],
      };
      const admitting = this.accounting.admit(ctx, inc.headers);
      if (admitting) await admitting;
      const path = pathOnly(inc.path);
      if (this.cache && ep.operation !== 'embedding') {
        const hit = await this.lookup(ctx, path);
        if (hit) return hit;
      }
      const decision = this.router.route({ req, id: ctx.id, tenant: ctx.tenant, embedding: ctx.embedding, budget: ctx.budget, headers: inc.headers, path });
      if (who.key) {
        const before = decision.candidates[0];
        const virtual = (req.model || AUTO_MODEL).toLowerCase().startsWith(VIRTUAL_PREFIX);
        decision.candidates = filterAllowed(who.key, decision.candidates, this.cfg, virtual ? (m) => this.registry.deployment(m) : undefined);
        if (decision.candidates[0] !== before) decision.reason = `${decision.reason}; key allows ${decision.candidates[0]!.model.name}`;
      }
      ctx.route = decision;
      if (decision.candidates.length === 0 || !decision.candidates[0]!.usable()) {
        throw new SwitchyardError('no_upstream_available', describeUnavailable(decision.candidates));
      }
      const first = decision.candidates[0]!;
      ctx.upstream = first.upstream.name;
      ctx.model = first.model.name;
      return { type: 'forward', ctx, candidates: decision.candidates, headers: decisionHeaders(ctx) };
    } catch (e) {
      if (ctx) return this.reject(ctx, e);
      return errorOutcome(toSwitchyardError(e), protocolForPath(inc.path), undefined);
    }
  }

  /**
   * Ends a request with an error in the caller's protocol and records the
   * decision (metrics, events, accounting). Every face's rejections go here.
   */
  reject(ctx: RequestContext, e: unknown): RespondOutcome {
    const err = toSwitchyardError(e);
    const out = errorOutcome(err, ctx.protocol, ctx);
    this.emit(ctx, out.status, false, err.code);
    return out;
  }

  /** Exact then semantic lookup; a hit becomes a `respond` outcome in the client's protocol and format. */
  private async lookup(ctx: RequestContext, path: string): Promise<RespondOutcome | undefined> {
    const c = ctx.cacheControl;
    const look = await this.cache!.lookup({
      req: ctx.req,
      tenant: ctx.tenant,
      modelGroup: ctx.req.model || AUTO_MODEL,
      route: path,
      noCache: c.noCache,
      noStore: c.noStore,
      // Private content never goes to an embedder off the host nor into Redis's semantic index: exact cache only.
      ...((this.cache!.embedsRemotely || this.cache!.storesQuestionsRemotely) && privacySignal(ctx.req).length > 0 ? { semantic: false } : {}),
    });
    ctx.cache = look.result;
    if (look.embedding) ctx.embedding = look.embedding;
    if (look.ticket) ctx.cacheTicket = look.ticket;
    if (!look.response) return undefined;
    const resp = look.response;
    if (look.similarity !== undefined) ctx.similarity = look.similarity;
    ctx.model = resp.model;
    ctx.route = { requested: ctx.req.model, candidates: [], reason: look.result === 'hit-exact' ? 'cache: exact match' : 'cache: semantic match' };
    const headers = decisionHeaders(ctx);
    const out: RespondOutcome = ctx.req.stream
      ? { type: 'respond', ctx, status: 200, headers: { ...headers, 'cache-control': 'no-cache' }, contentType: 'text/event-stream', body: renderSse(ctx.protocol, ctx.operation, resp.model, replayEvents(resp), wantsStreamUsage(ctx.raw)) }
      : { type: 'respond', ctx, status: 200, headers, contentType: 'application/json', body: renderJson(ctx.protocol, ctx.operation, resp) };
    this.emit(ctx, 200, true, undefined, resp.usage);
    return out;
  }

  /** Calls the upstream (with fallback) and returns the answer to write. Throws only SwitchyardError. */
  async execute(outcome: ForwardOutcome, signal?: AbortSignal): Promise<ExecResult | RespondOutcome> {
    const ctx = outcome.ctx;
    if (signal?.aborted) {
      // Gone before anything was sent upstream: nothing to charge.
      this.emit(ctx, 499, false, 'client_disconnected');
      throw CLIENT_ABORTED;
    }
    let ok: FallbackSuccess;
    try {
      ok = await callWithFallback(outcome.candidates, {
        stream: ctx.req.stream,
        ...(signal ? { signal } : {}),
        build: (d) => d.upstream.provider.build({ req: ctx.req, raw: ctx.raw, rawBytes: ctx.rawBytes, upstreamModel: d.upstreamModel }),
      });
    } catch (e) {
      if (e instanceof FallbackExhausted) ctx.attempts = e.attempts;
      if (e === CLIENT_ABORTED || (e instanceof UpstreamFailure && e.kind === 'aborted')) {
        // Abandoned before any answer came back: charged its estimate, like an abandoned stream.
        this.emit(ctx, 499, false, 'client_disconnected', this.accounting.abandoned(ctx));
        throw e;
      }
      ctx.upstream = undefined;
      ctx.model = undefined;
      return this.reject(ctx, e);
    }
    ctx.attempts = ok.attempts;
    ctx.upstream = ok.deployment.upstream.name;
    ctx.model = ok.deployment.model.name;
    const headers = decisionHeaders(ctx);
    if (ok.result.kind === 'json') return this.finishJson(ctx, ok, ok.result, headers);
    return this.startStream(ctx, ok, ok.result, headers, outcome, signal);
  }

  private finishJson(ctx: RequestContext, ok: FallbackSuccess, r: JsonAttempt, headers: Record<string, string>): ExecResult {
    const provider = ok.deployment.upstream.provider;
    const same = provider.protocol === ctx.protocol;
    let parsed: CanonicalResponse | CanonicalEmbeddingResponse;
    try {
      parsed = provider.parseResponse(ctx.operation, r.json);
    } catch (e) {
      // A 2xx that is not a valid answer of its protocol: a 502 in the caller's protocol and a failed attempt
      // (the upstream answered, so not a breaker failure: see DESIGN.md, Breakers).
      const message = `upstream "${ok.deployment.upstream.name}" sent an unreadable answer: ${(e as Error).message}`;
      const last = ctx.attempts.at(-1);
      if (last) {
        last.outcome = 'failed';
        last.reason = 'unreadable answer';
      }
      const out = this.reject(ctx, new SwitchyardError('upstream_unavailable', message));
      return { kind: 'json', status: out.status, headers: out.headers, body: out.body };
    }
    let body: string;
    if (ctx.req.stream && ctx.operation !== 'embedding') {
      // Asked for a stream, got JSON (some servers ignore `stream`): replay it as valid SSE.
      body = renderSse(ctx.protocol, ctx.operation, ok.deployment.model.name, replayEvents(parsed as CanonicalResponse), wantsStreamUsage(ctx.raw));
      headers = { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
    } else if (same) body = r.text;
    else if (ctx.operation === 'embedding') body = renderEmbedding(parsed as CanonicalEmbeddingResponse);
    else body = renderJson(ctx.protocol, ctx.operation, parsed as CanonicalResponse);
    this.observe(ctx, { deployment: ok.deployment, status: r.status, response: parsed, complete: true, ttftMs: r.ttftMs });
    return { kind: 'json', status: r.status, headers, body };
  }

  private startStream(ctx: RequestContext, ok: FallbackSuccess, a: StreamAttempt, headers: Record<string, string>, outcome: ForwardOutcome, signal: AbortSignal | undefined): ExecResult {
    let current = ok.deployment;
    const same = current.upstream.provider.protocol === ctx.protocol;
    const metrics = this.observability.metrics;
    const resume = this.cfg.resume;
    const chunks = relayStream({
      first: segmentFor(ctx, ok, a),
      protocol: ctx.protocol,
      verbatim: same,
      encoder: streamEncoder(ctx.protocol, ctx.operation, current.model.name, wantsStreamUsage(ctx.raw)),
      ...(ctx.operation === 'chat' && resume.maxResumes > 0
        ? {
            resume: {
              max: resume.maxResumes,
              open: async (delivered: string) => {
                const next = await openContinuation(ctx, outcome.candidates, current, delivered, signal);
                if (next) current = next.deployment;
                return next?.continuation;
              },
            },
          }
        : {}),
      onResume: (o) => metrics.streamResumes.inc(1, o),
      onMalformed: () => {
        metrics.malformedEvents.inc(1, current.upstream.name);
        // Never the event's content: it may hold the answer.
        this.log?.warn({ requestId: ctx.id, upstream: current.upstream.name, model: current.model.name }, 'skipped an unparsable upstream stream event');
      },
      onEnd: (end: StreamEnd) => {
        if (end.resumes > 0) {
          ctx.upstream = current.upstream.name;
          ctx.model = current.model.name;
          if (end.complete) end.response.model = current.model.name;
        }
        this.observe(ctx, {
          deployment: current,
          status: end.cancelled ? 499 : 200,
          response: end.response,
          complete: end.complete,
          // Skipped events, or a spliced answer (unless resume.cacheResumed): served, not cached.
          cacheable: end.malformed === 0 && (end.resumes === 0 || resume.cacheResumed),
          ttftMs: a.ttftMs,
          ...(end.complete ? {} : { error: end.cancelled ? 'client_disconnected' : 'stream_interrupted' }),
        });
      },
    });
    return {
      kind: 'stream',
      status: 200,
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
      chunks,
      trailers: () => ({
        'x-switchyard-attempts': String(ctx.attempts.filter((t) => t.outcome !== 'skipped').length),
        'x-switchyard-upstream': current.upstream.name,
        'x-switchyard-model': current.model.name,
      }),
    };
  }

  /**
   * The response side, shared by every face: cache writes (only a complete
   * 2xx answer, never an error or a truncated stream), accounting, events.
   */
  observe(ctx: RequestContext, o: Observation): void {
    const usage = this.accounting.usage(ctx, o.response);
    if (o.complete && o.cacheable !== false && o.status >= 200 && o.status < 300 && ctx.cacheTicket && this.cache && o.response && 'text' in o.response) {
      void this.cache.store(ctx.cacheTicket, o.response);
    }
    this.emit(ctx, o.status, o.complete, o.error, usage, o.ttftMs);
    this.shadow.observe(ctx, o, usage); // last: the answer is final; sampling is sync, the shadow call runs later
  }

  private emit(
    ctx: RequestContext,
    status: number,
    complete: boolean,
    error?: string,
    usage?: { inputTokens: number; outputTokens: number },
    ttftMs?: number,
  ): void {
    const acct = this.accounting.settle(ctx, usage);
    if (this.events.listenerCount('decision') === 0) return;
    const rec: DecisionRecord = {
      id: ctx.id,
      time: new Date().toISOString(),
      tenant: ctx.tenant,
      protocol: ctx.protocol,
      operation: ctx.operation,
      requested: ctx.req.model,
      stream: ctx.req.stream,
      cache: ctx.cache,
      status,
      complete,
      attempts: ctx.attempts,
      durationMs: performance.now() - ctx.startedAt,
      ...(ctx.similarity !== undefined ? { similarity: ctx.similarity } : {}),
      ...(ctx.route?.tier ? { tier: ctx.route.tier } : {}),
      ...(ctx.route ? { reason: ctx.route.reason } : {}),
      ...(ctx.upstream ? { upstream: ctx.upstream } : {}),
      ...(ctx.model ? { model: ctx.model } : {}),
      ...(ttftMs !== undefined ? { ttftMs } : {}),
      ...(usage ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } : {}),
      ...acct,
      ...(error ? { error } : {}),
    };
    this.events.emit('decision', rec);
  }

  /**
   * The upstream request for a candidate (Envoy rewrites the body with it when
   * the model changes). `proxied`: a proxy relays the answer unfiltered, so
   * nothing the client did not ask for is requested.
   */
  upstreamRequest(outcome: ForwardOutcome, d: Deployment = outcome.candidates[0]!, proxied = false): UpstreamRequestSpec {
    const ctx = outcome.ctx;
    return d.upstream.provider.build({ req: ctx.req, raw: ctx.raw, rawBytes: ctx.rawBytes, upstreamModel: d.upstreamModel, proxied });
  }

  /**
   * The response side for faces whose proxy calls the upstream itself (Envoy):
   * feed it the status and body; it feeds the breaker and ends in `observe`.
   */
  observer(outcome: ForwardOutcome, d: Deployment = outcome.candidates[0]!): ResponseObserver {
    const ctx = outcome.ctx;
    ctx.upstream = d.upstream.name;
    ctx.model = d.model.name;
    ctx.attempts = [{ upstream: d.upstream.name, model: d.model.name, outcome: 'ok' }];
    return new ResponseObserver(ctx, d, (a) => {
      if (!a.complete && ctx.attempts[0]) ctx.attempts[0].outcome = 'failed';
      this.observe(ctx, {
        deployment: d,
        status: a.status,
        complete: a.complete,
        ...(a.cacheable === false ? { cacheable: false } : {}),
        ...(a.response ? { response: a.response } : {}),
        ...(a.error ? { error: a.error } : {}),
      });
    }, this.cfg.envoy.bufferedResponseMaxBytes);
  }

  /**
   * Whether the answer's body has anything to teach for this request: a cache
   * write, the exact token usage a budget or rate limit settles with, or a
   * shadow sample. When not, a proxy face need not send it (the status alone
   * feeds the breaker; usage is estimated).
   */
  wantsAnswerBody(ctx: RequestContext): boolean {
    if (ctx.operation === 'embedding') return false;
    return ctx.cacheTicket !== undefined || this.accounting.holdsReservation(ctx.id) || this.cfg.shadow.enabled;
  }

  /**
   * A forward a proxy carries out itself and does not report through
   * `observe` (the nginx redirect): settles accounting now with an estimate
   * of the answer's usage, so no reservation outlives the decision. With
   * `correctable`, {@link reportUsage} may later correct the charge.
   */
  handOff(outcome: ForwardOutcome, correctable = false): void {
    const ctx = outcome.ctx;
    if (correctable) ctx.correctable = true;
    this.emit(ctx, 200, false, undefined, this.accounting.estimateUsage(ctx));
  }

  /** Usage a proxy reports for a handed-off request; false when the id is unknown, too old or already reported. */
  reportUsage(requestId: string, usage: { inputTokens: number; outputTokens: number }): boolean {
    return this.accounting.correct(requestId, usage);
  }

  /** `GET /v1/models`: configured models and the virtual ones. */
  listModels(): RespondOutcome {
    const created = 0;
    const data: Record<string, unknown>[] = [];
    for (const d of this.registry.allDeployments()) {
      data.push({ id: d.model.name, object: 'model', created, owned_by: d.upstream.name, available: d.upstream.available, context_window: d.model.contextWindow });
    }
    data.push({ id: AUTO_MODEL, object: 'model', created, owned_by: 'switchyard' });
    for (const t of this.cfg.tiers) data.push({ id: `${VIRTUAL_PREFIX}${t.name}`, object: 'model', created, owned_by: 'switchyard' });
    return { type: 'respond', ctx: undefined, status: 200, headers: {}, contentType: 'application/json', body: JSON.stringify({ object: 'list', data }) };
  }

  /** Upstream and deployment availability, as reported at start and by `/healthz`. */
  health(): UpstreamHealth[] {
    return upstreamHealth(this.registry);
  }

  /** `ok`, `degraded` (some deployments unusable) or `unavailable` (none usable). */
  healthStatus(health: UpstreamHealth[] = this.health()): HealthStatus {
    return healthStatus(health);
  }

  /**
   * Starts probing local upstreams (`local: true`) and resolves once the
   * first probe of each finished (at most `timeoutMs`). Faces call it at start.
   */
  async ready(timeoutMs = 5_000): Promise<void> {
    this.registry.startProbes();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.registry.allUpstreams()].map((u) => u.ready)),
      new Promise<void>((resolve) => {
        t = setTimeout(resolve, timeoutMs);
        t.unref();
      }),
    ]);
    clearTimeout(t);
  }

  /**
   * Health of the shared stores (every Redis connection: cache, accounting,
   * learning, shadow, records): `ok`, `degraded` (recent failures, not
   * connected) or `down` (breaker open: calls fail fast to their fallback).
   */
  storeHealth(): StoreHealth[] {
    return redisHealth();
  }

  /**
   * `POST /switchyard/feedback {request_id, score}`: a verdict on a routed
   * answer, fed to the router's learning. Accepted only from the tenant that
   * made the request or an admin (the admin token), rate limited per tenant.
   */
  async feedback(method: string, body: unknown, from: IdentityInput): Promise<RespondOutcome> {
    let by: FeedbackSource;
    try {
      by = await this.feedbackGate.check(this.gate.resolver, from, this.cfg.auth.feedbackPerMinute, sharedFeedbackStore(this.cfg));
    } catch (e) {
      return errorOutcome(toSwitchyardError(e), 'openai', undefined);
    }
    return feedbackOutcome(this.router, method, body, by);
  }

  async close(): Promise<void> {
    await this.shadow.close(); // first: its calls use the upstream pools and the cache's embedder
    await this.router.close();
    await this.registry.close();
    await this.cache?.close();
    await this.observability.close();
    await this.accounting.close();
    await this.gate.close();
    await this.feedbackGate.close();
  }
}

/**
 * Creates the core.
 *
 * @example
 * const sy = createSwitchyard(loadConfigFile('switchyard.yaml'));
 * const outcome = await sy.decide({ method: 'POST', path: '/v1/chat/completions', headers, body });
 */
export function createSwitchyard(config: SwitchyardConfig, opts: SwitchyardOptions = {}): Switchyard {
  return new Switchyard(config, opts);
}
