/**
 * The LLM judge: any OpenAI-compatible chat model, called through the
 * `openai` SDK (its `baseURL` points anywhere), grades the cheap answer
 * against the strong one on a 1–10 rubric. The reply is parsed leniently
 * (`{"score": 8}`, `Score: 8/10`, `8`); a reply without a score, an error or
 * a timeout is returned as `error`, never thrown.
 */
import OpenAI from 'openai';
import type { ShadowJudgeConfig } from '../config/shadow.js';
import { contentText, type CanonicalRequest } from '../protocol/canonical.js';

/** The built-in rubric (the judge's system prompt). */
export const DEFAULT_RUBRIC = `You grade whether a cheaper model's answer can replace a stronger model's answer to the same request.
Judge the CANDIDATE against the REFERENCE and the request: correctness, completeness, and following the instructions (format, length, language). Style differences do not matter.
10 = as good as the reference or better; 7 = an acceptable substitute with minor gaps; 4 = noticeably worse, the user would notice; 1 = wrong, off-topic or useless.
Reply with JSON only: {"score": <integer 1-10>}`;

/** What the judge said. */
export interface JudgeVerdict {
  score?: number;
  error?: string;
  inputTokens: number;
  outputTokens: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}\n[…truncated]` : s);

/** The request as the judge reads it: system prompt and turns, labelled. */
export function requestText(req: CanonicalRequest, maxChars: number): string {
  const parts: string[] = [];
  if (req.system) parts.push(`[system]\n${req.system}`);
  for (const m of req.messages) {
    const t = contentText(m.content);
    if (t) parts.push(`[${m.role}]\n${t}`);
  }
  const all = parts.join('\n\n');
  // The end of a long conversation is what the answers respond to.
  return all.length > maxChars ? `[…]\n${all.slice(all.length - maxChars)}` : all;
}

const inRange = (n: number) => (Number.isFinite(n) && n >= 1 && n <= 10 ? n : undefined);

/**
 * The 1–10 score in a judge's reply, or undefined when there is none.
 *
 * @example
 * parseJudgeScore('{"score": 8}'); // 8
 * parseJudgeScore('Score: 7/10 — minor gaps'); // 7
 * parseJudgeScore('I cannot decide'); // undefined
 */
export function parseJudgeScore(text: string): number | undefined {
  const t = text.trim();
  const json = /\{[^{}]*\}/.exec(t);
  if (json) {
    try {
      const o = JSON.parse(json[0]) as Record<string, unknown>;
      for (const k of ['score', 'rating', 'grade']) {
        const v = inRange(Number(o[k]));
        if (typeof o[k] !== 'boolean' && o[k] !== null && v !== undefined) return v;
      }
    } catch {
      // Not JSON after all: try the patterns below.
    }
  }
  const labelled = /\b(?:score|rating|grade)\b[^0-9\n]{0,20}(\d{1,2}(?:\.\d+)?)/i.exec(t);
  if (labelled) return inRange(Number(labelled[1]));
  const outOf = /\b(\d{1,2}(?:\.\d+)?)\s*(?:\/|out of)\s*10\b/i.exec(t);
  if (outOf) return inRange(Number(outOf[1]));
  const bare = /^\**(\d{1,2}(?:\.\d+)?)\**\.?$/.exec(t);
  if (bare) return inRange(Number(bare[1]));
  return undefined;
}

/** A judge bound to its config; one SDK client, reused. */
export class Judge {
  private readonly client: OpenAI;

  constructor(
    private readonly cfg: ShadowJudgeConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const apiKey = (cfg.apiKeyEnv ? env[cfg.apiKeyEnv] : undefined) || 'unused';
    this.client = new OpenAI({ apiKey, baseURL: cfg.baseUrl, timeout: cfg.timeoutMs, maxRetries: 0 });
  }

  /**
   * Grades `candidate` against `reference`.
   *
   * @example
   * const v = await judge.grade(ctx.req, strong.text, cheap.text, signal); // { score: 8, inputTokens: 412, outputTokens: 6 }
   */
  async grade(req: CanonicalRequest, reference: string, candidate: string, signal?: AbortSignal): Promise<JudgeVerdict> {
    const n = this.cfg.maxChars;
    const user = `REQUEST:\n${requestText(req, n)}\n\nREFERENCE ANSWER:\n${clip(reference, n)}\n\nCANDIDATE ANSWER:\n${clip(candidate, n)}`;
    try {
      const res = await this.client.chat.completions.create(
        {
          model: this.cfg.model,
          temperature: 0,
          max_tokens: 50,
          messages: [
            { role: 'system', content: this.cfg.rubric ?? DEFAULT_RUBRIC },
            { role: 'user', content: user },
          ],
        },
        signal ? { signal } : {},
      );
      const text = res.choices[0]?.message.content ?? '';
      const tokens = { inputTokens: res.usage?.prompt_tokens ?? Math.ceil(user.length / 4), outputTokens: res.usage?.completion_tokens ?? Math.ceil(text.length / 4) };
      const score = parseJudgeScore(text);
      if (score === undefined) return { ...tokens, error: `no 1-10 score in the judge's reply: ${JSON.stringify(text.slice(0, 80))}` };
      return { ...tokens, score };
    } catch (e) {
      return { inputTokens: 0, outputTokens: 0, error: `judge failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
}
