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
 * cache write, no token accounting for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { protocolForPath } from '../../core/context.js';
import type { ForwardOutcome, RespondOutcome } from '../../core/outcome.js';
import type { ExecResult, Switchyard } from '../../core/pipeline.js';
import { decisionHeaders, errorOutcome } from '../../core/render.js';
import { toSwitchyardError } from '../../errors.js';
import type { Deployment } from '../../upstream/registry.js';
import { readBody } from '../node/handler.js';

/** Where nginx sends requests to be decided. */
export const DECIDE_PREFIX = '/switchyard/decide';
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
  return async (req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(`${DECIDE_PREFIX}/`)) return false;
    const path = url.slice(DECIDE_PREFIX.length);
    const method = req.method ?? 'GET';
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.on('close', onClose);
    try {
      const body = method === 'POST' ? await readBody(req, sy.config.server.bodyLimitBytes) : Buffer.alloc(0);
      const outcome = await sy.decide({ method, path, headers: req.headers, body });
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
      const plan = planNginx(sy, outcome, o);
      if (plan.type === 'redirect') {
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
