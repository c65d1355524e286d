/**
 * The model file of the outcome-trained router, written by
 * `switchyard route-fit` and read by the router (`routing.learned.model`)
 * and `switchyard classify --model`: a light prior over the existing signals
 * plus the labelled seed outcomes (embeddings quantised to int8) that the
 * neighbour estimate searches. JSON, so it can be inspected and diffed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The format tag written in every model file. */
export const MODEL_FORMAT = 'switchyard-router/1';

/**
 * The prior: `p0 = sigmoid(intercept + complexity · logit(c) + length · ln(1 + tokens))`,
 * P(the cheaper tier is good enough) from the complexity score `c` and the
 * estimated prompt tokens alone.
 */
export const priorSchema = z.object({ intercept: z.number(), complexity: z.number(), length: z.number() }).strict();
export type PriorModel = z.infer<typeof priorSchema>;

/** Neighbour-estimate settings a model was fitted with (config may override). */
export const knnSchema = z
  .object({
    neighbours: z.number().int().min(1).max(256),
    sharpness: z.number().positive(),
    priorWeight: z.number().min(0),
    minSimilarity: z.number().min(-1).max(1),
  })
  .strict();
export type KnnSettings = z.infer<typeof knnSchema>;

const modelSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    /** Embedder id the vectors come from (`use-lite`); a router embedding with another model ignores the seed outcomes. */
    embedder: z.string().min(1),
    dim: z.number().int().positive(),
    /** The cheaper tier the labels' weak side stands for; null: the ladder's second-strongest tier. */
    tier: z.string().min(1).nullable(),
    prior: priorSchema,
    knn: knnSchema,
    /** Target p(ok) that reached 95% of all-strong quality on the labels, out of fold (a starting point for `routing.learned.target`). */
    target: z.number().min(0).max(1),
    /** Mean of the seed vectors: subtracted (then renormalised) before a seed search, so the format every labelled prompt shares does not make them all look alike. */
    center: z.array(z.number()).optional(),
    /** Where it came from, for people. */
    fit: z.record(z.string(), z.unknown()).default({}),
    /** Seed outcomes: `scores[i]` in 0..1 for vector i; `vectors` base64 of int8 values, `dim` per outcome, scaled by 1/127. */
    outcomes: z.object({ scores: z.array(z.number().min(0).max(1)), vectors: z.string() }).strict(),
  })
  .strict();

/** A model file as written. */
export type RouterModelFile = z.input<typeof modelSchema>;

/** A loaded model: the file's fields with the seed vectors decoded. */
export interface RouterModel {
  embedder: string;
  dim: number;
  tier: string | null;
  prior: PriorModel;
  knn: KnnSettings;
  target: number;
  /** Mean seed vector (see the file field). */
  center?: Float32Array;
  fit: Record<string, unknown>;
  seeds: { vector: Float32Array; score: number }[];
}

/**
 * `v − center`, unit length (into `out` when given): the seed search space.
 *
 * @example
 * const q = centered(embedding, model.center);
 */
export function centered(v: Float32Array, center: Float32Array, out = new Float32Array(v.length)): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]! - center[i]!;
    out[i] = x;
    norm += x * x;
  }
  const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < v.length; i++) out[i]! *= s;
  return out;
}

/** int8 codes of a unit vector (each component × 127, rounded). */
export function quantize(v: Float32Array): Int8Array {
  const q = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(v[i]! * 127)));
  return q;
}

/** A unit vector back from int8 codes (renormalised: rounding moves the length a little). */
export function dequantize(q: Int8Array): Float32Array {
  const v = new Float32Array(q.length);
  let norm = 0;
  for (let i = 0; i < q.length; i++) {
    v[i] = q[i]! / 127;
    norm += v[i]! * v[i]!;
  }
  const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < v.length; i++) v[i]! *= s;
  return v;
}

/**
 * Serialises a model (seed vectors quantised to int8).
 *
 * @example
 * writeFileSync('router-model.json', JSON.stringify(toModelFile(model)));
 */
export function toModelFile(m: RouterModel): RouterModelFile {
  const all = new Int8Array(m.seeds.length * m.dim);
  m.seeds.forEach((s, i) => all.set(quantize(s.vector), i * m.dim));
  return {
    format: MODEL_FORMAT,
    embedder: m.embedder,
    dim: m.dim,
    tier: m.tier,
    prior: m.prior,
    knn: m.knn,
    target: m.target,
    ...(m.center ? { center: Array.from(m.center, (x) => Number(x.toFixed(6))) } : {}),
    fit: m.fit,
    outcomes: { scores: m.seeds.map((s) => Number(s.score.toFixed(4))), vectors: Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64') },
  };
}

/** Thrown for an unreadable or invalid model file; the message names the file and what is wrong. */
export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
}

/**
 * Parses and validates a model file's JSON text.
 *
 * @example
 * const model = parseRouterModel(readFileSync('router-model.json', 'utf8'), 'router-model.json');
 */
export function parseRouterModel(text: string, source = 'model'): RouterModel {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${source}: not JSON (${(e as Error).message})`);
  }
  const r = modelSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new ModelFileError(`${source}: not a Switchyard router model (${first.path.join('.') || 'file'}: ${first.message}); write one with \`switchyard route-fit\``);
  }
  const f = r.data;
  const bytes = Buffer.from(f.outcomes.vectors, 'base64');
  if (bytes.length !== f.outcomes.scores.length * f.dim) {
    throw new ModelFileError(`${source}: ${f.outcomes.scores.length} scores but ${bytes.length / f.dim} vectors of ${f.dim} dimensions`);
  }
  const codes = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const seeds = f.outcomes.scores.map((score, i) => ({ vector: dequantize(codes.subarray(i * f.dim, (i + 1) * f.dim)), score }));
  if (f.center && f.center.length !== f.dim) throw new ModelFileError(`${source}: center has ${f.center.length} dimensions, the model ${f.dim}`);
  return { embedder: f.embedder, dim: f.dim, tier: f.tier, prior: f.prior, knn: f.knn, target: f.target, ...(f.center ? { center: Float32Array.from(f.center) } : {}), fit: f.fit, seeds };
}

/** Reads a model file. Throws {@link ModelFileError} with one clear line. */
export function readRouterModel(file: string): RouterModel {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(code === 'ENOENT' ? `${file}: no such model file` : `${file}: cannot read (${code ?? (e as Error).message})`);
  }
  return parseRouterModel(text, file);
}
