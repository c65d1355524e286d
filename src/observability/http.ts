/**
 * The observability endpoints on Node HTTP, for every face:
 * `GET /metrics` (Prometheus), `GET /switchyard/events` (SSE decision
 * stream), `GET /switchyard/stats` (JSON snapshot) and
 * `GET /switchyard/dashboard` (the live page).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SwitchyardConfig } from '../config/schema.js';
import { dashboardHtml } from '../dashboard/page.js';
import type { Observability } from './index.js';
import type { AdminCheck } from '../identity/admin.js';
import { adminGate } from '../identity/admin-http.js';

/** A core with observability (a `Switchyard`). */
export interface HasObservability {
  readonly config: SwitchyardConfig;
  readonly observability: Observability;
  /** The admin gate: every endpoint here needs it (metrics unless `observability.metrics.public`). */
  readonly identity: { readonly admin: AdminCheck };
}

/** Which endpoints a face serves. */
export interface ObservabilityRoutes {
  /** Path of the metrics endpoint; `false` for none. Default: `observability.metrics.path`. */
  metricsPath?: string | false;
  /** Serve `/switchyard/events`, `/switchyard/stats` and `/switchyard/dashboard`. Default: `observability.live.enabled`. */
  live?: boolean;
}

export const EVENTS_PATH = '/switchyard/events';
export const STATS_PATH = '/switchyard/stats';
export const DASHBOARD_PATH = '/switchyard/dashboard';

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * A Node handler serving the Prometheus text of `sy`'s registry: what the
 * ext_proc face mounts on its HTTP port. Admin only unless
 * `observability.metrics.public: true`.
 *
 * @example
 * http.createServer((req, res) => (req.url === '/metrics' ? metricsHandler(sy)(req, res) : notFound(res)));
 */
export function metricsHandler(sy: HasObservability): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!sy.config.observability.metrics.public && !adminGate(sy.identity.admin, req, res)) return;
    sy.observability.metrics.exposition().then(
      (m) => send(res, 200, m.contentType, m.body),
      (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `${String(err)}\n`),
    );
  };
}

/**
 * Serves the request when it is one of the observability endpoints;
 * returns false otherwise (the caller goes on).
 *
 * @example
 * if (handleObservabilityRequest(sy, req, res)) return;
 */
export function handleObservabilityRequest(sy: HasObservability, req: IncomingMessage, res: ServerResponse, routes: ObservabilityRoutes = {}): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const obs = sy.config.observability;
  const metricsPath = routes.metricsPath ?? obs.metrics.path;
  if (metricsPath !== false && path === metricsPath) {
    metricsHandler(sy)(req, res);
    return true;
  }
  if (!(routes.live ?? obs.live.enabled)) return false;
  if (path !== EVENTS_PATH && path !== STATS_PATH && path !== DASHBOARD_PATH && path !== `${DASHBOARD_PATH}/`) return false;
  // Events and stats name tenants: admins only.
  if (!adminGate(sy.identity.admin, req, res)) return true;
  switch (path) {
    case EVENTS_PATH:
      sy.observability.live.attach(req, res);
      return true;
    case STATS_PATH:
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(sy.observability.stats.snapshot()));
      return true;
    case DASHBOARD_PATH:
    case `${DASHBOARD_PATH}/`:
      send(res, 200, 'text/html; charset=utf-8', dashboardHtml());
      return true;
    default:
      return false;
  }
}
