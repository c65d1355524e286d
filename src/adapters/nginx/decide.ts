/**
 * nginx as the data plane, Switchyard only deciding (nginx/README.md, variant
 * b). nginx proxies the client's request, body included, to
 * `POST /switchyard/decide/<client path>`; Switchyard runs `decide` and answers
 * one of three ways:
 *
 * - **redirect**: an empty answer with `X-Accel-Redirect:
 *   /_switchyard/upstream/<upstream><path>?sy_*=<decision>`. nginx then
 *   re-sends the client's body, which it kept, from an internal location to
 *   the nginx `upstream` block of that name (`proxy_method POST`: a URI
 *   redirect otherwise turns the request into a GET). The decision headers
 *   travel as the query arguments, since nginx drops the first answer's headers.
 * - **respond**: a cache hit, a listing or a rejection, answered directly.
 * - **proxied**: when nginx cannot carry the decision out (the body must
 *   change: another model name or protocol, or nginx has no block for the
 *   upstream), Switchyard calls the upstream itself, as `serve` does.
 *
 * Under a redirect Switchyard never sees the answer: no breaker feedback, no
 * cache write. Its spend is charged at once from an estimate (prompt +
 * `max_tokens` or the default output estimate), so no reservation outlives
 * the decide call; with `auth.nginx.usageReport`, the trusted proxy may post
 * the real usage to `POST /switchyard/decide-usage` to correct the charge.
 *
 * The endpoint is off unless `auth.nginx.enabled`, and answers only the
 * trusted proxy (`auth.nginx.trustedProxies`, default loopback, and/or the
 * shared secret header): anyone else gets 403 before anything is parsed or
 * charged. Identity is then resolved from the forwarded request like on
 * every other face.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { protocolForPath } from '../../core/context.js';
import type { ForwardOutcome, RespondOutcome } from '../../core/outcome.js';
import type { ExecResult, Switchyard } from '../../core/pipeline.js';
import { decisionHeaders, errorOutcome } from '../../core/render.js';
import { toSwitchyardError } from '../../errors.js';
import type { Deployment } from '../../upstream/registry.js';
import { readBody } from '../node/handler.js';
import { ProxyTrust } from '../../identity/trusted-proxy.js';
import { SwitchyardError } from '../../errors.js';
import type { NginxDecideConfig } from '../../config/auth.js';

/** Where nginx sends requests to be decided. */
export const DECIDE_PREFIX = '/switchyard/decide';
/** Where the trusted proxy reports a redirected request's usage. */
export const USAGE_PATH = '/switchyard/decide-usage';
/** The internal nginx location prefix an X-Accel-Redirect names. */
export const REDIRECT_PREFIX = '/_switchyard/upstream/';

/** Options of {@link createNginxDecideHandler}. */
export interface NginxDecideOptions {
  /**
   * Upstreams nginx has an `upstream` block for (named as in switchyard.yaml);
   * others are proxied by Switchyard. Default: every upstream.
   */
  upstreams?: readonly string[];
  /**
   * Upstreams whose server ignores the request's `model` field (llama.cpp's
   * llama-server and `switchyard sidecar` serve the one model they loaded), so
   * a request whose only change is the model name can still be redirected.
   * Default: the upstreams marked `local: true`.
   */
  modelAgnostic?: readonly string[];
  /** Where the shared secret (`auth.nginx.sharedSecretEnv`) is read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** What the decide endpoint does with a `forward` outcome. */
export type NginxPlan =
  | { type: 'redirect'; location: string; deployment: Deployment }
  | { type: 'proxy'; outcome: ForwardOutcome; why: string };

function sameBody(a: unknown, b: unknown, ignoreModel: boolean): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return false;
  const strip = (o: object) => {
    const c: Record<string, unknown> = { ...(o as Record<string, unknown>) };
    if (ignoreModel) delete c['model'];
    return JSON.stringify(c);
  };
  return strip(a) === strip(b);
}

/**
 * Chooses between redirect, respond and proxy for a forward outcome.
 * Pure apart from the context fields it fills (upstream, model, attempts).
 */
