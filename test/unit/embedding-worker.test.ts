import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createResponseCache } from '../../src/cache/index.js';
import { cacheSchema } from '../../src/config/cache.js';
import { BatchingEmbedder, createEmbedder, UseLiteEmbedder, useLiteWorkerEntry, WorkerEmbedder } from '../../src/embedding/index.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';

const texts = (n: number, tag = 'q') =>
  Array.from({ length: n }, (_, i) => `${tag} ${i}: how should I size the connection pool of a service that calls a slow database ${i % 7} times per request?`);

describe('USE Lite on a worker thread', () => {
  const embedder = new WorkerEmbedder({ id: 'use-lite', dim: 512, entry: useLiteWorkerEntry(), minBackoffMs: 50 });
  const inThread = new UseLiteEmbedder();

  beforeAll(async () => {
    await Promise.all([embedder.ready(), inThread.ready()]);
  }, 120_000);

  afterAll(async () => {
    await embedder.close();
  });

  it('is what createEmbedder builds for use-lite by default (worker: false keeps it in-thread)', async () => {
    const byDefault = createEmbedder({ kind: 'use-lite' });
    expect(byDefault).toBeInstanceOf(BatchingEmbedder);
    expect((byDefault as unknown as { inner: unknown }).inner).toBeInstanceOf(WorkerEmbedder);
    const off = createEmbedder({ kind: 'use-lite', worker: false, batch: { maxBatch: 1 } });
    expect(off).toBeInstanceOf(UseLiteEmbedder);
    await byDefault.close?.();
  });

  it('gives the in-thread vectors, each in its own transferred buffer', async () => {
    const batch = ['How do I learn Python?', '', 'What is the capital of Australia?'];
    const [fromWorker, local] = await Promise.all([embedder.embed(batch), inThread.embed(batch)]);
    expect(fromWorker).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(fromWorker[i]).toBeInstanceOf(Float32Array);
      expect(fromWorker[i]!.byteLength).toBe(fromWorker[i]!.buffer.byteLength);
      for (let j = 0; j < 512; j++) expect(fromWorker[i]![j]).toBeCloseTo(local[i]![j]!, 5);
    }
    expect(new Set(fromWorker.map((v) => v.buffer)).size).toBe(3);
  });

  it('keeps the event loop serving timers and HTTP while a big batch embeds', async () => {
    const server = http.createServer((_req, res) => res.end('pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      let ticks = 0;
      let embedding = true;
      const tick = () => {
        ticks++;
        if (embedding) setTimeout(tick, 1);
      };
      let answeredDuringEmbed = 0;
      const ping = (): void => {
        http
          .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
            res.resume();
            res.on('end', () => {
              if (embedding) answeredDuringEmbed++;
              if (embedding) ping();
            });
          })
          .on('error', () => undefined); // the server closes after the embed
      };
      loop.enable();
      const work = embedder.embed(texts(96)); // one call: the worker embeds it in one go
      ticks = 0;
      tick();
      ping();
      const vectors = await work;
      embedding = false;
      loop.disable();
      expect(vectors).toHaveLength(96);
      // In-thread, the loop gets no turn until the batch is done: ~1 tick and no HTTP answer.
      expect(ticks).toBeGreaterThan(20);
      expect(answeredDuringEmbed).toBeGreaterThan(2);
      console.log(`worker: ${ticks} timer ticks and ${answeredDuringEmbed} HTTP answers during one 96-text embed; loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms`);
    } finally {
      server.close();
    }
  }, 120_000);

  it('a worker killed mid-batch fails the calls in flight at once, fails fast while down, and comes back', async () => {
    const crashesBefore = embedder.crashes;
    const restartsBefore = embedder.restarts;
    const inFlight = embedder.embed(texts(64, 'killed'));
    const second = embedder.embed(['a call queued behind it']);
    await embedder.worker!.terminate();
    await expect(inFlight).rejects.toThrow(/embedding worker exited .* 65 texts in flight/);
    await expect(second).rejects.toThrow(/exited/);
    expect(embedder.crashes).toBe(crashesBefore + 1);
    // While the worker restarts, a call is refused at once rather than waiting for the model to load.
    if (embedder.worker === undefined) await expect(embedder.embed(['during the back-off'])).rejects.toThrow(/restarting/);
    // Restarted in the background, with no call needed.
    await vi.waitFor(() => expect(embedder.worker).toBeDefined(), { timeout: 60_000, interval: 20 });
    expect(embedder.restarts).toBe(restartsBefore + 1);
    const [v] = await embedder.embed(['How do I learn Python?']);
    expect(v).toHaveLength(512);
  }, 120_000);

  it('a cache lookup during a crash is a counted miss, never a hang', async () => {
    const cache = createResponseCache(cacheSchema.parse({ semantic: { threshold: 0.5 } }), {
      embedder: new BatchingEmbedder(embedder, { maxBatch: 32, maxWaitMs: 0 }),
    });
    const req: CanonicalRequest = {
      operation: 'chat',
      protocol: 'openai',
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Why does my pool run out of connections?' }],
      stream: false,
      extra: {},
    };
    const lookup = cache.lookup({ req, tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
    await embedder.worker?.terminate();
    const r = await lookup;
    expect(r.result).toBe('miss');
    expect(cache.stats().errors).toBeGreaterThanOrEqual(1);
    await cache.close();
    await vi.waitFor(() => expect(embedder.worker).toBeDefined(), { timeout: 60_000, interval: 20 });
  }, 120_000);
});

describe('WorkerEmbedder start failures and shutdown', () => {
  const missing = new URL('./no-such-embedding-worker.js', useLiteWorkerEntry());

  it('rejects ready() with a clear error when the worker cannot start', async () => {
    const e = new WorkerEmbedder({ id: 'use-lite', dim: 512, entry: missing });
    await expect(e.ready()).rejects.toThrow(/use-lite: the embedding worker failed to start .*no-such-embedding-worker/);
    await expect(e.embed(['x'])).rejects.toThrow(/failed to start/);
    await e.close();
  });

  it('falls back to the in-thread model only when configured', async () => {
    const e = new WorkerEmbedder({ id: 'use-lite', dim: 512, entry: missing, fallback: () => new UseLiteEmbedder() });
    await e.ready();
    expect(e.mode).toBe('in-thread');
    const [v] = await e.embed(['How do I learn Python?']);
    expect(v).toHaveLength(512);
    await e.close();
  }, 120_000);

  it('an idle worker does not keep the process alive, and close() ends it', () => {
    // A real process: embeds once, never closes; it must still exit by itself.
    const script = `
      import { createEmbedder } from './src/embedding/index.ts';
      const e = createEmbedder({ kind: 'use-lite' });
      const [v] = await e.embed(['hello there']);
      console.log('dim', v.length);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('dim 512');
    expect(r.status).toBe(0);
  }, 130_000);
});
