/**
 * Embeddings of an evaluation set, cached in a file so a second run does not
 * embed thousands of prompts again (USE-Lite manages ~80 texts/s on a busy
 * machine). The file holds records of `[16-byte text digest][dim × float32]`
 * after a one-line JSON header naming the embedder; texts not in the file are
 * embedded in batches and appended. Offline only: never on the request path.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Embedder } from '../embedding/embedder.js';

const DIGEST = 16;

/** Options of {@link embedWithCache}. */
export interface EmbedCacheOptions {
  /** Cache file (created with its folder when missing). */
  file: string;
  /** Texts per `embed` call (default 64). */
  batch?: number;
  /** Progress, e.g. to stderr. */
  progress?: (done: number, total: number) => void;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, DIGEST * 2);
}

function readCache(file: string, embedderId: string): { dim: number; vectors: Map<string, Float32Array> } | undefined {
  if (!existsSync(file)) return undefined;
  const buf = readFileSync(file);
  const nl = buf.indexOf(10);
  if (nl < 0) return undefined;
  let header: { embedder?: unknown; dim?: unknown };
  try {
    header = JSON.parse(buf.subarray(0, nl).toString('utf8')) as typeof header;
  } catch {
    return undefined;
  }
  if (header.embedder !== embedderId || typeof header.dim !== 'number') return undefined;
  const dim = header.dim;
  const rec = DIGEST + dim * 4;
  const vectors = new Map<string, Float32Array>();
  for (let o = nl + 1; o + rec <= buf.length; o += rec) {
    const key = buf.subarray(o, o + DIGEST).toString('hex');
    const v = new Float32Array(dim);
    for (let i = 0; i < dim; i++) v[i] = buf.readFloatLE(o + DIGEST + i * 4);
    vectors.set(key, v);
  }
  return { dim, vectors };
}

function writeCache(file: string, embedderId: string, dim: number, vectors: Map<string, Float32Array>): void {
  mkdirSync(dirname(file), { recursive: true });
  const head = Buffer.from(`${JSON.stringify({ embedder: embedderId, dim })}\n`);
  const rec = DIGEST + dim * 4;
  const body = Buffer.alloc(vectors.size * rec);
  let o = 0;
  for (const [key, v] of vectors) {
    body.write(key, o, 'hex');
    for (let i = 0; i < dim; i++) body.writeFloatLE(v[i]!, o + DIGEST + i * 4);
    o += rec;
  }
  writeFileSync(file, Buffer.concat([head, body]));
}

/**
 * One unit vector per text, in order, embedding only what the cache file
 * lacks.
 *
 * @example
 * const vecs = await embedWithCache(new UseLiteEmbedder(), prompts, { file: 'bench/results/routing-dev.use-lite.emb' });
 */
export async function embedWithCache(embedder: Embedder, texts: readonly string[], opts: EmbedCacheOptions): Promise<Float32Array[]> {
  await embedder.ready();
  const cached = readCache(opts.file, embedder.id);
  const vectors = cached && cached.dim === embedder.dim ? cached.vectors : new Map<string, Float32Array>();
  const keys = texts.map(digest);
  const missing = [...new Set(keys.map((k, i) => (vectors.has(k) ? -1 : i)).filter((i) => i >= 0).map((i) => texts[i]!))];
  const batch = opts.batch ?? 64;
  for (let i = 0; i < missing.length; i += batch) {
    const part = missing.slice(i, i + batch);
    const out = await embedder.embed(part);
    part.forEach((t, j) => vectors.set(digest(t), out[j]!));
    opts.progress?.(Math.min(i + batch, missing.length), missing.length);
    // Save as we go: an interrupted run keeps what it computed.
    if ((i / batch) % 10 === 9 || i + batch >= missing.length) writeCache(opts.file, embedder.id, embedder.dim, vectors);
  }
  return keys.map((k) => vectors.get(k)!);
}
