/**
 * The gRPC server Envoy's ext_proc filter calls: `ExternalProcessor/Process`
 * (one bidi stream per HTTP request, one {@link StreamProcessor} each) and
 * the standard `grpc.health.v1.Health` service (`Check`, `Watch`), served on
 * node:http2 directly (see `grpc-h2.ts`) with Envoy's protos (`codec.ts`).
 */
import type { Http2Server } from 'node:http2';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import type { Switchyard } from '../../core/pipeline.js';
import type { Logger } from '../../observability/logger.js';
import { extProcCodec } from './codec.js';
import { createGrpcServer, GrpcStatus, type GrpcCall, type GrpcHandler } from './grpc-h2.js';
import { StreamProcessor } from './processor.js';
import { EXT_PROC_SERVICE } from './protos.js';

const require = createRequire(import.meta.url);

/** Options of {@link createExtProcServer}. */
export interface ExtProcServerOptions {
  /** The core; reloads go through it (`switchyard.reload(cfg)`), so streams always see the current config. */
  switchyard: Switchyard;
  logger?: Logger;
  /** Largest gRPC message accepted; must hold the largest buffered body. Default 64 MiB. */
  maxMessageBytes?: number;
}

/** `grpc.health.v1` serving status. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The health statuses the server reports (`''` = the server as a whole). */
export interface HealthStatuses {
  setStatus(service: string, status: ServingStatus): void;
  getStatus(service: string): ServingStatus | undefined;
}

/** A created (not yet listening) ext_proc server; see {@link createExtProcServer}. */
export interface ExtProcServer {
  readonly server: Http2Server;
  /** `grpc.health.v1` statuses: `''` and the ext_proc service name. */
  readonly health: HealthStatuses;
  /** Streams open now. */
  readonly activeStreams: number;
  /** Listens on `host:port` (0 = any free port); resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Reports NOT_SERVING, lets open streams finish for up to `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

const PROCESS_PATH = `/${EXT_PROC_SERVICE}/Process`;

function healthTypes(): { Req: protobuf.Type; Res: protobuf.Type; values: Record<string, number> } {
  const file = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto/health/v1/health.proto');
  const root = protobuf.loadSync(file);
  const Res = root.lookupType('grpc.health.v1.HealthCheckResponse');
  return { Req: root.lookupType('grpc.health.v1.HealthCheckRequest'), Res, values: root.lookupEnum('grpc.health.v1.HealthCheckResponse.ServingStatus').values };
}

/**
 * Creates the ext_proc gRPC server over a core.
 *
 * @example
 * const ext = createExtProcServer({ switchyard: createSwitchyard(loadConfigFile('switchyard.yaml')) });
 * const port = await ext.listen(50051, '0.0.0.0');
 */
export function createExtProcServer(opts: ExtProcServerOptions): ExtProcServer {
  const sy = opts.switchyard;
  const log = opts.logger;
  const max = opts.maxMessageBytes ?? 64 * 1024 * 1024;
  const codec = extProcCodec();
  let active = 0;

  const process = (call: GrpcCall): GrpcHandler => {
    active++;
    const p = new StreamProcessor(sy);
    let chain: Promise<void> = Promise.resolve();
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      active--;
      p.close();
    };
    const fail = (err: unknown) => {
      log?.error({ err: err instanceof Error ? err.message : String(err), phase: p.state }, 'ext_proc stream failed');
      finish();
      call.end(GrpcStatus.INTERNAL, 'switchyard could not process the message');
    };
    return {
      onMessage(bytes) {
        // Messages are answered in order; a decision may await (cache, admission), the next message waits for it.
        chain = chain.then(async () => {
          if (over) return;
          const res = await p.handle(codec.decode(bytes));
          if (!over) call.write(codec.encode(res));
        }).catch(fail);
      },
      // Envoy half-closes when it has nothing more to send: answer what is queued, then close our side.
      onHalfClose() {
        void chain.then(() => {
          finish();
          call.end();
        });
      },
      onClose: finish,
    };
  };

  const statuses = new Map<string, ServingStatus>([
    ['', 'SERVING'],
    [EXT_PROC_SERVICE, 'SERVING'],
  ]);
  const watchers = new Set<{ service: string; call: GrpcCall }>();
  const h = healthTypes();
  const healthBytes = (status: ServingStatus | 'SERVICE_UNKNOWN') => Buffer.from(h.Res.encode({ status: h.values[status] }).finish());
  const serviceOf = (bytes: Buffer) => String((h.Req.decode(bytes) as unknown as { service?: string }).service ?? '');
  const health: HealthStatuses = {
    setStatus(service, status) {
      statuses.set(service, status);
      for (const w of watchers) if (w.service === service) w.call.write(healthBytes(status));
    },
    getStatus: (service) => statuses.get(service),
  };

  const { server, sessions } = createGrpcServer(
    {
      [PROCESS_PATH]: process,
      '/grpc.health.v1.Health/Check': (call) => ({
        onMessage(bytes) {
          const status = statuses.get(serviceOf(bytes));
          if (status === undefined) call.end(GrpcStatus.NOT_FOUND, 'unknown service');
          else {
            call.write(healthBytes(status));
            call.end();
          }
        },
        onHalfClose() {
          if (!call.ended) call.end(GrpcStatus.INTERNAL, 'no request');
        },
        onClose() {},
      }),
      '/grpc.health.v1.Health/Watch': (call) => {
        let watcher: { service: string; call: GrpcCall } | undefined;
        return {
          onMessage(bytes) {
            const service = serviceOf(bytes);
            watcher = { service, call };
            watchers.add(watcher);
            call.write(healthBytes(statuses.get(service) ?? 'SERVICE_UNKNOWN'));
          },
          onHalfClose() {},
          onClose() {
            if (watcher) watchers.delete(watcher);
          },
        };
      },
    },
    max,
  );

  return {
    server,
    health,
    get activeStreams() {
      return active;
    },
    listen(port, host = '127.0.0.1') {
      return new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      });
    },
    close(graceMs = 10_000) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      for (const w of watchers) w.call.end();
      return new Promise<void>((resolve) => {
        // No new connections; each session finishes its open streams (GOAWAY), then closes.
        server.close(() => resolve());
        for (const s of sessions) s.close();
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, graceMs);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      });
    },
  };
}