export function planNginx(sy: Switchyard, outcome: ForwardOutcome, o: NginxDecideOptions = {}): NginxPlan {
  const ctx = outcome.ctx;
  const usable = outcome.candidates.filter((d) => d.usable());
  const d = usable[0];
  // nginx cannot translate between protocols: the choice must speak the client's.
  if (!d || d.upstream.provider.protocol !== ctx.protocol) return { type: 'proxy', outcome, why: 'protocol' };
  if (o.upstreams && !o.upstreams.includes(d.upstream.name)) return { type: 'proxy', outcome, why: 'no-nginx-upstream' };
  const spec = sy.upstreamRequest({ ...outcome, candidates: [d] }, d);
  if (!spec.unchanged) {
    const agnostic = o.modelAgnostic ? o.modelAgnostic.includes(d.upstream.name) : d.upstream.config.local;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(typeof spec.body === 'string' ? spec.body : spec.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return { type: 'proxy', outcome, why: 'body' };
    }
    // The usage chunk the core asks for would reach the client unfiltered through nginx: don't ask.
    if (spec.injectedStreamUsage) delete body['stream_options'];
    if (!sameBody(body, ctx.raw, agnostic)) return { type: 'proxy', outcome, why: 'body' };
  }
  ctx.upstream = d.upstream.name;
  ctx.model = d.model.name;
  ctx.attempts = [{ upstream: d.upstream.name, model: d.model.name, outcome: 'ok' }];
  const args = new URLSearchParams();
  for (const [k, v] of Object.entries(decisionHeaders(ctx))) args.set(`sy_${k.replace(/^x-switchyard-/, '').replaceAll('-', '_')}`, v);
  // URLSearchParams writes spaces as "+", which nginx's $arg_ leaves as is; %20 reads better in a header.
  const query = args.toString().replaceAll('+', '%20');
  return { type: 'redirect', location: `${REDIRECT_PREFIX}${d.upstream.name}${spec.path}?${query}`, deployment: d };
}

function writeRespond(res: ServerResponse, out: RespondOutcome, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(out.status, { ...out.headers, ...extra, 'content-type': `${out.contentType}; charset=utf-8`, 'content-length': Buffer.byteLength(out.body) });
  res.end(out.body);
}

async function writeExec(res: ServerResponse, r: ExecResult, extra: Record<string, string>): Promise<void> {
  if (r.kind === 'json') {
    res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', ...r.headers, ...extra, 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
    return;
  }
  res.writeHead(r.status, { ...r.headers, ...extra });
  res.flushHeaders();
  for await (const chunk of r.chunks) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  res.end();
}

/**
 * A Node request handler for `POST /switchyard/decide/*`; resolves false for
 * other paths so the caller can pass them on (e.g. to `handleNodeRequest`).
 *
 * @example
 * const decideForNginx = createNginxDecideHandler(sy, { upstreams: ['local'] });
 * createServer(async (req, res) => {
 *   if (await decideForNginx(req, res)) return;
 *   if (!(await handleNodeRequest(sy, req, res))) res.writeHead(404).end();
 * });
 */
