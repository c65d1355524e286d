/**
 * The built-in price table: list prices in USD per 1M tokens (standard tier,
 * no batch or cached-input discounts) for common OpenAI and Anthropic models.
 * A model's `inputPricePer1M`/`outputPricePer1M` in the config override it.
 */

/** The date of the public pricing pages (openai.com/api/pricing, anthropic.com/pricing) the table was taken from. */
export const PRICES_AS_OF = '2025-10-15';

/** Input and output price of a model, USD per 1M tokens. */
export interface ModelPrice {
  inputPer1M: number;
  outputPer1M: number;
}

const p = (inputPer1M: number, outputPer1M: number): ModelPrice => ({ inputPer1M, outputPer1M });

/** Keyed by model family; dated snapshots (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-20241022`) match by prefix. */
export const BUILTIN_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  // OpenAI
  'gpt-5': p(1.25, 10),
  'gpt-5-mini': p(0.25, 2),
  'gpt-5-nano': p(0.05, 0.4),
  'gpt-4.1': p(2, 8),
  'gpt-4.1-mini': p(0.4, 1.6),
  'gpt-4.1-nano': p(0.1, 0.4),
  'gpt-4o': p(2.5, 10),
  'gpt-4o-mini': p(0.15, 0.6),
  'gpt-4-turbo': p(10, 30),
  'gpt-4': p(30, 60),
  'gpt-3.5-turbo': p(0.5, 1.5),
  o1: p(15, 60),
  'o1-mini': p(1.1, 4.4),
  o3: p(2, 8),
  'o3-mini': p(1.1, 4.4),
  'o4-mini': p(1.1, 4.4),
  'text-embedding-3-small': p(0.02, 0),
  'text-embedding-3-large': p(0.13, 0),
  'text-embedding-ada-002': p(0.1, 0),
  // Anthropic
  'claude-opus-4-1': p(15, 75),
  'claude-opus-4': p(15, 75),
  'claude-sonnet-4-5': p(3, 15),
  'claude-sonnet-4': p(3, 15),
  'claude-haiku-4-5': p(1, 5),
  'claude-3-7-sonnet': p(3, 15),
  'claude-3-5-sonnet': p(3, 15),
  'claude-3-5-haiku': p(0.8, 4),
  'claude-3-opus': p(15, 75),
  'claude-3-haiku': p(0.25, 1.25),
});

const FAMILIES = Object.keys(BUILTIN_PRICES).sort((a, b) => b.length - a.length);

/**
 * The built-in price of a model name: the longest table entry that is the
 * name or a prefix of it followed by `-`, `@` or `:` (so `gpt-4` does not
 * price `gpt-4o`). A provider prefix (`openai/`) is ignored.
 *
 * @example
 * builtinPrice('gpt-4o-mini-2024-07-18'); // { inputPer1M: 0.15, outputPer1M: 0.6 }
 * builtinPrice('my-llama'); // undefined
 */
export function builtinPrice(model: string): ModelPrice | undefined {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  for (const f of FAMILIES) {
    if (!name.startsWith(f)) continue;
    const next = name.charCodeAt(f.length);
    // end, '-', ':', '@'
    if (Number.isNaN(next) || next === 45 || next === 58 || next === 64) return BUILTIN_PRICES[f];
  }
  return undefined;
}
