/**
 * Snapshot file of the in-process vector store.
 *
 * `<path>` is NDJSON: a header line (format, dim, embedder, partitions),
 * then one line per entry, least recently used first (partition, label,
 * record; small partitions carry the vector inline as base64 Float32).
 * Each HNSW partition's graph is written beside it as
 * `<path>.<generation>.<n>.hnsw` (hnswlib `writeIndex`). The NDJSON file is
 * written to a temporary name, fsynced and renamed over `<path>` last: that
 * rename is the commit point, after which the previous generation's graph
 * files are removed. A crash at any moment leaves one whole snapshot.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { VectorRecord } from '../types.js';
import { FlatIndex } from './flat.js';
import { HnswIndex, type HnswParams } from './hnsw.js';

const FORMAT = 'switchyard-vector-snapshot';

/** A partition to write. */
export interface SnapshotPartition {
  id: string;
  nextLabel: number;
  flat?: FlatIndex;
  hnsw?: HnswIndex;
}

/** What {@link writeSnapshot} writes. */
export interface SnapshotInput {
  dim: number;
  embedderId?: string;
  parts: SnapshotPartition[];
  /** Entries, least recently used first. */
  ordered: Array<{ partition: string; label: number; record: VectorRecord }>;
}

interface Header {
  format: typeof FORMAT;
  version: 1;
  dim: number;
  embedderId?: string;
  savedAt: number;
  partitions: Array<{ id: string; nextLabel: number; file?: string }>;
}

interface Line {
  p: number;
  l: number;
  m: string;
  t: string;
  /** Verification signature, when stored. */
  s?: string;
  r: VectorRecord['response'];
  e: number;
  v?: string;
}

function vectorToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function base64ToVector(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/**
 * Writes a snapshot atomically (see the file comment). The graphs are written
 * before the first `await`, so they match `ordered`; entries of small
 * partitions removed while the file is written are skipped.
 */
export async function writeSnapshot(path: string, snap: SnapshotInput): Promise<void> {
  const dir = dirname(path);
  const base = basename(path);
  const gen = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const partIndex = new Map<string, number>();
  const header: Header = { format: FORMAT, version: 1, dim: snap.dim, embedderId: snap.embedderId, savedAt: Date.now(), partitions: [] };
  snap.parts.forEach((p, i) => {
    partIndex.set(p.id, i);
    let file: string | undefined;
    if (p.hnsw !== undefined) {
      file = `${base}.${gen}.${i}.hnsw`;
      p.hnsw.write(join(dir, file));
    }
    header.partitions.push({ id: p.id, nextLabel: p.nextLabel, file });
  });
  const tmp = join(dir, `.${base}.${gen}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    let buf = `${JSON.stringify(header)}\n`;
    for (const { partition, label, record } of snap.ordered) {
      const pi = partIndex.get(partition)!;
      const line: Line = { p: pi, l: label, m: record.model, t: record.text, ...(record.sig !== undefined ? { s: record.sig } : {}), r: record.response, e: record.expiresAt };
      const flat = snap.parts[pi]!.flat;
      if (flat !== undefined) {
        // Entries removed while the file is written are left out.
        const vec = flat.vector(label);
        if (vec === undefined) continue;
        line.v = vectorToBase64(vec);
      }
      buf += `${JSON.stringify(line)}\n`;
      if (buf.length > 1 << 20) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const stale = (await readdir(dir)).filter((f) => f.startsWith(`${base}.`) && f.endsWith('.hnsw') && !f.startsWith(`${base}.${gen}.`));
  await Promise.all(stale.map((f) => rm(join(dir, f), { force: true })));
}

/** Options of {@link readSnapshot}. */
export interface ReadSnapshotOptions {
  embedderId?: string;
  /** Expected vector length, when already known. */
  dim?: number;
  hnsw?: HnswParams;
  /** Entries expiring at or before this time (ms) are dropped. */
  now: number;
}

/** A restored snapshot. */
export interface RestoredSnapshot {
  dim: number;
  parts: Array<{ id: string; nextLabel: number; index: FlatIndex | HnswIndex }>;
  ordered: Array<{ partition: string; label: number; record: VectorRecord }>;
}

/** Reads a snapshot; `{ skipped }` with a reason when it cannot or should not be used. */
export async function readSnapshot(path: string, opts: ReadSnapshotOptions): Promise<RestoredSnapshot | { skipped: string }> {
  try {
    await access(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { skipped: `no snapshot at ${path}` };
    throw err;
  }
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let header: Header | undefined;
  const ordered: RestoredSnapshot['ordered'] = [];
  const flatVectors = new Map<string, Float32Array>();
  try {
    for await (const text of lines) {
      if (text === '') continue;
      if (header === undefined) {
        header = JSON.parse(text) as Header;
        if (header.format !== FORMAT || header.version !== 1) return { skipped: `${path} is not a vector snapshot (version 1)` };
        if (opts.embedderId !== undefined && header.embedderId !== undefined && header.embedderId !== opts.embedderId) {
          return { skipped: `snapshot was made with embedder ${header.embedderId}, not ${opts.embedderId}` };
        }
        if (opts.dim !== undefined && header.dim !== opts.dim) return { skipped: `snapshot vectors have ${header.dim} dimensions, not ${opts.dim}` };
        continue;
      }
      const line = JSON.parse(text) as Line;
      if (line.e <= opts.now) continue;
      const partition = header.partitions[line.p]!.id;
      ordered.push({ partition, label: line.l, record: { partition, model: line.m, text: line.t, ...(typeof line.s === 'string' ? { sig: line.s } : {}), response: line.r, expiresAt: line.e } });
      if (line.v !== undefined) flatVectors.set(`${line.p}:${line.l}`, base64ToVector(line.v));
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  if (header === undefined) return { skipped: `${path} is empty` };
  const keep = new Map<string, Set<number>>();
  for (const o of ordered) {
    let set = keep.get(o.partition);
    if (set === undefined) keep.set(o.partition, (set = new Set()));
    set.add(o.label);
  }
  const dir = dirname(path);
  const parts: RestoredSnapshot['parts'] = [];
  header.partitions.forEach((p, i) => {
    const labels = keep.get(p.id);
    if (labels === undefined) return;
    let index: FlatIndex | HnswIndex;
    if (p.file !== undefined) {
      index = HnswIndex.read(join(dir, p.file), header!.dim, labels, opts.hnsw);
    } else {
      const flat = new FlatIndex(header!.dim, labels.size);
      for (const label of labels) flat.add(label, flatVectors.get(`${i}:${label}`)!);
      index = flat;
    }
    parts.push({ id: p.id, nextLabel: p.nextLabel, index });
  });
  return { dim: header.dim, parts, ordered };
}
