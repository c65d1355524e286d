/** What every long-running face does around the core: report upstreams, reload config, stop on signals. */
import { ConfigError } from '../config/load.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';
import type { Switchyard } from './pipeline.js';
import type { Logger } from '../observability/logger.js';

/** Logs each upstream's availability at start (a missing key is a warning naming the variable, not a crash). */
export function reportUpstreams(sy: Switchyard, log: Logger): void {
  const health = sy.health();
  for (const h of health) {
    if (h.available) log.info({ upstream: h.name }, 'upstream available');
    else log.warn({ upstream: h.name, reason: h.reason }, 'upstream unavailable');
  }
  for (const h of health) {
    for (const d of h.deployments) if (h.available && !d.usable && d.reason) log.warn({ upstream: h.name, model: d.model, reason: d.reason }, 'deployment unavailable');
  }
  if (!health.some((h) => h.available)) {
    log.warn('no upstream is available: requests that need one get 503 until an upstream is configured');
  }
}

/** Reloads `sy` when the file changes; a bad config is logged and the last good one kept. */
export function watchForReload(configPath: string | undefined, sy: Switchyard, log: Logger, env: NodeJS.ProcessEnv): ConfigWatcher | undefined {
  if (!configPath) return undefined;
  return watchConfig(
    configPath,
    (next) => {
      sy.reload(next);
      log.info({ config: configPath }, 'config reloaded');
    },
    (err) => log.error({ reason: err instanceof ConfigError ? err.message : String(err) }, 'config reload rejected; keeping the last good config'),
    { env },
  );
}

/** SIGHUP re-reads the config; SIGTERM and SIGINT close gracefully, then exit. */
export function handleSignals(watcher: ConfigWatcher | undefined, close: () => Promise<void>, log: Logger): void {
  process.on('SIGHUP', () => watcher?.reload());
  const stop = (sig: string) => {
    log.info({ signal: sig }, 'shutting down');
    void close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
