/**
 * The live decision stream: `GET /switchyard/events` as Server-Sent Events,
 * one `decision` event per record, serialized once for every client. A
 * client that cannot keep up (more than `maxBuffered` bytes unsent) misses
 * events rather than growing the server's memory; misses are counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionRecord } from './events.js';

const KEEPALIVE_MS = 15_000;

/**
 * @example
 * const hub = new LiveHub();
 * sy.events.on('decision', (r) => hub.publish(r, ++seq));
 * server.on('request', (req, res) => req.url === '/switchyard/events' && hub.attach(req, res));
 */
export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onDrop: () => void = () => undefined,
    private readonly maxBuffered = 1 << 20,
  ) {}

  /** Connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Starts streaming to a client until it disconnects. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n: switchyard decisions\n\n');
    this.clients.add(res);
    const drop = () => {
      this.clients.delete(res);
      if (this.clients.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
    req.on('close', drop);
    res.on('close', drop);
    this.timer ??= setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, KEEPALIVE_MS).unref();
  }

  /** Sends record number `seq` to every client (nothing is serialized when none is connected). */
  publish(rec: DecisionRecord, seq: number, json?: string): void {
    if (this.clients.size === 0) return;
    const frame = `id: ${seq}\nevent: decision\ndata: ${json ?? JSON.stringify(rec)}\n\n`;
    for (const c of this.clients) {
      if (c.writableLength > this.maxBuffered) this.onDrop();
      else c.write(frame);
    }
  }

  /** Ends every stream. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
