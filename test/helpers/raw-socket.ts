/** A raw TCP client for tests of HTTP servers against hostile clients (slow loris, ignored keep-alive). */
import { connect, type Socket } from 'node:net';

export interface RawClient {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves when the socket closes (by either side). */
  closed: Promise<void>;
  connected: Promise<void>;
}

export function rawClient(port: number): RawClient {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (data += d));
  socket.on('error', () => undefined); // a reset counts as closed
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => data, closed, connected };
}

/** Writes `text` one byte at a time, `everyMs` apart, until the socket closes or the text runs out. */
export function trickle(c: RawClient, text: string, everyMs: number): { sent(): number; stop(): void } {
  let i = 0;
  const timer = setInterval(() => {
    if (c.socket.destroyed || i >= text.length) return clearInterval(timer);
    c.socket.write(text[i++]!);
  }, everyMs);
  void c.closed.then(() => clearInterval(timer));
  return { sent: () => i, stop: () => clearInterval(timer) };
}

/** Resolves once `text` appears in what the server sent (or rejects when the socket closes first). */
export function waitFor(c: RawClient, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (c.received().includes(text)) {
        c.socket.off('data', check);
        resolve();
      }
    };
    c.socket.on('data', check);
    void c.closed.then(() => (c.received().includes(text) ? resolve() : reject(new Error(`closed before "${text}"; got: ${c.received()}`))));
    check();
  });
}

