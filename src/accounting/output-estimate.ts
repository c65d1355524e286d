/**
 * How many completion tokens a request may cost, for reservations made
 * before routing picks a model: `min(max_tokens, the largest output any
 * candidate can produce)`, or, when the request sets no limit, the largest
 * per-model default estimate among the candidates. A request cannot reserve
 * (or poison a budget with) more output than any model it may reach can
 * write.
 */
import type { SwitchyardConfig } from '../config/schema.js';

interface OutputBound {
  /** Most completion tokens a candidate can produce (`maxOutputTokens`, else its context window, else unbounded). */
  cap: number;
  /** Completion tokens assumed when the request names no limit. */
  estimate: number;
}

/**
 * Output bounds per requested name (model, `switchyard/<tier>`), built once per config.
 *
 * @example
 * const outputs = new OutputBook(config);
 * outputs.reserve('gpt-4o-mini', 1e9); // 16384 (the model's maxOutputTokens)
 * outputs.reserve('gpt-4o-mini', undefined); // the model's defaultOutputTokens, else budgets.defaultOutputTokens
 */
export class OutputBook {
  private readonly byName = new Map<string, OutputBound>();
  private readonly any: OutputBound;

  constructor(config: SwitchyardConfig) {
    const fallbackEstimate = config.accounting.budgets.defaultOutputTokens;
    const models = new Map<string, OutputBound>();
    for (const u of config.upstreams) {
      for (const m of u.models) {
        // An undeclared limit bounds nothing: `max_tokens` as asked (still at most 2^31 - 1, see numeric-params.ts).
        const cap = m.maxOutputTokens ?? m.contextWindow ?? Infinity;
        models.set(m.name, { cap, estimate: Math.min(cap, m.defaultOutputTokens ?? fallbackEstimate) });
      }
    }
    const join = (names: string[]): OutputBound => {
      const bounds = names.map((n) => models.get(n)).filter((b): b is OutputBound => b !== undefined);
      if (bounds.length === 0) return { cap: Infinity, estimate: fallbackEstimate };
      return { cap: Math.max(...bounds.map((b) => b.cap)), estimate: Math.max(...bounds.map((b) => b.estimate)) };
    };
    this.any = join([...models.keys()]);
    for (const t of config.tiers) {
      this.byName.set(`switchyard/${t.name}`.toLowerCase(), join(t.models.flatMap((m) => [m, ...(config.fallbacks[m] ?? [])])));
    }
    for (const name of models.keys()) this.byName.set(name, join([name, ...(config.fallbacks[name] ?? [])]));
  }

  /** Completion tokens to reserve for a request to `requested` that asked for at most `maxTokens`. */
  reserve(requested: string, maxTokens: number | undefined): number {
    const b = this.byName.get(requested) ?? this.byName.get(requested.toLowerCase()) ?? this.any;
    return maxTokens === undefined ? b.estimate : Math.min(maxTokens, b.cap);
  }
}
