/**
 * The gRPC server Envoy's ext_proc filter calls: `ExternalProcessor/Process`
 * (one bidi stream per HTTP request, one {@link StreamProcessor} each) and
 * the standard `grpc.health.v1.Health` service (`Check`, `Watch`), on a
 * @grpc/grpc-js `Server`. Both services are registered with pass-through
 * (de)serializers: grpc-js moves bytes, and each message is decoded and
 * encoded exactly once, by `codec.ts` (Envoy's protos through protobufjs,
 * no object conversion).
 */
import * as grpc from '@grpc/grpc-js';
import type { Switchyard } from '../../core/pipeline.js';
import { grpcPeerAddress, normalizeAddress } from '../../identity/trusted-proxy.js';
import type { Logger } from '../../observability/logger.js';
import { extProcCodec } from './codec.js';
import { createHealthService, passThrough, type HealthStatuses } from './health.js';
import { StreamProcessor } from './processor.js';
import { EXT_PROC_SERVICE } from './protos.js';
import type { ProcessingResponse } from './wire.js';

export type { HealthStatuses, ServingStatus } from './health.js';

/** Options of {@link createExtProcServer}. */
export interface ExtProcServerOptions {
  /** The core; reloads go through it (`switchyard.reload(cfg)`), so streams always see the current config. */
  switchyard: Switchyard;
  logger?: Logger;
  /**
   * Largest gRPC message accepted or sent; must hold the largest buffered body. Default 64 MiB, or the
   * config's `envoy.listenerBufferLimitBytes` plus 1 MiB (headers and framing) when that is larger.
   */
  maxMessageBytes?: number;
}

/** A created (not yet listening) ext_proc server; see {@link createExtProcServer}. */
export interface ExtProcServer {
  readonly server: grpc.Server;
  /** `grpc.health.v1` statuses: `''` and the ext_proc service name. */
  readonly health: HealthStatuses;
  /** Streams open now. */
  readonly activeStreams: number;
  /** The largest message accepted or sent (see {@link ExtProcServerOptions.maxMessageBytes}). */
  readonly maxMessageBytes: number;
  /** Listens on `host:port` (0 = any free port); resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Reports NOT_SERVING, lets open streams finish for up to `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/** `Process` as Envoy's external_processor.proto declares it (a bidi stream), carrying bytes. */
const PROCESS: grpc.MethodDefinition<Buffer, Buffer> = {
  path: `/${EXT_PROC_SERVICE}/Process`,
  requestStream: true,
  responseStream: true,
  requestSerialize: passThrough,
  requestDeserialize: passThrough,
  responseSerialize: passThrough,
  responseDeserialize: passThrough,
};

/**
 * The address in grpc-js's peer string: `127.0.0.1:5000`, or an IPv6 address with its port and no brackets
 * (`::1:5000`, `::ffff:10.0.0.1:5000`); `unknown` (a Unix socket) has none.
 */
export function peerAddress(peer: string): string | undefined {
  return grpcPeerAddress(peer) ?? normalizeAddress(peer.slice(0, Math.max(0, peer.lastIndexOf(':'))));
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
  const max = opts.maxMessageBytes ?? Math.max(64 * 1024 * 1024, sy.config.envoy.listenerBufferLimitBytes + 1024 * 1024);
  // Channelz stays on (grpc-js's default). Off, it would save a few closures and Date.now() calls per message, but
  // then shutdown leaves connections open (seen with an IPv6 listener: drain() does not reach them, nor forceShutdown()).
  const server = new grpc.Server({ 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max });
  const codec = extProcCodec();
  let active = 0;
  let bound: string | undefined;
  const peers = new Map<string, string | null>();

  const process = (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    active++;
    // The peer is the Envoy calling: header-mode identity trusts what it forwards only by this address (or the shared secret).
    const peer = call.getPeer();
    // Every stream of one Envoy connection has the same peer: parse it once per connection, not per stream.
    let addr = peers.get(peer);
    if (addr === undefined) {
      if (peers.size >= 1024) peers.clear();
      peers.set(peer, (addr = peerAddress(peer) ?? null));
    }
    const p = new StreamProcessor(sy, addr ?? undefined);
    // Answers still being worked out (a decision may await the cache or admission); undefined when none is.
    let chain: Promise<void> | undefined;
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
      call.emit('error', { code: grpc.status.INTERNAL, details: 'switchyard could not process the message' });
    };
    const reply = (res: ProcessingResponse) => {
      if (!over && !call.cancelled) call.write(codec.encode(res));
    };
    // One message: answered at once when its handling does not wait (the response side, most answers), else after the
    // decision. Messages are answered in order: while one waits, the next ones queue behind it.
    const run = (bytes: Buffer): Promise<void> | undefined => {
      if (over) return undefined;
      let res: ProcessingResponse | Promise<ProcessingResponse>;
      try {
        res = p.handle(codec.decode(bytes));
        if (!(res instanceof Promise)) {
          reply(res);
          return undefined;
        }
      } catch (err) {
        fail(err);
        return undefined;
      }
      const waiting: Promise<void> = res.then(reply).then(undefined, fail).then(() => {
        if (chain === waiting) chain = undefined;
      });
      return waiting;
    };
    call.on('data', (bytes: Buffer) => {
      if (chain === undefined) chain = run(bytes);
      else {
        const next: Promise<void> = chain.then(() => run(bytes)).then(() => {
          if (chain === next) chain = undefined;
        });
        chain = next;
      }
    });
    // Envoy half-closes when it has nothing more to send: answer what is queued, then close our side.
    call.on('end', () => {
      const end = () => {
        if (over) return;
        finish();
        if (!call.cancelled) call.end();
      };
      if (chain === undefined) end();
      else void chain.then(end);
    });
    // A reset by Envoy (the downstream client went away), an error status sent (oversized message), or the end.
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  };

  server.addService({ Process: PROCESS }, { Process: process as grpc.handleBidiStreamingCall<Buffer, Buffer> });
  const health = createHealthService({ '': 'SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  server.addService(health.definition, health.implementation);

  return {
    server,
    health: health.statuses,
    get activeStreams() {
      return active;
    },
    maxMessageBytes: max,
    listen(port, host = '127.0.0.1') {
      const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, p) => {
          if (err) return reject(err);
          bound = host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
          resolve(p);
        });
      });
    },
    close(graceMs = 10_000) {
      health.statuses.setStatus('', 'NOT_SERVING');
      health.statuses.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
      health.endWatches();
      return new Promise<void>((resolve) => {
        // No new calls; each connection finishes its open streams (GOAWAY), then closes. After the grace, the rest are
        // cancelled: drain() destroys the connections left on the port, forceShutdown() the server. (forceShutdown alone
        // misses connections when channelz is off: in grpc-js 1.14 it destroys only the sessions channelz tracks.)
        if (bound) server.drain(bound, graceMs);
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
