/**
 * A fast, fixed-answer OpenAI-compatible upstream for benchmarks: the same
 * answer size for every request, streamed as a fixed number of chunks with an
 * optional delay between them (a realistic token rate).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface BenchUpstreamOptions {
  /** Streamed chunks per answer. */
  chunks?: number;
  /** Delay between chunks (0 = as fast as possible). */
  chunkDelayMs?: number;
  /** Characters of answer text. */
  answerChars?: number;
}

export interface BenchUpstream {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startBenchUpstream(o: BenchUpstreamOptions = {}): Promise<BenchUpstream> {
  const chunks = o.chunks ?? 20;
  const answer = 'x'.repeat(o.answerChars ?? 400);
  const piece = answer.slice(0, Math.ceil(answer.length / chunks));
  const json = JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: 100, total_tokens: 120 },
  });
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench-model', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  const body = chunk(piece);
  const tail =
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench-model', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench-model', choices: [], usage: { prompt_tokens: 20, completion_tokens: 100, total_tokens: 120 } })}\n\n` +
    'data: [DONE]\n\n';

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let stream = false;
      try {
        stream = (JSON.parse(Buffer.concat(parts).toString()) as { stream?: boolean }).stream === true;
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
        res.end(json);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const send = () => {
        if (i < chunks) {
          res.write(body);
          i++;
          if (o.chunkDelayMs) setTimeout(send, o.chunkDelayMs);
          else setImmediate(send);
        } else res.end(tail);
      };
      send();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Runs the bench upstream as its own process: `tsx bench/lib/fake-upstream.ts PORT [chunkDelayMs]`. */
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const delay = Number(process.argv[3] ?? 0);
  const up = await startBenchUpstream({ chunkDelayMs: delay });
  process.stdout.write(`${up.url}\n`);
}
