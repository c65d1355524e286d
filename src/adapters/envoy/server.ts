/**
 * The gRPC server Envoy's ext_proc filter calls: `ExternalProcessor/Process`
 * (one bidi stream per HTTP request, one {@link StreamProcessor} each) and
 * the standard `grpc.health.v1.Health` service.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Switchyard } from '../../core/pipeline.js';
import type { Logger } from '../../observability/logger.js';
import { StreamProcessor } from './processor.js';
import { grpcPeerAddress } from '../../identity/trusted-proxy.js';
import { EXT_PROC_SERVICE, processMethod } from './protos.js';
import type { ProcessingRequest, ProcessingResponse } from './wire.js';

/** Options of {@link createExtProcServer}. */
export interface ExtProcServerOptions {
  /** The core; reloads go through it (`switchyard.reload(cfg)`), so streams always see the current config. */
  switchyard: Switchyard;
  logger?: Logger;
  /** Largest gRPC message accepted or sent; must hold the largest buffered body. Default 64 MiB. */
  maxMessageBytes?: number;
}

/** A created (not yet listening) ext_proc server; see {@link createExtProcServer}. */
export interface ExtProcServer {
  readonly server: grpc.Server;
  /** `grpc.health.v1` statuses: `''` and the ext_proc service name. */
  readonly health: HealthImplementation;
  /** Streams open now. */
  readonly activeStreams: number;
  /** Listens on `host:port` (0 = any free port); resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Reports NOT_SERVING, lets open streams finish for up to `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

type ProcessCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

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
  const server = new grpc.Server({ 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max });
  const health = new HealthImplementation({ '': 'SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  health.addToServer(server);
  let active = 0;

  const process = (call: ProcessCall): void => {
    active++;
    const p = new StreamProcessor(sy, grpcPeerAddress(call.getPeer()));
    let chain: Promise<void> = Promise.resolve();
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      active--;
      p.close();
    };
    call.on('data', (msg: ProcessingRequest) => {
      chain = chain
        .then(async () => {
          if (over) return;
          const res = await p.handle(msg);
          if (!over && !call.cancelled) call.write(res);
        })
        .catch((err: unknown) => {
          log?.error({ err: err instanceof Error ? err.message : String(err), phase: p.state }, 'ext_proc stream failed');
          finish();
          call.emit('error', { code: grpc.status.INTERNAL, details: 'switchyard could not process the message' });
        });
    });
    // Envoy half-closes when it has nothing more to send: answer what is queued, then close our side.
    call.on('end', () => {
      void chain.then(() => {
        finish();
        if (!call.cancelled) call.end();
      });
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  };

  const definition = { Process: processMethod() } as unknown as grpc.ServiceDefinition;
  server.addService(definition, { Process: process as grpc.handleBidiStreamingCall<ProcessingRequest, ProcessingResponse> });

  return {
    server,
    health,
    get activeStreams() {
      return active;
    },
    listen(port, host = '127.0.0.1') {
      const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      });
    },
    close(graceMs = 10_000) {
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
