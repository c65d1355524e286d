/**
 * Switchyard's own endpoints under `/switchyard/` (admin and operations).
 * Guarded by the admin token (`auth.adminTokenEnv`, default
 * `SWITCHYARD_ADMIN_TOKEN`) when it is set; otherwise only direct loopback
 * callers (no Forwarded/X-Forwarded-For/X-Real-IP) are let in.
 *
 *   GET    /switchyard/cache/stats                  cache counters
 *   DELETE /switchyard/cache?tenant=T[&model=M]     purge a tenant's (or one model group's) entries
 *   GET    /switchyard/keys                         virtual keys (never the key or its digest)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Switchyard } from '../../core/pipeline.js';
import { adminGate } from '../../identity/admin-http.js';


export type AdminHandler = (sy: Switchyard, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function adminError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code } });
}

/** Routes by `METHOD /path`; other features register theirs here. */
export const adminRoutes = new Map<string, AdminHandler>([
  [
    'GET /switchyard/cache/stats',
    (sy, _req, res) => {
      if (!sy.cache) return sendJson(res, 200, { enabled: false });
      sendJson(res, 200, { enabled: true, ...sy.cache.stats() });
    },
  ],
  [
    'DELETE /switchyard/cache',
    async (sy, _req, res, url) => {
      const tenant = url.searchParams.get('tenant');
      if (!tenant) return adminError(res, 400, 'invalid_request', 'the `tenant` query parameter is required (as shown in decision records, e.g. t:acme)');
      if (!sy.cache) return sendJson(res, 200, { deleted: 0 });
      const model = url.searchParams.get('model');
      const deleted = await sy.cache.purge({ tenant, ...(model ? { modelGroup: model } : {}) });
      sendJson(res, 200, { deleted });
    },
  ],
  [
    'GET /switchyard/keys',
    async (sy, _req, res) => {
      try {
        sendJson(res, 200, { mode: sy.identity.mode, keys: await sy.identity.listKeys() });
      } catch (e) {
        adminError(res, 503, 'auth_unavailable', `the key store did not answer: ${(e as Error).message}`);
      }
    },
  ],
]);

/** Handles `/switchyard/...` paths; false when the path is not one of them. */
export async function handleAdmin(sy: Switchyard, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const raw = req.url ?? '/';
  if (!raw.startsWith('/switchyard/')) return false;
  const url = new URL(raw, 'http://switchyard.local');
  const handler = adminRoutes.get(`${req.method ?? 'GET'} ${url.pathname}`);
  if (!handler) return false;
  if (!adminGate(sy.identity.admin, req, res)) return true;
  await handler(sy, req, res, url);
  return true;
}

