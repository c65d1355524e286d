/**
 * Offline routing: `switchyard classify --in prompts.jsonl` runs each line
 * through the router (no upstream is called, no sidecar polled) and prints
 * one decision per line, so routing can be judged on a prompt set. Every
 * line carries a top-level `score`: what the router ranks requests by
 * (higher = more need of the stronger tier), to which `scores.thresholds`
 * apply: the complexity score, or with a learned router (`--model FILE` or
 * `routing.learned`) 1 − p(ok) of its tier, the prompts embedded by the
 * configured embedder.
 *
 * Input lines are JSON objects: `{"prompt": "..."}` (one user turn), or an
 * OpenAI chat body (`{"messages": [...], "tools": [...]}`); optional `model`
 * (default `switchyard/auto`), `id`, `tenant`, `budget`, `max_latency_ms`.
 * Other fields (labels) are ignored; `id` is echoed.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { questionText } from '../cache/key.js';
import { routingLearnedSchema } from '../config/routing-learned.js';
import type { SwitchyardConfig } from '../config/schema.js';
import { createEmbedder, type Embedder } from '../embedding/index.js';
import { SwitchyardError, toSwitchyardError } from '../errors.js';
import { parseOpenAIChat } from '../protocol/openai.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import { UpstreamRegistry } from '../upstream/registry.js';
import { AUTO_MODEL } from '../routing/policy.js';
import { Router, SLA_HEADER } from '../routing/router.js';

/** One line of `classify` output. */
export interface ClassifyResult {
  line: number;
  id?: string;
  /** What the router ranks by (higher = more need of the stronger tier); `scores.thresholds` apply to it. */
  score?: number;
  tier?: string;
  model?: string;
  upstream?: string;
  candidates?: string[];
  reason?: string;
  localOnly?: boolean;
  signals?: {
    complexity: number;
    task: string;
    taskConfidence: number;
    taskBy: string;
    tokens: number;
    sensitive: string[];
    rules: string[];
    tools: boolean;
    depth: number;
  };
  scores?: {
    complexity: number;
    thresholds: number[];
    /** With a learned router: the estimates behind `score` and the tier choice. */
    learned?: { tier: string; p: number; prior: number; neighbours: number; target: number }[];
  };
  error?: { code: string; message: string };
}

interface InputLine {
  prompt?: unknown;
  messages?: unknown;
  model?: unknown;
  id?: unknown;
  tenant?: unknown;
  budget?: unknown;
  max_latency_ms?: unknown;
}

function toRequest(o: InputLine): CanonicalRequest {
  const model = typeof o.model === 'string' ? o.model : AUTO_MODEL;
  if (typeof o.prompt === 'string') {
    return { operation: 'chat', protocol: 'openai', model, messages: [{ role: 'user', content: o.prompt }], stream: false, extra: {} };
  }
  return parseOpenAIChat({ ...(o as Record<string, unknown>), model });
}

/**
 * Classifies one parsed input line.
 *
 * @example
 * classifyOne(router, { prompt: 'hi' }, 1).tier; // 'LOW'
 */
