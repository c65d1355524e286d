/**
 * Config schema of the routing keyword rules (`routing.rules`): named
 * regular expressions whose matches become signals. Patterns are compiled
 * here, so a bad one fails config validation with its path, never a request.
 */
import { z } from 'zod';

/** One keyword rule. */
export const routingRuleSchema = z
  .object({
    /** Reported in the signals and decision headers when the rule matches. */
    name: z.string().min(1),
    /** JavaScript regular expression source. */
    pattern: z.string().min(1),
    /** Regex flags: any of `i`, `m`, `s`, `u`. */
    flags: z.string().regex(/^[imsu]*$/, 'flags may only contain i, m, s, u').optional(),
    /** Which text the rule looks at. */
    field: z.enum(['last-user', 'all', 'system']).default('last-user'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    try {
      new RegExp(rule.pattern, rule.flags ?? '');
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${e instanceof Error ? e.message : String(e)}` });
    }
  });

/** The rule list; names must be unique. */
export const routingRulesSchema = z
  .array(routingRuleSchema)
  .default([])
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate rule name "${r.name}"` });
      seen.add(r.name);
    });
  });

/** A validated rule (defaults filled). */
export type RoutingRuleConfig = z.output<typeof routingRuleSchema>;
