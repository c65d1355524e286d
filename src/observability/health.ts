/**
 * The health endpoints, for `serve` and (opt-in) the Express face:
 *
 * - `GET /livez`: the process is up and serving HTTP (200, always).
 * - `GET /readyz`: 200 when every readiness check passes, else 503 with the
 *   failing checks' reasons (no usable deployment: which key to set, which
 *   sidecar to start, which breakers are open).
 * - `GET /healthz`: 200 with the detail: status `ok`, `degraded` (some
 *   deployments unusable, or a shared store failing) or `unavailable` (none
 *   usable), each upstream with its deployments (breaker, estimates,
 *   reason), and each Redis connection under `stores`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Switchyard } from '../core/pipeline.js';

export const LIVEZ_PATH = '/livez';
export const READYZ_PATH = '/readyz';
export const HEALTHZ_PATH = '/healthz';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Serves `/livez`, `/readyz` and `/healthz`; returns false for other requests.
 *
 * @example
 * http.createServer((req, res) => { if (!handleHealthRequest(sy, req, res)) next(req, res); });
 */
export function handleHealthRequest(sy: Switchyard, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  switch (path) {
    case LIVEZ_PATH:
      send(res, 200, { status: 'ok' });
      return true;
    case READYZ_PATH:
      sy.readiness.evaluate().then(
        (r) => send(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'unavailable', checks: r.checks }),
        (err: unknown) => send(res, 503, { status: 'unavailable', checks: [{ name: 'readiness', ok: false, reason: String(err) }] }),
      );
      return true;
    case HEALTHZ_PATH: {
      const upstreams = sy.health();
      const status = sy.healthStatus(upstreams);
      // A degraded shared store (Redis) degrades an otherwise healthy instance; requests still complete.
      const stores = sy.storeHealth();
      send(res, 200, { status: status === 'ok' && stores.some((s) => s.status !== 'ok') ? 'degraded' : status, upstreams, stores });
      return true;
    }
    default:
      return false;
  }
}