export function classifyOne(router: Router, o: InputLine, line: number, embedding?: Float32Array): ClassifyResult {
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : undefined;
  try {
    const req = toRequest(o);
    const d = router.route({
      req,
      ...(embedding ? { embedding } : {}),
      id: id ?? `line-${line}`,
      ...(typeof o.tenant === 'string' ? { tenant: o.tenant } : {}),
      ...(o.budget === 'soft' || o.budget === 'ok' ? { budget: o.budget } : {}),
      ...(typeof o.max_latency_ms === 'number' ? { headers: { [SLA_HEADER]: String(o.max_latency_ms) } } : {}),
    });
    const s = d.signals ?? router.signals({ req, ...(embedding ? { embedding } : {}) });
    const first = d.candidates[0];
    const thresholds = d.thresholds ?? router.thresholdsFor(s.task.type);
    let score = round(s.complexity);
    let scoreThresholds = thresholds;
    const l = router.learnedRouter;
    const estimates = d.learned?.estimates.map((e) => ({ tier: e.tier, p: round(e.p), prior: round(e.prior), neighbours: e.neighbours, target: e.target })) ?? [];
    if (l) {
      const step = l.scoreStep();
      const e = l.estimate(step, { embedding, complexity: s.complexity, tokens: s.tokens, features: s.features, tenant: typeof o.tenant === 'string' ? o.tenant : undefined }, thresholds[step]);
      score = round(1 - e.p);
      scoreThresholds = [round(1 - e.target)];
      if (!estimates.some((x) => x.tier === e.tier)) estimates.push({ tier: e.tier, p: round(e.p), prior: round(e.prior), neighbours: e.neighbours, target: e.target });
    }
    return {
      line,
      ...(id !== undefined ? { id } : {}),
      score,
      ...(d.tier ? { tier: d.tier } : {}),
      ...(first ? { model: first.model.name, upstream: first.upstream.name } : {}),
      candidates: d.candidates.map((c) => c.model.name),
      reason: d.reason,
      ...(d.localOnly ? { localOnly: true } : {}),
      signals: {
        complexity: round(s.complexity),
        task: s.task.type,
        taskConfidence: round(s.task.confidence),
        taskBy: s.task.by,
        tokens: s.tokens,
        sensitive: s.sensitive,
        rules: s.rules,
        tools: s.tools,
        depth: s.depth,
      },
      scores: { complexity: round(s.complexity), thresholds: scoreThresholds, ...(l ? { learned: estimates } : {}) },
    };
  } catch (e) {
    const err = toSwitchyardError(e);
    return { line, ...(id !== undefined ? { id } : {}), error: { code: err.code, message: err.message } };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** Options of {@link classifyStream}. */
export interface ClassifyOptions {
  /** A model file from `switchyard route-fit`: turns on the learned router (`routing.learned.model`). */
  model?: string;
  env?: NodeJS.ProcessEnv;
  /** The embedder for a learned router (default: the config's `cache.semantic.embedding`). */
  embedder?: Embedder;
}

/** The config with `routing.learned.model` set to `model` (learned routing on). */
export function withModel(config: SwitchyardConfig, model: string): SwitchyardConfig {
  if (!config.routing) throw new SwitchyardError('invalid_request', 'classify --model needs a `routing` section in the config (a ladder whose tiers the model routes between)');
  const learned = routingLearnedSchema.parse({ ...(config.routing.learned ?? {}), enabled: true, model });
  return { ...config, routing: { ...config.routing, learned } };
}

const BATCH = 64;

/**
 * Classifies a JSON-lines stream, writing one JSON decision per input line.
 * With a learned router, lines are embedded in batches first. Returns the
 * number of lines read.
 *
 * @example
 * await classifyStream(config, createReadStream('prompts.jsonl'), (s) => process.stdout.write(s), { model: 'router-model.json' });
 */
export async function classifyStream(config: SwitchyardConfig, input: Readable, write: (s: string) => void, opts: ClassifyOptions = {}): Promise<number> {
  const cfg = opts.model ? withModel(config, opts.model) : config;
  const reg = new UpstreamRegistry(cfg, opts.env ?? process.env);
  const router = new Router(cfg, reg, { pollers: false });
  const learned = router.learnedRouter !== undefined;
  const embedder = learned ? (opts.embedder ?? createEmbedder(cfg.cache.semantic.embedding)) : undefined;
  const own = learned && !opts.embedder;
  router.setEmbedderId(embedder?.id);
  const model = router.learnedRouter?.modelInUse;
  let n = 0;
  let pending: { line: number; o: InputLine; text: string | undefined }[] = [];
  const flush = async () => {
    const texts = pending.flatMap((p) => (p.text !== undefined ? [p.text] : []));
    const vecs = embedder && texts.length > 0 ? await embedder.embed(texts) : [];
    let j = 0;
    for (const p of pending) write(`${JSON.stringify(classifyOne(router, p.o, p.line, p.text !== undefined ? vecs[j++] : undefined))}\n`);
    pending = [];
  };
  try {
    if (embedder) {
      await embedder.ready();
      if (model && model.embedder !== embedder.id) {
        throw new SwitchyardError('invalid_request', `the model was fitted on ${model.embedder} embeddings but the config embeds with ${embedder.id} (cache.semantic.embedding)`);
      }
    }
    await router.ready;
    // Every line is scored through the built graphs, whatever the machine's speed (an exact scan can differ in a neighbour).
    router.learnedRouter?.finishNow();
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      n++;
      if (text.trim() === '') continue;
      let o: InputLine;
      try {
        o = JSON.parse(text) as InputLine;
        if (typeof o !== 'object' || o === null) throw new Error('not an object');
      } catch (e) {
        if (pending.length > 0) await flush();
        write(`${JSON.stringify({ line: n, error: { code: 'invalid_json', message: `line ${n}: ${(e as Error).message}` } })}\n`);
        continue;
      }
      if (!embedder) {
        write(`${JSON.stringify(classifyOne(router, o, n))}\n`);
        continue;
      }
      let q: string | undefined;
      try {
        q = questionText(toRequest(o));
      } catch {
        q = undefined; // classifyOne reports the bad request
      }
      pending.push({ line: n, o, text: q });
      if (pending.length >= BATCH) await flush();
    }
    if (pending.length > 0) await flush();
  } finally {
    await router.close();
    await reg.close();
    if (own) await embedder?.close?.();
  }
  return n;
}

/** Opens `--in` (a path, or `-` for stdin). */
export function openInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path, 'utf8');
}