export function createNginxDecideHandler(sy: Switchyard, o: NginxDecideOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const env = o.env ?? process.env;
  let trustFor: NginxDecideConfig | undefined;
  let trust: ProxyTrust | undefined;
  /** The trust of the current config (rebuilt after a reload changes `auth.nginx`). */
  const currentTrust = (cfg: NginxDecideConfig): ProxyTrust => {
    if (trustFor !== cfg || !trust) {
      trust = new ProxyTrust(cfg, env);
      trustFor = cfg;
    }
    return trust;
  };
  // A missing shared secret is a start-up error, not a per-request one.
  if (sy.config.auth.nginx.enabled) currentTrust(sy.config.auth.nginx);
  return async (req, res) => {
    const url = req.url ?? '/';
    const usage = url === USAGE_PATH || url.startsWith(`${USAGE_PATH}?`);
    if (!usage && !url.startsWith(`${DECIDE_PREFIX}/`)) return false;
    const cfg = sy.config.auth.nginx;
    const path = usage ? url : url.slice(DECIDE_PREFIX.length);
    const method = req.method ?? 'GET';
    // Off unless configured; then only the trusted proxy: nothing is parsed, resolved or charged for anyone else.
    if (!cfg.enabled || (usage && !cfg.usageReport)) return false;
    if (!currentTrust(cfg).trusts(req.socket.remoteAddress, req.headers)) {
      const err = new SwitchyardError('permission_denied', 'the decide endpoint answers only the trusted proxy (auth.nginx.trustedProxies / sharedSecretEnv)');
      writeRespond(res, errorOutcome(err, protocolForPath(path), undefined));
      return true;
    }
    if (usage) {
      await reportUsage(sy, req, res);
      return true;
    }
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.on('close', onClose);
    try {
      const body = method === 'POST' ? await readBody(req, sy.config.server.bodyLimitBytes) : Buffer.alloc(0);
      const outcome = await sy.decide({ method, path, headers: req.headers, body, peer: req.socket.remoteAddress, rawHeaders: req.rawHeaders, face: 'nginx' });
      if (outcome.type === 'pass') {
        const msg = JSON.stringify({ error: { message: `no LLM route for ${method} ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } });
        res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(msg) });
        res.end(msg);
        return true;
      }
      if (outcome.type === 'respond') {
        writeRespond(res, outcome, { 'x-switchyard-nginx': 'respond' });
        return true;
      }
      const plan = planNginx(sy, outcome, { ...(cfg.upstreams ? { upstreams: cfg.upstreams } : {}), ...(cfg.modelAgnostic ? { modelAgnostic: cfg.modelAgnostic } : {}), ...o });
      if (plan.type === 'redirect') {
        // nginx makes the call and Switchyard never sees the answer: settle now, nothing stays reserved.
        sy.handOff(outcome, cfg.usageReport);
        res.writeHead(200, { 'x-accel-redirect': plan.location, 'content-length': 0 });
        res.end();
        return true;
      }
      const result = await sy.execute(plan.outcome, ac.signal);
      const extra = { 'x-switchyard-nginx': `proxied; reason=${plan.why}` };
      if ('type' in result) writeRespond(res, result, extra);
      else await writeExec(res, result, extra);
    } catch (e) {
      if (ac.signal.aborted) {
        if (!res.headersSent) res.destroy();
        return true;
      }
      const err = toSwitchyardError(e);
      if (!res.headersSent) writeRespond(res, errorOutcome(err, protocolForPath(path), undefined));
      else res.destroy(err);
    } finally {
      res.off('close', onClose);
    }
    return true;
  };
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

/** `POST /switchyard/decide-usage {request_id, usage: {prompt_tokens|input_tokens, completion_tokens|output_tokens}}`. */
async function reportUsage(sy: Switchyard, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== 'POST') throw new SwitchyardError('method_not_allowed', `${req.method ?? 'GET'} is not allowed on ${USAGE_PATH}; use POST`);
    const raw = await readBody(req, 16 * 1024);
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SwitchyardError('invalid_json', 'the usage report is not valid JSON');
    }
    const o = (typeof v === 'object' && v !== null ? v : {}) as { request_id?: unknown; usage?: Record<string, unknown> };
    const u = o.usage ?? {};
    const inputTokens = count(u['input_tokens'] ?? u['prompt_tokens']);
    const outputTokens = count(u['output_tokens'] ?? u['completion_tokens']);
    if (typeof o.request_id !== 'string' || inputTokens === undefined || outputTokens === undefined) {
      throw new SwitchyardError('invalid_request', 'a usage report is {"request_id": "...", "usage": {"prompt_tokens": n, "completion_tokens": n}} with non-negative integers');
    }
    const applied = sy.reportUsage(o.request_id, { inputTokens, outputTokens });
    if (!applied) throw new SwitchyardError('not_found', `no redirected request "${o.request_id}" awaits a usage report (unknown, too old, or already reported)`, { param: 'request_id' });
    const body = JSON.stringify({ request_id: o.request_id, applied: true });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (e) {
    writeRespond(res, errorOutcome(toSwitchyardError(e), 'openai', undefined));
  }
}
