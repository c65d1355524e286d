/**
 * A minimal gRPC server over node:http2 for the two services Envoy calls:
 * `ExternalProcessor/Process` (bidi stream) and `grpc.health.v1.Health`
 * (`Check`, `Watch`). gRPC's HTTP/2 mapping is small — a `200` with
 * `content-type: application/grpc`, length-prefixed messages (1 flag byte,
 * 4-byte big-endian length) and a `grpc-status` trailer — and speaking it
 * directly skips the per-stream and per-message machinery of a general gRPC
 * server (interceptors, metadata objects, channelz), which was most of the
 * processor's CPU per exchange. Messages are not compressed (Envoy's ext_proc
 * client does not compress; a compressed one is refused with UNIMPLEMENTED).
 */
import { createServer, type Http2Server, type Http2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';

/** gRPC status codes used here. */
export const GrpcStatus = { OK: 0, CANCELLED: 1, INTERNAL: 13, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12 } as const;

/** One gRPC call's message stream, server side. */
export interface GrpcCall {
  /** Sends one (already encoded) message. */
  write(msg: Buffer): void;
  /** Ends the call with a status (OK by default). */
  end(status?: number, message?: string): void;
  readonly ended: boolean;
}

/** Handles one call: called per incoming message, on the client's half-close, and once when the call is over. */
export interface GrpcHandler {
  onMessage(msg: Buffer): void;
  onHalfClose(): void;
  onClose(): void;
}

/** `:path` → a handler factory for calls on it. */
export type GrpcRoutes = Record<string, (call: GrpcCall) => GrpcHandler>;

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

/** Frames a message: flag 0 (not compressed), big-endian length, bytes. */
function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

function trailersOnly(stream: ServerHttp2Stream, status: number, message: string): void {
  if (stream.headersSent || stream.destroyed) return;
  stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
}

/**
 * Serves gRPC routes on a new HTTP/2 server (cleartext, as Envoy's
 * `envoy_grpc` cluster with `http2_protocol_options` speaks it).
 *
 * @example
 * const { server, sessions } = createGrpcServer({ '/pkg.Svc/Method': (call) => ({ onMessage: (m) => call.write(m), onHalfClose: () => call.end(), onClose() {} }) }, 4 << 20);
 */
export function createGrpcServer(routes: GrpcRoutes, maxMessageBytes: number): { server: Http2Server; sessions: Set<Http2Session> } {
  // Wide flow-control windows: a buffered request body (MiBs) should not wait for window updates.
  const server = createServer({ settings: { maxConcurrentStreams: 1 << 16, initialWindowSize: 4 << 20 } });
  const sessions = new Set<Http2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('connect', () => s.setLocalWindowSize(16 << 20));
    s.once('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    const route = routes[String(headers[':path'])];
    const ct = String(headers['content-type'] ?? '');
    if (headers[':method'] !== 'POST' || !ct.startsWith('application/grpc')) {
      if (!stream.headersSent) stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    if (!route) return trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);

    let ended = false;
    let closed = false;
    const call: GrpcCall = {
      get ended() {
        return ended;
      },
      write(msg) {
        if (ended || stream.destroyed) return;
        if (!stream.headersSent) stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
        stream.write(frame(msg));
      },
      end(status = GrpcStatus.OK, message = '') {
        if (ended || stream.destroyed) return;
        ended = true;
        if (!stream.headersSent) return trailersOnly(stream, status, message);
        stream.once('wantTrailers', () => {
          stream.sendTrailers(status === GrpcStatus.OK ? { 'grpc-status': '0' } : { 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) });
        });
        stream.end();
      },
    };
    const handler = route(call);
    const close = () => {
      if (closed) return;
      closed = true;
      handler.onClose();
    };
    stream.once('close', close);
    stream.once('aborted', close);

    // Length-prefixed messages may span DATA frames, and a frame may hold several.
    let pending: Buffer | undefined;
    stream.on('data', (chunk: Buffer) => {
      if (ended) return; // the call is over (an error was answered): the rest is discarded
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      while (buf.length >= 5) {
        if (buf[0] !== 0) {
          call.end(GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported');
          return;
        }
        const len = buf.readUInt32BE(1);
        if (len > maxMessageBytes) {
          call.end(GrpcStatus.RESOURCE_EXHAUSTED, `message of ${len} bytes exceeds the limit of ${maxMessageBytes}`);
          return;
        }
        if (buf.length < 5 + len) break;
        const msg = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if (!ended) handler.onMessage(msg);
      }
      if (buf.length > 0) pending = buf;
    });
    stream.once('end', () => {
      if (!ended) handler.onHalfClose();
    });
  });
  return { server, sessions };
}
