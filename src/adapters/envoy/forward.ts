/**
 * A `forward` outcome as Envoy can carry it out. Envoy proxies the request
 * itself and cannot translate protocols mid-flight, so only upstreams that
 * speak the client's protocol are candidates; the first usable one is the
 * route, named by the routing header that envoy.yaml matches to a cluster.
 *
 * What goes to the upstream: the routing header (envoy.yaml's virtual host
 * removes it again before the upstream call), the upstream's own headers
 * (its key), `accept-encoding: identity` (so the answer is readable without
 * decompression), and, when the model name changes, the client's body bytes
 * with only the model spliced in plus a matching `content-length` (Envoy
 * answers 500 when a replaced body and its content-length disagree,
 * `handleBodyResponse` in ext_proc's processor_state.cc). Decision headers go
 * to the client only, on the response.
 */
import type { HeaderBag } from '../../core/parse.js';
import type { Switchyard } from '../../core/pipeline.js';
import type { ForwardOutcome, RespondOutcome } from '../../core/outcome.js';
import { SwitchyardError } from '../../errors.js';
import type { Deployment } from '../../upstream/registry.js';
import { envoyMaySet } from './mutation-rules.js';
import type { ForwardMutation } from './mutations.js';

/** The header envoy.yaml's routes match to pick the upstream cluster. */
export const ROUTING_HEADER = 'x-switchyard-upstream';

/** Headers the provider sets that Envoy already carries from the client (or rewrites itself). */
const NOT_FORWARDED = new Set(['content-type', 'accept', 'content-length', 'host', 'accept-encoding']);

/**
 * Client credentials (their Switchyard key) that Envoy would otherwise pass on
 * to the provider: removed unless the upstream's own headers replace them.
 */
const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key'] as const;

/** Provider header bags (one object per provider) → the pairs Envoy may set, computed once. */
const forwardable = new WeakMap<Record<string, string>, [string, string][]>();

function providerHeaders(h: Record<string, string>): [string, string][] {
  let pairs = forwardable.get(h);
  if (!pairs) {
    pairs = [];
    for (const [k, v] of Object.entries(h)) {
      const name = k.toLowerCase();
      if (!NOT_FORWARDED.has(name) && envoyMaySet(name)) pairs.push([name, v]);
    }
    forwardable.set(h, pairs);
  }
  return pairs;
}

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

/**
 * Chooses the deployment for Envoy and the mutations that send the request
 * there. `clientPath` is the request's `:path` (query kept).
 */
export function planForward(sy: Switchyard, outcome: ForwardOutcome, clientPath: string, clientHeaders: HeaderBag): ForwardPlan {
  const all = outcome.candidates;
  // Usually the first candidate serves: no filtered copy of the list.
  const first = all[0];
  const candidates =
    first && first.upstream.provider.protocol === outcome.ctx.protocol && first.upstream.usable() && all.length === 1 ? all : sameProtocolCandidates(outcome);
  const deployment = candidates[0];
  if (!deployment) return { type: 'respond', out: noSameProtocol(sy, outcome) };
  const restricted: ForwardOutcome = candidates === all ? outcome : { ...outcome, candidates };
  const spec = sy.upstreamRequest(restricted, deployment, true);

  const headers: [string, string][] = [[ROUTING_HEADER, deployment.upstream.name], ['accept-encoding', 'identity']];
  // The upstream's credentials (from its apiKeyEnv) and configured headers: Switchyard holds the keys, Envoy does not.
  const own = providerHeaders(spec.headers);
  for (const p of own) headers.push(p);
  let remove: string[] | undefined;
  for (const c of CLIENT_CREDENTIALS) {
    if (clientHeaders[c] !== undefined && !own.some(([k]) => k === c)) (remove ??= []).push(c);
  }
  // What the authenticating proxy told Switchyard (header mode: identity headers, the shared secret) stays here too.
  const a = sy.config.auth.header;
  for (const h of [a.sharedSecretHeader, a.tenantHeader, a.teamHeader, 'x-switchyard-key-id']) {
    if (clientHeaders[h] !== undefined && !own.some(([k]) => k === h)) (remove ??= []).push(h);
  }
  const q = clientPath.indexOf('?');
  const path = q === -1 ? clientPath : clientPath.slice(0, q);
  if (spec.path !== path) headers.push([':path', spec.path + (q === -1 ? '' : clientPath.slice(q))]);
  let body: Buffer | undefined;
  if (!spec.unchanged) {
    body = typeof spec.body === 'string' ? Buffer.from(spec.body, 'utf8') : spec.body;
    headers.push(['content-length', String(body.length)]);
  }
  const mutation: ForwardMutation = { headers };
  if (body) mutation.body = body;
  if (remove) mutation.remove = remove;
  return { type: 'forward', outcome: restricted, deployment, mutation };
}
