/**
 * Preload (`node --import ./bench/lib/loopback-only.mjs app.js`) that keeps a
 * benchmarked peer on this machine:
 * - a server that listens without a host (Portkey's `serve({ port })` does)
 *   listens on 127.0.0.1 instead of every interface;
 * - any outbound TCP/TLS connection to a host that is not loopback is refused
 *   before DNS or connect, and reported on stderr as `[loopback-only] blocked …`
 *   (the bench fails the run if such a line appears).
 *
 * Plain JavaScript on purpose: the measured process runs on bare `node`, with
 * no TypeScript loader in its memory or start-up.
 */
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
const isLoopback = (host) => LOOPBACK.has(host) || /^127\./.test(host);

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    if (first.path === undefined && first.fd === undefined && first.handle === undefined && !first.host) {
      args[0] = { ...first, host: '127.0.0.1' };
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (args.length < 2 || args[1] === undefined || args[1] === null) args[1] = '127.0.0.1';
    else if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect() passes [options, cb] already normalized as its first argument.
  const a0 = Array.isArray(args[0]) ? args[0][0] : args[0];
  const opts = typeof a0 === 'object' && a0 !== null ? a0 : { port: a0, host: typeof args[1] === 'string' ? args[1] : undefined };
  if (opts.path === undefined) {
    const host = opts.host ?? 'localhost';
    if (!isLoopback(host)) {
      const msg = `[loopback-only] blocked outbound connection to ${host}:${opts.port}`;
      process.stderr.write(`${msg}\n`);
      process.nextTick(() => this.destroy(new Error(msg)));
      return this;
    }
  }
  return connect.apply(this, args);
};
