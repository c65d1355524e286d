/**
 * Per-signal cost over a prompt set: median and p99 microseconds of each
 * signal, measured on warm code. Embedding excluded (the prototype lookup
 * is timed with a random unit vector, as the cache would hand it over).
 */
import { compileRules } from '../routing/signals/keywords.js';
import { complexityScore } from '../routing/signals/complexity.js';
import { computeSignals } from '../routing/signals/index.js';
import { estimateTokens } from '../routing/signals/length.js';
import { privacySignal } from '../routing/signals/privacy.js';
import { taskType, TASK_TYPES, type PrototypeIndex } from '../routing/signals/task.js';
import { promptRequest } from './routing-eval.js';
import type { CanonicalRequest } from '../protocol/canonical.js';

/** Timing of one signal. */
export interface SignalTiming {
  signal: string;
  medianUs: number;
  p99Us: number;
}

const DIM = 512;

function unitVector(seed: number): Float32Array {
  const v = new Float32Array(DIM);
  let s = seed >>> 0 || 1;
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) ^ (s + 0x6d2b79f5);
    v[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  for (let i = 0; i < DIM; i++) v[i]! /= Math.sqrt(norm);
  return v;
}

/** A prototype index of random vectors (6 per type), to time the lookup without a model. */
function syntheticIndex(): PrototypeIndex {
  const labels = TASK_TYPES.flatMap((t) => [t, t, t, t, t, t]);
  return { embedderId: 'synthetic', dim: DIM, labels, vectors: labels.map((_, i) => unitVector(i + 1)) };
}

/**
 * Times each signal over the prompts (each prompt is one user turn).
 *
 * @example
 * benchSignals(rows.map((r) => r.prompt)).forEach((t) => console.log(t.signal, t.medianUs));
 */
export function benchSignals(prompts: readonly string[], rounds = 3): SignalTiming[] {
  const reqs = prompts.map(promptRequest);
  const prototypes = syntheticIndex();
  const embedding = unitVector(12345);
  const rules = compileRules([
    { name: 'legal', pattern: '\\b(?:contract|lawsuit|plaintiff|defendant)\\b', flags: 'i' },
    { name: 'medical', pattern: '\\b(?:patient|diagnos\\w*|symptom\\w*)\\b', flags: 'i', field: 'all' },
    { name: 'internal', pattern: 'CONFIDENTIAL|internal only', field: 'all' },
  ]);
  const cases: [string, (r: CanonicalRequest) => unknown][] = [
    ['complexity', (r) => complexityScore(r)],
    ['task (keywords)', (r) => taskType(r)],
    ['task (keywords + prototypes)', (r) => taskType(r, embedding, prototypes)],
    ['length', (r) => estimateTokens(r)],
    ['privacy', (r) => privacySignal(r)],
    ['keyword rules (3)', (r) => rules(r)],
    ['computeSignals (all)', (r) => computeSignals(r, { embedding, prototypes, rules })],
  ];
  let sink = 0;
  return cases.map(([signal, fn]) => {
    for (const r of reqs) sink += fn(r) === undefined ? 1 : 0; // warm-up
    const times = new Float64Array(reqs.length * rounds);
    let k = 0;
    for (let round = 0; round < rounds; round++) {
      for (const r of reqs) {
        const t0 = process.hrtime.bigint();
        sink += fn(r) === undefined ? 1 : 0;
        times[k++] = Number(process.hrtime.bigint() - t0) / 1_000;
      }
    }
    times.sort();
    if (sink < 0) console.log(sink);
    return { signal, medianUs: times[Math.floor(times.length / 2)]!, p99Us: times[Math.floor(times.length * 0.99)]! };
  });
}
