/**
 * Prices of the configured models and the cost of a request. Each model's
 * price comes from its config (`inputPricePer1M`/`outputPricePer1M`, when
 * either is non-zero), else from the built-in dated table (by its upstream
 * name, then its own), else zero. Local upstreams cost the configured compute
 * price. Savings are measured against a reference model.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import { builtinPrice, type ModelPrice } from './price-table.js';

export { BUILTIN_PRICES, PRICES_AS_OF, builtinPrice, type ModelPrice } from './price-table.js';

/** Token counts of one request. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

const ZERO: ModelPrice = Object.freeze({ inputPer1M: 0, outputPer1M: 0 });

/** USD for `usage` at `price`. */
export function costOf(price: ModelPrice, usage: TokenUsage): number {
  return (usage.inputTokens * price.inputPer1M + usage.outputTokens * price.outputPer1M) / 1e6;
}

/**
 * The prices of one config, resolved once (a config is frozen; a reload
 * builds a new book).
 *
 * @example
 * const book = new PriceBook(config);
 * book.cost('gpt-4o-mini', { inputTokens: 1000, outputTokens: 200 }); // 0.00027
 */
export class PriceBook {
  private readonly prices = new Map<string, ModelPrice>();
  /** The ceiling per requested name (model, `switchyard/<tier>`, `switchyard/auto`), for reservations before routing. */
  private readonly ceilings = new Map<string, ModelPrice>();
  private readonly anyCeiling: ModelPrice;
  /** The savings reference, when one resolves. */
  readonly reference: { model: string; price: ModelPrice } | undefined;

  constructor(readonly config: SwitchyardConfig) {
    const { pricing } = config.accounting;
    const local: ModelPrice = { inputPer1M: pricing.localInputPer1M, outputPer1M: pricing.localOutputPer1M };
    let priciest: { model: string; price: ModelPrice } | undefined;
    for (const u of config.upstreams) {
      for (const m of u.models) {
        const configured = m.inputPricePer1M > 0 || m.outputPricePer1M > 0;
        const price = configured
          ? { inputPer1M: m.inputPricePer1M, outputPer1M: m.outputPricePer1M }
          : u.local
            ? local
            : (builtinPrice(m.upstreamModel ?? m.name) ?? builtinPrice(m.name) ?? ZERO);
        this.prices.set(m.name, price);
        if (!priciest || weight(price) > weight(priciest.price)) priciest = { model: m.name, price };
      }
    }
    this.anyCeiling = ceiling([...this.prices.values()]);
    for (const t of config.tiers) {
      const names = t.models.flatMap((m) => [m, ...(config.fallbacks[m] ?? [])]);
      this.ceilings.set(`switchyard/${t.name}`.toLowerCase(), ceiling(names.map((n) => this.price(n))));
    }
    for (const [name] of this.prices) {
      this.ceilings.set(name, ceiling([name, ...(config.fallbacks[name] ?? [])].map((n) => this.price(n))));
    }
    const ref = pricing.referenceModel;
    if (ref !== undefined) {
      const price = this.prices.get(ref) ?? builtinPrice(ref);
      this.reference = price ? { model: ref, price } : undefined;
    } else {
      this.reference = priciest && weight(priciest.price) > 0 ? priciest : undefined;
    }
  }

  /** The price of a configured model; zero for names the config does not know. */
  price(model: string | undefined): ModelPrice {
    return (model !== undefined && this.prices.get(model)) || ZERO;
  }

  /** USD of a request answered by `model`. */
  cost(model: string | undefined, usage: TokenUsage): number {
    return costOf(this.price(model), usage);
  }

  /** USD the same tokens would have cost on the reference model (0 without one). */
  referenceCost(usage: TokenUsage): number {
    return this.reference ? costOf(this.reference.price, usage) : 0;
  }

  /**
   * The highest price any candidate of a requested name could cost (its
   * fallbacks included), for reserving budget before routing picks one.
   */
  ceiling(requested: string): ModelPrice {
    return this.ceilings.get(requested) ?? this.ceilings.get(requested.toLowerCase()) ?? this.anyCeiling;
  }
}

function weight(p: ModelPrice): number {
  return p.inputPer1M + p.outputPer1M;
}

function ceiling(prices: ModelPrice[]): ModelPrice {
  let inputPer1M = 0;
  let outputPer1M = 0;
  for (const p of prices) {
    if (p.inputPer1M > inputPer1M) inputPer1M = p.inputPer1M;
    if (p.outputPer1M > outputPer1M) outputPer1M = p.outputPer1M;
  }
  return { inputPer1M, outputPer1M };
}
