/**
 * Ranges of every numeric request parameter of the wire protocols, checked
 * before anything is reserved or routed. A number outside its documented
 * range (or `1e308`, `NaN` as a string, a negative `n`) is a 400 naming the
 * parameter: budgets are reserved from these numbers, so a poisoned one must
 * never get that far.
 */
import { invalid, isObject, type JsonObject } from './wire-util.js';

/** Largest token count accepted anywhere (int32, what upstream servers parse). */
export const MAX_TOKENS_LIMIT = 2_147_483_647;

/** One numeric parameter: an integer or any finite number, within `[min, max]`. */
export interface NumberRule {
  int: boolean;
  min: number;
  max: number;
}

const tokens: NumberRule = { int: true, min: 1, max: MAX_TOKENS_LIMIT };
// A 64-bit signed integer (providers take int64 seeds). Parsed as a double, 2^63 - 1 reads as 2^63, so that is the bound;
// the forwarded bytes keep the client's exact digits (json-splice), only the check sees the rounded value.
const seed: NumberRule = { int: true, min: -(2 ** 63), max: 2 ** 63 };
const penalty: NumberRule = { int: false, min: -2, max: 2 };
const unit: NumberRule = { int: false, min: 0, max: 1 };

/** OpenAI `POST /v1/chat/completions` (API reference ranges). */
export const OPENAI_CHAT_NUMBERS: Readonly<Record<string, NumberRule>> = {
  max_tokens: tokens,
  max_completion_tokens: tokens,
  n: { int: true, min: 1, max: 128 },
  temperature: { int: false, min: 0, max: 2 },
  top_p: unit,
  presence_penalty: penalty,
  frequency_penalty: penalty,
  seed,
  top_logprobs: { int: true, min: 0, max: 20 },
};

/** OpenAI legacy `POST /v1/completions`. */
export const OPENAI_COMPLETION_NUMBERS: Readonly<Record<string, NumberRule>> = {
  max_tokens: tokens,
  n: { int: true, min: 1, max: 128 },
  best_of: { int: true, min: 1, max: 20 },
  temperature: { int: false, min: 0, max: 2 },
  top_p: unit,
  presence_penalty: penalty,
  frequency_penalty: penalty,
  seed,
  logprobs: { int: true, min: 0, max: 5 },
};

/** OpenAI `POST /v1/embeddings`. */
export const OPENAI_EMBEDDING_NUMBERS: Readonly<Record<string, NumberRule>> = {
  dimensions: { int: true, min: 1, max: 65_536 },
};

/** Anthropic `POST /v1/messages`. */
export const ANTHROPIC_NUMBERS: Readonly<Record<string, NumberRule>> = {
  max_tokens: tokens,
  temperature: unit,
  top_p: unit,
  top_k: { int: true, min: 0, max: MAX_TOKENS_LIMIT },
};

function describe(rule: NumberRule): string {
  const kind = rule.int ? 'an integer' : 'a number';
  if (rule.max === MAX_TOKENS_LIMIT || rule.max === Number.MAX_SAFE_INTEGER) {
    return rule.min === Number.MIN_SAFE_INTEGER ? `${kind} within ±${Number.MAX_SAFE_INTEGER}` : `${kind} from ${rule.min} to ${rule.max}`;
  }
  return `${kind} from ${rule.min} to ${rule.max}`;
}

/** Throws `invalid_request` naming `param` unless `v` is a finite number that fits `rule` (null counts as absent). */
export function checkNumber(v: unknown, rule: NumberRule, param: string): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || (rule.int && !Number.isInteger(v)) || v < rule.min || v > rule.max) {
    invalid(param, `\`${param}\` must be ${describe(rule)}; got ${preview(v)}`);
  }
}

/**
 * Checks every numeric parameter of `rules` present in `body`, plus the
 * shapes that carry numbers in nested fields (`logit_bias`, `logprobs` as a
 * boolean on chat, Anthropic `thinking.budget_tokens`).
 *
 * @throws SwitchyardError `invalid_request` with `param` naming the first field at fault.
 * @example
 * checkNumbers({ max_tokens: 1e308 }, OPENAI_CHAT_NUMBERS); // throws: `max_tokens` must be an integer from 1 to 2147483647
 */
export function checkNumbers(body: JsonObject, rules: Readonly<Record<string, NumberRule>>): void {
  for (const name in rules) checkNumber(body[name], rules[name]!, name);
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    if (!isObject(body.logit_bias)) invalid('logit_bias', '`logit_bias` must be an object of token id → bias');
    for (const [token, bias] of Object.entries(body.logit_bias)) {
      checkNumber(bias, { int: false, min: -100, max: 100 }, `logit_bias.${token}`);
      if (bias === undefined || bias === null) invalid(`logit_bias.${token}`, `\`logit_bias.${token}\` must be a number from -100 to 100`);
    }
  }
  if (rules === OPENAI_CHAT_NUMBERS && body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean') {
    invalid('logprobs', '`logprobs` must be a boolean');
  }
  if (rules === ANTHROPIC_NUMBERS && body.thinking !== undefined && body.thinking !== null) {
    const t = body.thinking;
    if (!isObject(t)) invalid('thinking', '`thinking` must be an object');
    if (t.type === 'enabled') {
      if (t.budget_tokens === undefined || t.budget_tokens === null) invalid('thinking.budget_tokens', '`thinking.budget_tokens` is required when thinking is enabled');
      checkNumber(t.budget_tokens, { int: true, min: 1024, max: MAX_TOKENS_LIMIT }, 'thinking.budget_tokens');
      if (typeof body.max_tokens === 'number' && (t.budget_tokens as number) >= body.max_tokens) {
        invalid('thinking.budget_tokens', '`thinking.budget_tokens` must be less than `max_tokens`');
      }
    }
  }
}

function preview(v: unknown): string {
  const s = typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
