/**
 * Applies {@link ServerLimits} to a `node:http` server: the one place that
 * knows which Node knob enforces which limit. `switchyard serve` and the
 * sidecar build their servers with {@link createLimitedServer}; an Express
 * app's own server can take the same limits with {@link applyServerLimits}.
 *
 * Node checks the headers and whole-request timeouts on a timer
 * (`connectionsCheckingInterval`, 30 s by default, settable only when the
 * server is created), so a limit fires up to one interval late. Servers made
 * here check at a tenth of the shortest limit (at most every second).
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { parseServerLimits, type ServerLimits, type ServerLimitsInput } from '../../config/server-limits.js';

export { DEFAULT_SERVER_LIMITS, parseServerLimits, type ServerLimits, type ServerLimitsInput } from '../../config/server-limits.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** Headers timeout as Node wants it: never above a non-zero request timeout (Node refuses that). */
function headersTimeout(l: ServerLimits): number {
  return l.requestTimeoutMs > 0 ? Math.min(l.headersTimeoutMs, l.requestTimeoutMs) : l.headersTimeoutMs;
}

/** How often Node looks for sockets past their headers/request deadline. */
export function checkingIntervalMs(l: ServerLimits): number {
  const shortest = Math.min(headersTimeout(l), l.requestTimeoutMs > 0 ? l.requestTimeoutMs : Infinity);
  return Math.max(10, Math.min(1_000, Math.floor(shortest / 10)));
}

/** The `createServer` options that carry the limits (some can only be given there). */
export function serverOptions(limits: ServerLimitsInput | ServerLimits = {}): ServerOptions {
  const l = parseServerLimits(limits);
  return { headersTimeout: headersTimeout(l), requestTimeout: l.requestTimeoutMs, connectionsCheckingInterval: checkingIntervalMs(l) };
}

/**
 * Sets the limits on an existing server (e.g. the one `app.listen()` returned).
 * The timeouts are then checked on Node's default 30 s timer unless the server
 * was created with {@link serverOptions}.
 *
 * @example
 * ```ts
 * import { applyServerLimits } from 'switchyard/express';
 * const server = app.listen(3000);
 * applyServerLimits(server, { requestTimeoutMs: 30_000, maxConnections: 4096 });
 * ```
 */
export function applyServerLimits(server: Server, limits: ServerLimitsInput | ServerLimits = {}): Server {
  const l = parseServerLimits(limits);
  server.requestTimeout = l.requestTimeoutMs;
  server.headersTimeout = headersTimeout(l);
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.maxConnections = l.maxConnections;
  server.maxRequestsPerSocket = l.maxRequestsPerSocket;
  closeAfterLastRequest(server);
  return server;
}

const counted = new WeakSet<Server>();

/**
 * Node answers the last request a socket may carry with `Connection: close`
 * but then leaves the socket open until the client closes it or the
 * keep-alive timeout fires; a client ignoring the header holds it that long.
 * This ends the socket once that answer is sent.
 */
function closeAfterLastRequest(server: Server): void {
  if (counted.has(server)) return;
  counted.add(server);
  const requests = new WeakMap<object, number>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const max = server.maxRequestsPerSocket ?? 0;
    if (max <= 0) return;
    const socket = req.socket;
    const n = (requests.get(socket) ?? 0) + 1;
    requests.set(socket, n);
    if (n >= max) res.once('finish', () => socket.end());
  });
}

/**
 * `http.createServer` with the limits in place and a checking interval that
 * makes them fire on time.
 *
 * @example
 * ```ts
 * import { createLimitedServer } from 'switchyard/express';
 * const server = createLimitedServer({ requestTimeoutMs: 30_000 }, app);
 * server.listen(3000);
 * ```
 */
export function createLimitedServer(limits: ServerLimitsInput | ServerLimits, listener?: Listener): Server {
  const server = listener ? createServer(serverOptions(limits), listener) : createServer(serverOptions(limits));
  return applyServerLimits(server, limits);
}

/** The limit fields of a larger object (e.g. the config's `server:` section). */
export function limitsOf(server: ServerLimits): ServerLimits {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections, maxRequestsPerSocket } = server;
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections, maxRequestsPerSocket };
}
