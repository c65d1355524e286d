/**
 * Offline routing: `switchyard classify --in prompts.jsonl` runs each line
 * through the router (no upstream is called, no sidecar polled) and prints
 * one decision per line, so routing can be judged on a prompt set.
 *
 * Input lines are JSON objects: `{"prompt": "..."}` (one user turn), or an
 * OpenAI chat body (`{"messages": [...], "tools": [...]}`); optional `model`
 * (default `switchyard/auto`), `id`, `tenant`, `budget`, `max_latency_ms`.
 * Other fields (labels) are ignored; `id` is echoed.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SwitchyardConfig } from '../config/schema.js';
import { toSwitchyardError } from '../errors.js';
import { parseOpenAIChat } from '../protocol/openai.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import { UpstreamRegistry } from '../upstream/registry.js';
import { AUTO_MODEL } from './policy.js';
import { Router, SLA_HEADER } from './router.js';

/** One line of `classify` output. */
export interface ClassifyResult {
  line: number;
  id?: string;
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
  scores?: { complexity: number; thresholds: number[] };
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
export function classifyOne(router: Router, o: InputLine, line: number): ClassifyResult {
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : undefined;
  try {
    const req = toRequest(o);
    const d = router.route({
      req,
      id: id ?? `line-${line}`,
      ...(typeof o.tenant === 'string' ? { tenant: o.tenant } : {}),
      ...(o.budget === 'soft' || o.budget === 'ok' ? { budget: o.budget } : {}),
      ...(typeof o.max_latency_ms === 'number' ? { headers: { [SLA_HEADER]: String(o.max_latency_ms) } } : {}),
    });
    const s = d.signals ?? router.signals({ req });
    const first = d.candidates[0];
    return {
      line,
      ...(id !== undefined ? { id } : {}),
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
      scores: { complexity: round(s.complexity), thresholds: d.thresholds ?? router.thresholdsFor(s.task.type) },
    };
  } catch (e) {
    const err = toSwitchyardError(e);
    return { line, ...(id !== undefined ? { id } : {}), error: { code: err.code, message: err.message } };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/**
 * Classifies a JSON-lines stream, writing one JSON decision per input line.
 * Returns the number of lines classified.
 *
 * @example
 * await classifyStream(config, createReadStream('prompts.jsonl'), (s) => process.stdout.write(s));
 */
export async function classifyStream(config: SwitchyardConfig, input: Readable, write: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const reg = new UpstreamRegistry(config, env);
  const router = new Router(config, reg, { pollers: false });
  let n = 0;
  try {
    await router.ready;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      n++;
      if (text.trim() === '') continue;
      let o: InputLine;
      try {
        o = JSON.parse(text) as InputLine;
        if (typeof o !== 'object' || o === null) throw new Error('not an object');
      } catch (e) {
        write(`${JSON.stringify({ line: n, error: { code: 'invalid_json', message: `line ${n}: ${(e as Error).message}` } })}\n`);
        continue;
      }
      write(`${JSON.stringify(classifyOne(router, o, n))}\n`);
    }
  } finally {
    await router.close();
    await reg.close();
  }
  return n;
}

/** Opens `--in` (a path, or `-` for stdin). */
export function openInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path, 'utf8');
}
