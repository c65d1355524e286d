/**
 * A/B weights within a tier: a deterministic weighted pick from a hash of the
 * request id (or the tenant, so a tenant stays on one arm). The pick moves to
 * the front; the other models stay behind it as fallbacks.
 */
import type { Deployment } from '../upstream/registry.js';

/**
 * A point in [0, 1) from a string: FNV-1a 32-bit, finalised with a murmur3
 * mix so that similar ids (UUIDs differing in a few characters) spread evenly.
 *
 * @example
 * abBucket('tenant-a'); // 0.6170… every time
 */
export function abBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** The A/B outcome: the candidates with the pick first, and a note for the reason. */
export interface AbPick {
  list: Deployment[];
  note: string;
}

/**
 * Applies weights (model name → weight) to a tier's candidates. Models
 * without a weight, or with weight 0, are never picked first. Returns
 * undefined when no weighted model is among the candidates.
 *
 * @example
 * applyAb(cands, { 'model-a': 3, 'model-b': 1 }, 'req-123')?.note; // 'A/B model-a (bucket 0.42 of 3:1)'
 */
export function applyAb(cands: Deployment[], weights: Readonly<Record<string, number>>, key: string): AbPick | undefined {
  let total = 0;
  for (const d of cands) total += weights[d.model.name] ?? 0;
  if (total <= 0) return undefined;
  const u = abBucket(key);
  let acc = 0;
  let pick: Deployment | undefined;
  for (const d of cands) {
    const w = weights[d.model.name] ?? 0;
    if (w <= 0) continue;
    acc += w;
    if (u * total < acc) {
      pick = d;
      break;
    }
  }
  pick ??= cands.findLast((d) => (weights[d.model.name] ?? 0) > 0)!;
  const ratio = cands.filter((d) => (weights[d.model.name] ?? 0) > 0).map((d) => weights[d.model.name]).join(':');
  const list = pick === cands[0] ? cands : [pick, ...cands.filter((d) => d !== pick)];
  return { list, note: `A/B ${pick.model.name} (bucket ${u.toFixed(2)} of ${ratio})` };
}
