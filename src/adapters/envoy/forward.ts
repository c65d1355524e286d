/**
 * A `forward` outcome as Envoy can carry it out. Envoy proxies the request
 * itself and cannot translate protocols mid-flight, so only upstreams that
 * speak the client's protocol are candidates; the first usable one is the
 * route, named by the routing header that envoy.yaml matches to a cluster.
 */
import type { Switchyard } from '../../core/pipeline.js';
import type { ForwardOutcome, RespondOutcome } from '../../core/outcome.js';
import { decisionHeaders } from '../../core/render.js';
import { SwitchyardError } from '../../errors.js';
import type { UpstreamRequestSpec } from '../../upstream/providers/provider.js';
import type { Deployment } from '../../upstream/registry.js';
import type { ForwardMutation } from './mutations.js';

/** The header envoy.yaml's routes match to pick the upstream cluster. */
export const ROUTING_HEADER = 'x-switchyard-upstream';

/** Headers the provider sets that Envoy already carries from the client. */
const NOT_FORWARDED = new Set(['content-type', 'accept', 'content-length', 'host']);

export type ForwardPlan =
  | { type: 'respond'; out: RespondOutcome }
  | { type: 'forward'; outcome: ForwardOutcome; deployment: Deployment; mutation: ForwardMutation };

/** The candidates Envoy can reach without translation: same protocol as the client, usable now. */
export function sameProtocolCandidates(outcome: ForwardOutcome): Deployment[] {
  return outcome.candidates.filter((d) => d.upstream.provider.protocol === outcome.ctx.protocol && d.usable());
}

/** Rejection for a request whose usable candidates all speak another protocol. */
function noSameProtocol(sy: Switchyard, outcome: ForwardOutcome): RespondOutcome {
  const ctx = outcome.ctx;
  const others = outcome.candidates.map((d) => `${d.model.name}@${d.upstream.name} (${d.upstream.provider.protocol}${d.usable() ? '' : ', unusable'})`);
  const err = new SwitchyardError(
    'no_upstream_available',
    `no usable upstream speaks the ${ctx.protocol} protocol for "${ctx.req.model || 'switchyard/auto'}" ` +
      `(candidates: ${others.join(', ') || 'none'}); under Envoy, Switchyard does not translate between protocols`,
  );
  ctx.upstream = undefined;
  ctx.model = undefined;
  return sy.reject(ctx, err);
}

/** The client's body with the model (and nothing else) changed, or undefined when unchanged. */
function rewrittenBody(outcome: ForwardOutcome, spec: UpstreamRequestSpec): string | undefined {
  if (spec.unchanged) return undefined;
  let body = typeof spec.body === 'string' ? spec.body : spec.body.toString('utf8');
  if (spec.injectedStreamUsage) {
    // The usage-only chunk the core asks for would reach the client unfiltered through Envoy: don't ask.
    const parsed = JSON.parse(body) as Record<string, unknown>;
    delete parsed['stream_options'];
    body = JSON.stringify(parsed);
    if (body === JSON.stringify(outcome.ctx.raw)) return undefined;
  }
  return body;
}

/**
 * Chooses the deployment for Envoy and the mutations that send the request
 * there. `clientPath` is the request's `:path` (query kept).
 */
export function planForward(sy: Switchyard, outcome: ForwardOutcome, clientPath: string): ForwardPlan {
  const candidates = sameProtocolCandidates(outcome);
  const deployment = candidates[0];
  if (!deployment) return { type: 'respond', out: noSameProtocol(sy, outcome) };
  const restricted: ForwardOutcome = { ...outcome, candidates };
  const spec = sy.upstreamRequest(restricted, deployment);
  const ctx = outcome.ctx;
  ctx.upstream = deployment.upstream.name;
  ctx.model = deployment.model.name;
  ctx.attempts = [{ upstream: deployment.upstream.name, model: deployment.model.name, outcome: 'ok' }];

  const headers: Record<string, string> = { ...decisionHeaders(ctx), [ROUTING_HEADER]: deployment.upstream.name };
  // The upstream's credentials (from its apiKeyEnv) and configured headers: Switchyard holds the keys, Envoy does not.
  for (const [k, v] of Object.entries(spec.headers)) if (!NOT_FORWARDED.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  const q = clientPath.indexOf('?');
  const path = q === -1 ? clientPath : clientPath.slice(0, q);
  if (spec.path !== path) headers[':path'] = spec.path + (q === -1 ? '' : clientPath.slice(q));
  const body = rewrittenBody(outcome, spec);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return { type: 'forward', outcome: restricted, deployment, mutation: { headers, ...(body !== undefined ? { body } : {}) } };
}
