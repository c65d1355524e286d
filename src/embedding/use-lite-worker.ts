/**
 * Entry of the embedding worker thread (see `worker.ts`): loads USE Lite off
 * the main event loop, then answers `embed` messages one after another. Each
 * vector goes back in its own ArrayBuffer, transferred, not copied.
 *
 * Messages in:  `{ type: 'embed', id, texts }`.
 * Messages out: `{ type: 'ready', dim }` once the model is loaded, or `{ type: 'fatal', message }`
 * when it cannot be; then `{ type: 'result', id, vectors }` or `{ type: 'error', id, message }` per call.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UseLiteEmbedder, type UseLiteOptions } from './use-lite.js';
import type { WorkerRequest, WorkerReply } from './worker.js';

const port = parentPort;
if (port === null) throw new Error('use-lite-worker: must run as a worker thread');

const embedder = new UseLiteEmbedder((workerData as UseLiteOptions | undefined) ?? {});
const send = (m: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

embedder.ready().then(
  () => send({ type: 'ready', dim: embedder.dim }),
  (err: unknown) => send({ type: 'fatal', message: err instanceof Error ? err.message : String(err) }),
);

port.on('message', (m: WorkerRequest) => {
  if (m.type !== 'embed') return;
  embedder.embed(m.texts).then(
    (vectors) => {
      // A vector sharing its buffer with anything else is copied once, so a transfer never detaches more than it.
      const own = vectors.map((v) => (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice()));
      send({ type: 'result', id: m.id, vectors: own }, own.map((v) => v.buffer as ArrayBuffer));
    },
    (err: unknown) => send({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) }),
  );
});
