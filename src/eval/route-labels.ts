/**
 * The labelled file `switchyard route-fit` learns from: JSON Lines, one
 * request per line, either
 *
 * - `{"prompt": "...", "weak_correct": true, "strong_correct": false}` (the
 *   RouteLLM shape of `routing-dev.jsonl`): the cheaper tier is good enough
 *   unless only the stronger one was right;
 * - `{"prompt": "...", "ok": 0.0}`: a direct verdict in 0..1 on the cheaper
 *   tier (1 good enough, 0 not), e.g. exported shadow results.
 *
 * `messages` (an OpenAI chat body) may replace `prompt`; `source` (a label
 * such as `mmlu/professional_law`) is kept for grouped evaluation.
 */
import { readFileSync } from 'node:fs';
import { questionText } from '../cache/key.js';
import { parseOpenAIChat } from '../protocol/openai.js';
import type { CanonicalRequest } from '../protocol/canonical.js';
import { promptRequest } from './routing-eval.js';

/** One labelled request. */
export interface LabelRow {
  /** The request as the router sees it. */
  req: CanonicalRequest;
  /** The text the embedder reads (the last user turn, as the semantic cache embeds it). */
  text: string;
  /** 1: the cheaper tier was good enough; 0: it was not. */
  ok: number;
  /** Both sides' correctness, when the line gave them (for quality curves). */
  weak?: boolean;
  strong?: boolean;
  source?: string;
}

/** A line that is not a label; the message names the file and line. */
export class LabelFileError extends Error {
  override readonly name = 'LabelFileError';
}

/**
 * Parses a label file's text.
 *
 * @example
 * parseLabels('{"prompt":"2+2?","weak_correct":true,"strong_correct":true}\n', 'labels.jsonl')[0].ok; // 1
 */
export function parseLabels(text: string, file = 'labels'): LabelRow[] {
  const rows: LabelRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new LabelFileError(`${where}: not JSON`);
    }
    if (typeof o !== 'object' || o === null) throw new LabelFileError(`${where}: not a JSON object`);
    let req: CanonicalRequest;
    if (typeof o.prompt === 'string') req = promptRequest(o.prompt);
    else if (Array.isArray(o.messages)) {
      try {
        req = parseOpenAIChat({ ...o, model: 'switchyard/auto' });
      } catch (e) {
        throw new LabelFileError(`${where}: messages: ${(e as Error).message}`);
      }
    } else throw new LabelFileError(`${where}: needs "prompt" (string) or "messages" (an OpenAI chat body)`);
    const source = typeof o.source === 'string' ? o.source : undefined;
    const text = questionText(req);
    if (text === undefined) throw new LabelFileError(`${where}: no text in the last user turn to embed`);
    const row: Omit<LabelRow, 'ok'> = { req, text, ...(source !== undefined ? { source } : {}) };
    if (typeof o.weak_correct === 'boolean' && typeof o.strong_correct === 'boolean') {
      rows.push({ ...row, ok: o.strong_correct && !o.weak_correct ? 0 : 1, weak: o.weak_correct, strong: o.strong_correct });
    } else if (typeof o.ok === 'number' && o.ok >= 0 && o.ok <= 1) {
      rows.push({ ...row, ok: o.ok });
    } else if (typeof o.ok === 'boolean') {
      rows.push({ ...row, ok: Number(o.ok) });
    } else {
      throw new LabelFileError(`${where}: needs "weak_correct" and "strong_correct" (booleans), or "ok" (0..1)`);
    }
  });
  if (rows.length === 0) throw new LabelFileError(`${file}: no labelled lines`);
  return rows;
}

/** Reads a label file; a missing file is a {@link LabelFileError} with one line. */
export function readLabels(file: string): LabelRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LabelFileError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`}`);
  }
  return parseLabels(text, file);
}
