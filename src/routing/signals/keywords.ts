/**
 * Operator keyword rules: named regular expressions over a chosen part of the
 * request. Compiled once at config load (a bad pattern fails there, naming
 * the rule), then matched per request against texts built at most once.
 */
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { allMessageText, lastUserText } from './text.js';

/** Which text a rule looks at. */
export type RuleField = 'last-user' | 'all' | 'system';

/** A rule as written in config. */
export interface KeywordRule {
  /** Reported when the rule matches; unique. */
  name: string;
  /** JavaScript regular expression source. */
  pattern: string;
  /** Any of `i`, `m`, `s`, `u` (`g` and `y` would make matching stateful). */
  flags?: string;
  /** Default `last-user`. */
  field?: RuleField;
}

/** Returns the names of the rules that match a request, in rule order. */
export type RuleMatcher = (req: CanonicalRequest) => string[];

/** Longest text a rule is run on: bounds the cost of a slow operator pattern. */
export const RULE_TEXT_LIMIT = 100_000;

/** Thrown by `compileRules` for an invalid rule; names the rule and its index. */
export class RuleCompileError extends Error {
  readonly rule: string;
  readonly index: number;
  constructor(index: number, rule: string, message: string, cause?: unknown) {
    super(`routing rule #${index} "${rule}": ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'RuleCompileError';
    this.rule = rule;
    this.index = index;
  }
}

interface Compiled {
  name: string;
  re: RegExp;
  field: RuleField;
}

/**
 * Compiles keyword rules into a matcher. Throws `RuleCompileError` for an
 * empty or duplicate name, an invalid pattern or unsupported flags.
 *
 * @example
 * const match = compileRules([{ name: 'legal', pattern: '\\b(contract|lawsuit)\\b', flags: 'i' }]);
 * match(req); // ['legal']
 */
export function compileRules(rules: readonly KeywordRule[]): RuleMatcher {
  const names = new Set<string>();
  const compiled: Compiled[] = rules.map((r, i) => {
    if (typeof r.name !== 'string' || r.name.length === 0) throw new RuleCompileError(i, String(r.name), 'name must be a non-empty string');
    if (names.has(r.name)) throw new RuleCompileError(i, r.name, 'duplicate rule name');
    names.add(r.name);
    const flags = r.flags ?? '';
    if (!/^[imsu]*$/.test(flags)) throw new RuleCompileError(i, r.name, `unsupported flags "${flags}" (allowed: i, m, s, u)`);
    if (typeof r.pattern !== 'string' || r.pattern.length === 0) throw new RuleCompileError(i, r.name, 'pattern must be a non-empty string');
    let re: RegExp;
    try {
      re = new RegExp(r.pattern, flags);
    } catch (e) {
      throw new RuleCompileError(i, r.name, `invalid pattern /${r.pattern}/: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    const field = r.field ?? 'last-user';
    if (field !== 'last-user' && field !== 'all' && field !== 'system') throw new RuleCompileError(i, r.name, `unknown field "${String(field)}"`);
    return { name: r.name, re, field };
  });

  return (req) => {
    if (compiled.length === 0) return [];
    let lastUser: string | undefined;
    let all: string | undefined;
    const out: string[] = [];
    for (const c of compiled) {
      let text: string;
      if (c.field === 'last-user') text = lastUser ??= clip(lastUserText(req));
      else if (c.field === 'all') text = all ??= clip(allMessageText(req));
      else text = clip(req.system ?? '');
      if (c.re.test(text)) out.push(c.name);
    }
    return out;
  };
}

function clip(s: string): string {
  return s.length > RULE_TEXT_LIMIT ? s.slice(0, RULE_TEXT_LIMIT) : s;
}
