/**
 * `switchyard serve`: the standalone gateway. A plain node:http server (no
 * framework in the hot path) over the same handler the Express face uses,
 * plus health, config reload (SIGHUP and file change) and graceful shutdown.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy-middleware';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import { handleSignals, reportUpstreams, watchForReload } from '../core/lifecycle.js';
import type { SwitchyardConfig } from '../config/schema.js';
import { Switchyard } from '../core/pipeline.js';
import { handleNodeRequest } from '../adapters/node/handler.js';
import { createLimitedServer, limitsOf } from '../adapters/node/limits.js';
import { DECIDE_PREFIX, createNginxDecideHandler } from '../adapters/nginx/index.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { handleObservabilityRequest } from '../observability/http.js';
import { handleHealthRequest } from '../observability/health.js';

export interface ServeOptions {
  /** Config file; the embedded defaults when absent. */
  configPath?: string;
  config?: SwitchyardConfig;
  port?: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests don't). */
  signals?: boolean;
  /** The clock rate limits and budgets read (see SwitchyardOptions.clock); `Date.now` when absent. */
  clock?: () => number;
}

export interface RunningServer {
  server: Server;
  switchyard: Switchyard;
  url: string;
  port: number;
  /** Re-reads the config file now (what SIGHUP does). */
  reload(): SwitchyardConfig | undefined;
  close(): Promise<void>;
}

function notFound(res: import('node:http').ServerResponse, path: string): void {
  const body = JSON.stringify({ error: { message: `no route for ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } });
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const log = opts.logger ?? createLogger();
  const cfg = opts.config ?? (opts.configPath ? loadConfigFile(opts.configPath, env) : defaultConfig(env));
  const sy = new Switchyard(cfg, { env, logger: log, ...(opts.clock ? { clock: opts.clock } : {}) });
  // Local sidecars are probed first, so the first request already knows whether they run.
  await sy.ready(Math.min(5_000, Math.max(...cfg.upstreams.map((u) => u.timeouts.connectMs + 1000), 1000)));

  reportUpstreams(sy, log);

  const target = cfg.proxy.target;
  const proxy = target ? httpProxy.createProxyMiddleware({ target, changeOrigin: true, xfwd: true }) : undefined;

  const nginxDecide = createNginxDecideHandler(sy, { env });
  // Slow clients are cut off (headers / whole-request timeouts), sockets capped: cfg.server limits.
  const server = createLimitedServer(limitsOf(cfg.server), (req, res) => {
    const url = req.url ?? '/';
    // /livez, /readyz, /healthz
    if (handleHealthRequest(sy, req, res)) return;
    // /metrics, /switchyard/{events,stats,dashboard}
    if (handleObservabilityRequest(sy, req, res)) return;
    // nginx as the data plane: POST /switchyard/decide/v1/... answers with X-Accel-Redirect (nginx/README.md);
    // off unless auth.nginx.enabled, and then only for the trusted proxy (it passes every other request on).
    const handle = url.startsWith(DECIDE_PREFIX) ? nginxDecide(req, res) : handleNodeRequest(sy, req, res, 'serve');
    handle.then(
      (handled) => {
        if (handled) return;
        if (proxy) void proxy(req, res, () => notFound(res, url));
        else notFound(res, url);
      },
      (err: unknown) => {
        log.error({ err }, 'unhandled error');
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  });

  const port = opts.port ?? cfg.server.port;
  const host = opts.host ?? cfg.server.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  log.info({ url }, 'switchyard serving');

  const watcher = watchForReload(opts.configPath, sy, log, env);

  const close = async () => {
    watcher?.close();
    sy.observability.live.close(); // live SSE streams never end by themselves
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), cfg.server.shutdownGraceMs).unref();
    });
    await sy.close();
  };

  if (opts.signals) handleSignals(watcher, close, log);

  return { server, switchyard: sy, url, port: addr.port, reload: () => watcher?.reload(), close };
}
