/**
 * Envoy's default header mutation rules for ext_proc (no `mutation_rules` in
 * the filter config): a processor may not set or remove `host`,
 * `:authority`, `:scheme`, `:method` or any `x-envoy-*` header; such a
 * mutation is ignored (not an error) unless `disallow_is_error` is set
 * (`HeaderMutationChecker` in source/extensions/filters/common/mutation_rules/
 * mutation_rules.cc). Switchyard never asks for one — the route's
 * `host_rewrite_literal` sets the upstream host.
 */

/** Whether Envoy's default rules let an ext_proc processor set or remove this (lower-case) header. */
export function envoyMaySet(name: string): boolean {
  if (name === 'host' || name === ':authority' || name === ':scheme' || name === ':method') return false;
  return !name.startsWith('x-envoy-');
}
