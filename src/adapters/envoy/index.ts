/**
 * The Envoy face: Switchyard as an ext_proc external processor. Envoy keeps
 * proxying; Switchyard serves cache hits (ImmediateResponse), picks the
 * upstream cluster (a routing header envoy.yaml matches), rewrites the model,
 * and learns from the responses. See `envoy/README.md` for the deployment.
 *
 * @example
 * import { startExtProc } from 'switchyard/envoy';
 * const ext = await startExtProc({ configPath: 'switchyard.yaml', port: 50051, metricsPort: 9464 });
 * // ... later
 * await ext.close();
 */
import { defaultConfig, loadConfigFile } from '../../config/load.js';
import type { SwitchyardConfig } from '../../config/schema.js';
import { handleSignals, reportUpstreams, watchForReload } from '../../core/lifecycle.js';
import { Switchyard } from '../../core/pipeline.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { startMetricsServer, type MetricsServer } from './metrics-http.js';
import { createExtProcServer, type ExtProcServer } from './server.js';

export { createExtProcServer, type ExtProcServer, type ExtProcServerOptions, type HealthStatuses, type ServingStatus } from './server.js';
export { StreamProcessor, isLlmRequest, type Phase, type Verdict } from './processor.js';
export { ROUTING_HEADER, planForward, sameProtocolCandidates, type ForwardPlan } from './forward.js';
export { startMetricsServer, type MetricsServer } from './metrics-http.js';
export { envoyProtoIncludeDirs, EXT_PROC_SERVICE } from './protos.js';
export type { ProcessingRequest, ProcessingResponse } from './wire.js';

/** Options of {@link startExtProc}. */
export interface ExtProcOptions {
  /** Config file (watched and reloaded on change and SIGHUP); the embedded defaults when neither this nor `config` is given. */
  configPath?: string;
  config?: SwitchyardConfig;
  /** gRPC port; 0 picks a free one. Default 50051. */
  port?: number;
  /** Address to bind (gRPC and metrics); default the config's `server.host`. */
  host?: string;
  /** Port of the `/metrics` HTTP endpoint; none when absent. */
  metricsPort?: number;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; tests don't). */
  signals?: boolean;
}

/** A running ext_proc processor; see {@link startExtProc}. */
export interface RunningExtProc {
  switchyard: Switchyard;
  extProc: ExtProcServer;
  /** The bound gRPC port. */
  port: number;
  /** The bound metrics port, when one was asked for. */
  metricsPort: number | undefined;
  /** Re-reads the config file now (what SIGHUP does). */
  reload(): SwitchyardConfig | undefined;
  close(): Promise<void>;
}

/** Starts the ext_proc gRPC server (and `/metrics`) over a new core. */
export async function startExtProc(opts: ExtProcOptions = {}): Promise<RunningExtProc> {
  const env = opts.env ?? process.env;
  const log = opts.logger ?? createLogger();
  const cfg = opts.config ?? (opts.configPath ? loadConfigFile(opts.configPath, env) : defaultConfig(env));
  const sy = new Switchyard(cfg, { env, logger: log });
  await sy.ready(5_000); // local upstreams probed before the first decision
  reportUpstreams(sy, log);

  const host = opts.host ?? cfg.server.host;
  const extProc = createExtProcServer({ switchyard: sy, logger: log });
  let metrics: MetricsServer | undefined;
  let port: number;
  try {
    port = await extProc.listen(opts.port ?? 50051, host);
    if (opts.metricsPort !== undefined) metrics = await startMetricsServer(sy, opts.metricsPort, host);
  } catch (e) {
    await extProc.close(0);
    await sy.close();
    throw e;
  }
  log.info({ port, host, metricsPort: metrics?.port }, 'switchyard ext_proc serving');

  const watcher = watchForReload(opts.configPath, sy, log, env);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      watcher?.close();
      await extProc.close(cfg.server.shutdownGraceMs);
      await metrics?.close();
      await sy.close();
    })());

  if (opts.signals) handleSignals(watcher, close, log);

  return { switchyard: sy, extProc, port, metricsPort: metrics?.port, reload: () => watcher?.reload(), close };
}
