/**
 * The Express face: `app.use(switchyard({ config }))`.
 *
 * Serves the LLM routes (`/v1/chat/completions`, `/v1/completions`,
 * `/v1/embeddings`, `/v1/models`, `/v1/messages`) through the core and hands
 * every other request to `next()`, or to `config.proxy.target` through
 * http-proxy-middleware. Works whether or not a body parser ran before it.
 *
 * Mount it before the app's own body parser (then LLM bodies are read and
 * limited by Switchyard, not by `express.json()`'s 100 KB default), add
 * {@link switchyardErrorHandler} last, and give the app's server the same
 * slow-client limits as `switchyard serve` ({@link createLimitedServer}).
 *
 * @example
 * import express from 'express';
 * import { createLimitedServer, switchyard, switchyardErrorHandler } from 'switchyard/express';
 * const app = express();
 * app.use(switchyard({ config: 'switchyard.yaml' }));
 * app.use(express.json());
 * // ... the app's routes ...
 * app.use(switchyardErrorHandler());
 * createLimitedServer({ requestTimeoutMs: 30_000 }, app).listen(3000);
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { stringify } from 'yaml';
import { loadConfigFile, parseConfig } from '../../config/load.js';
import type { SwitchyardConfig, SwitchyardConfigInput } from '../../config/schema.js';
import { Switchyard } from '../../core/pipeline.js';
import { handleNodeRequest } from '../node/handler.js';
import { handleObservabilityRequest } from '../../observability/http.js';
import { handleHealthRequest } from '../../observability/health.js';

export interface SwitchyardMiddlewareOptions {
  /** A config file path, a config object (validated here), or an existing core instance. */
  config?: string | SwitchyardConfigInput;
  switchyard?: Switchyard;
  env?: NodeJS.ProcessEnv;
  /** Serve Prometheus metrics at this (mount-relative) path, e.g. `/metrics`; off by default. */
  metricsPath?: string;
  /** Serve `/switchyard/events`, `/switchyard/stats` and `/switchyard/dashboard`; off by default. */
  live?: boolean;
  /** Serve `/livez`, `/readyz` and `/healthz` (mount-relative); off by default (the app may have its own). */
  health?: boolean;
  /** The clock rate limits and budgets read (see SwitchyardOptions.clock); `Date.now` when absent. */
  clock?: () => number;
}

export type SwitchyardMiddleware = RequestHandler & {
  /** The core behind the middleware (events, reload, health). */
  readonly switchyard: Switchyard;
  close(): Promise<void>;
};

function resolveConfig(c: string | SwitchyardConfigInput | undefined, env: NodeJS.ProcessEnv): SwitchyardConfig {
  if (typeof c === 'string') return loadConfigFile(c, env);
  // Objects go through the same validation (and ${ENV} substitution) as files.
  return parseConfig(stringify(c ?? {}), env, '<middleware options>');
}

export function switchyard(opts: SwitchyardMiddlewareOptions = {}): SwitchyardMiddleware {
  const env = opts.env ?? process.env;
  const sy = opts.switchyard ?? new Switchyard(resolveConfig(opts.config, env), { env, ...(opts.clock ? { clock: opts.clock } : {}) });
  void sy.ready(); // probes local upstreams in the background
  const target = sy.config.proxy.target;
  const proxy = target ? createProxyMiddleware({ target, changeOrigin: true, xfwd: true }) : undefined;

  const routes = { metricsPath: opts.metricsPath ?? (false as const), live: opts.live ?? false };
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    if (opts.health === true && handleHealthRequest(sy, req, res)) return;
    if (handleObservabilityRequest(sy, req, res, routes)) return;
    handleNodeRequest(sy, req, res, 'express').then(
      (handled) => {
        if (handled) return;
        if (proxy) void proxy(req, res, next);
        else next();
      },
      (err: unknown) => next(err),
    );
  };
  return Object.assign(handler, {
    switchyard: sy,
    close: () => sy.close(),
  }) as SwitchyardMiddleware;
}

export { Switchyard } from '../../core/pipeline.js';
export { isSwitchyardRoute, parserErrorToSwitchyard, skipSwitchyardRoutes, switchyardErrorHandler } from './errors.js';
export { applyServerLimits, createLimitedServer, DEFAULT_SERVER_LIMITS, serverOptions, type ServerLimits, type ServerLimitsInput } from '../node/limits.js';
