/**
 * The soak benchmark's upstream: an OpenAI-compatible fake under two path
 * prefixes, `/primary/v1` (misbehaves on a fixed share of requests) and
 * `/backup/v1` (always answers). Answers depend on the question, so cached
 * entries differ; streams come as 10 chunks a few ms apart.
 *
 * Faults of the primary, by request number modulo 100: 0–2 a 500, 3 a TCP
 * reset before any byte, 4–5 a stream cut after 3 chunks (a 502 for a
 * non-streaming request).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SoakUpstream {
  /** Base URLs including `/v1`. */
  primary: string;
  backup: string;
  server: Server;
  counts: { requests: number; faults: number };
  close(): Promise<void>;
}

const CHUNKS = 10;

function lastUser(body: unknown): string {
  const messages = (body as { messages?: { role?: string; content?: unknown }[] }).messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user' && typeof messages[i]?.content === 'string') return messages[i]!.content as string;
  return '';
}

export async function startSoakUpstream(o: { chunkDelayMs?: number } = {}): Promise<SoakUpstream> {
  const chunkDelayMs = o.chunkDelayMs ?? 5;
  const counts = { requests: 0, faults: 0 };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: { stream?: boolean; model?: string };
      try {
        body = JSON.parse(Buffer.concat(parts).toString()) as typeof body;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const n = counts.requests++;
      const primary = req.url?.startsWith('/primary/') === true;
      const fault = primary ? n % 100 : 99;
      const stream = body.stream === true;
      if (fault <= 2 || (fault <= 5 && !stream && fault >= 4)) {
        counts.faults++;
        const status = fault <= 2 ? 500 : 502;
        const text = JSON.stringify({ error: { message: 'soak fault', type: 'server_error', code: null } });
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
        return;
      }
      if (fault === 3) {
        counts.faults++;
        req.socket.destroy();
        return;
      }
      const q = lastUser(body).slice(-120);
      const answer = `Answer to "${q}": ${'lorem ipsum dolor sit amet '.repeat(8)}`;
      const model = body.model ?? 'soak-model';
      const usage = { prompt_tokens: 50, completion_tokens: 80, total_tokens: 130 };
      if (!stream) {
        const text = JSON.stringify({ id: `chatcmpl-${n}`, object: 'chat.completion', created: 1700000000, model, choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
        return;
      }
      const cutAfter = fault === 4 || fault === 5 ? 3 : Infinity;
      if (cutAfter !== Infinity) counts.faults++;
      const size = Math.ceil(answer.length / CHUNKS);
      const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const send = () => {
        if (res.destroyed) return;
        if (i >= cutAfter) {
          req.socket.destroy();
          return;
        }
        if (i < CHUNKS) {
          res.write(frame({ id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: 1700000000, model, choices: [{ index: 0, delta: { content: answer.slice(i * size, (i + 1) * size) }, finish_reason: null }] }));
          i++;
          setTimeout(send, chunkDelayMs);
          return;
        }
        res.end(
          frame({ id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: 1700000000, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
            frame({ id: `chatcmpl-${n}`, object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage }) +
            'data: [DONE]\n\n',
        );
      };
      send();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    primary: `http://127.0.0.1:${port}/primary/v1`,
    backup: `http://127.0.0.1:${port}/backup/v1`,
    server,
    counts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
