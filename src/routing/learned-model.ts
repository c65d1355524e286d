/**
 * The model file of the outcome-trained router, written by
 * `switchyard route-fit` and read by the router (`routing.learned.model`)
 * and `switchyard classify --model`: a light prior over the existing signals
 * plus the labelled seed outcomes (embeddings quantised to int8) that the
 * neighbour estimate searches. JSON, so it can be inspected and diffed.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { COMPLEXITY_FEATURES } from './signals/complexity-features.js';

/** The format tag written in every model file. */
export const MODEL_FORMAT = 'switchyard-router/1';

/**
 * The prior: `p0 = sigmoid(intercept + complexity · logit(c) + length · ln(1 + tokens))`,
 * P(the cheaper tier is good enough) from the complexity score `c` and the
 * estimated prompt tokens alone.
 */
const headSchema = z
  .object({
    intercept: z.number(),
    complexity: z.number(),
    length: z.number(),
    /** Weights on the request embedding: base64 of `dim` float32. */
    embedding: z.string(),
    /** `w·embedding` averaged over the fitted requests: used in its place for a request without an embedding. */
    embeddingMean: z.number(),
    /** Weights on the complexity features (by name, raw units; see `signals/complexity-features.ts`); absent names weigh 0. */
    features: z.record(z.string(), z.number()).optional(),
    /** `features·f` averaged over the fitted requests: used in its place when a request's features are not given. */
    featuresMean: z.number().optional(),
  })
  .strict();

export const priorSchema = z
  .object({
    intercept: z.number(),
    complexity: z.number(),
    length: z.number(),
    /**
     * The probe: two logistic heads on the embedding plus the signals,
     * P(weak tier right) and P(strong tier right). When present the prior is
     * `1 − max(0, P(strong) − P(weak))`, and the signal-only fields above are
     * not used.
     */
    probe: z.object({ weak: headSchema, strong: headSchema }).strict().optional(),
  })
  .strict();
/** The prior as written in the file. */
export type PriorModelFile = z.infer<typeof priorSchema>;
/** One probe head, decoded: `sigmoid(intercept + complexity·logit(c) + length·ln(1 + tokens) + embedding·v + features·f)`. */
export interface ProbeHead {
  intercept: number;
  complexity: number;
  length: number;
  embedding: Float32Array;
  embeddingMean: number;
  /** Weights on the complexity features, in {@link COMPLEXITY_FEATURES} order (absent: none). */
  features?: Float64Array;
  featuresMean?: number;
}
/** The prior as used: probe weights decoded. */
export interface PriorModel {
  intercept: number;
  complexity: number;
  length: number;
  probe?: { weak: ProbeHead; strong: ProbeHead };
}

/** Neighbour-estimate settings a model was fitted with (config may override). */
export const knnSchema = z
  .object({
    neighbours: z.number().int().min(1).max(256),
    sharpness: z.number().positive(),
    priorWeight: z.number().min(0),
    minSimilarity: z.number().min(-1).max(1),
    /**
     * What the seed neighbours vote on. `ok` (default): their 0..1 score, shrunk toward the prior.
     * `gain` (needs the probe and `outcomes.gains`): their quality gain from the stronger tier
     * (strong right − weak right, −1..1), shrunk toward the probe's predicted gap
     * `P(strong) − P(weak)`; then `p0 = 1 − gap` (clamped to 0..1).
     */
    vote: z.enum(['ok', 'gain']).optional(),
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
    outcomes: z
      .object({
        scores: z.array(z.number().min(0).max(1)),
        vectors: z.string(),
        /** Per seed: strong right − weak right (−1, 0, 1), for `knn.vote: gain`. */
        gains: z.array(z.number().int().min(-1).max(1)).optional(),
      })
      .strict(),
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
  /** `gain`: strong right − weak right, when the labels had both sides (for `knn.vote: gain`). */
  seeds: { vector: Float32Array; score: number; gain?: number }[];
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
    prior: { intercept: m.prior.intercept, complexity: m.prior.complexity, length: m.prior.length, ...(m.prior.probe ? { probe: { weak: headFile(m.prior.probe.weak), strong: headFile(m.prior.probe.strong) } } : {}) },
    knn: m.knn,
    target: m.target,
    ...(m.center ? { center: Array.from(m.center, (x) => Number(x.toFixed(6))) } : {}),
    fit: m.fit,
    outcomes: {
      scores: m.seeds.map((s) => Number(s.score.toFixed(4))),
      vectors: Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64'),
      ...(m.seeds.length > 0 && m.seeds.every((s) => s.gain !== undefined) ? { gains: m.seeds.map((s) => s.gain!) } : {}),
    },
  };
}

function headFile(h: ProbeHead): z.infer<typeof headSchema> {
  const features = h.features ? Object.fromEntries(COMPLEXITY_FEATURES.flatMap((k, j) => (h.features![j] ? [[k, h.features![j]!]] : []))) : undefined;
  return { intercept: h.intercept, complexity: h.complexity, length: h.length, embedding: f32ToBase64(h.embedding), embeddingMean: h.embeddingMean, ...(features ? { features, featuresMean: h.featuresMean ?? 0 } : {}) };
}

function f32ToBase64(v: Float32Array): string {
  const le = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => le.writeFloatLE(x, i * 4));
  return le.toString('base64');
}

function base64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const v = new Float32Array(Math.floor(b.length / 4));
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return b.length % 4 === 0 ? v : new Float32Array(0);
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
  const gains = f.outcomes.gains;
  if (gains && gains.length !== f.outcomes.scores.length) throw new ModelFileError(`${source}: ${f.outcomes.scores.length} scores but ${gains.length} gains`);
  const seeds = f.outcomes.scores.map((score, i) => ({ vector: dequantize(codes.subarray(i * f.dim, (i + 1) * f.dim)), score, ...(gains ? { gain: gains[i]! } : {}) }));
  if (f.center && f.center.length !== f.dim) throw new ModelFileError(`${source}: center has ${f.center.length} dimensions, the model ${f.dim}`);
  const prior: PriorModel = { intercept: f.prior.intercept, complexity: f.prior.complexity, length: f.prior.length };
  if (f.prior.probe) {
    const head = (h: z.infer<typeof headSchema>, name: string): ProbeHead => {
      const w = base64ToF32(h.embedding);
      if (w.length !== f.dim || !w.every(Number.isFinite)) throw new ModelFileError(`${source}: prior.probe.${name}.embedding holds ${w.length} weights, the model has ${f.dim} dimensions`);
      const { features, ...rest } = h;
      if (features) {
        const unknown = Object.keys(features).find((k) => !(COMPLEXITY_FEATURES as readonly string[]).includes(k));
        if (unknown) throw new ModelFileError(`${source}: prior.probe.${name}.features names an unknown complexity feature '${unknown}'`);
      }
      return { ...rest, embedding: w, ...(features ? { features: Float64Array.from(COMPLEXITY_FEATURES, (k) => features[k] ?? 0) } : {}) };
    };
    prior.probe = { weak: head(f.prior.probe.weak, 'weak'), strong: head(f.prior.probe.strong, 'strong') };
  }
  if (f.knn.vote === 'gain' && (!prior.probe || !gains)) throw new ModelFileError(`${source}: knn.vote 'gain' needs prior.probe and outcomes.gains`);
  return { embedder: f.embedder, dim: f.dim, tier: f.tier, prior, knn: f.knn, target: f.target, ...(f.center ? { center: Float32Array.from(f.center) } : {}), fit: f.fit, seeds };
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
