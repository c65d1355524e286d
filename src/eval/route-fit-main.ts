/**
 * `switchyard route-fit --labels FILE --out MODEL`: embeds the labelled
 * prompts with the configured embedder, fits the learned router (prior,
 * seed outcomes, target) and writes the model file. Prints what it fitted
 * and, when the labels carry both sides' correctness, the out-of-fold
 * figures (APGR, strong calls for 95% of all-strong quality).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import { SwitchyardError } from '../errors.js';
import { createEmbedder } from '../embedding/index.js';
import { complexityScore } from '../routing/signals/complexity.js';
import { COMPLEXITY_FEATURES } from '../routing/signals/complexity-features.js';
import { estimateTokens } from '../routing/signals/length.js';
import { toModelFile } from '../routing/learned-model.js';
import { embedWithCache } from './embed-cache.js';
import { readLabels } from './route-labels.js';
import { fitRouterModel, type FitExample } from './route-fit.js';
import { foldOf } from './routing-eval.js';
import { routerMetrics } from './routing-metrics.js';

/** Options of {@link routeFit} (the CLI flags). */
export interface RouteFitCliOptions {
  labels: string;
  out: string;
  config?: string;
  tier?: string;
  embeddings?: string;
  /**
   * `signals` (default): the logistic prior over complexity and length, neighbours voting on `ok`.
   * `probe`: the embedding probe as the prior. `gain`: the probe, the seed neighbours voting on the
   * quality gain, and their settings chosen by an inner cross-validation (needs both sides' labels).
   */
  prior?: string;
}

/** The route-fit `--prior` values. */
export const ROUTE_FIT_PRIORS = ['signals', 'probe', 'gain'] as const;

/**
 * Runs route-fit; returns the exit code. Label, config and model problems throw (the CLI prints one line, exit 2).
 *
 * @example
 * await routeFit({ labels: 'labels.jsonl', out: 'router-model.json' });
 */
export async function routeFit(o: RouteFitCliOptions, log: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const mode = o.prior ?? 'signals';
  if (!(ROUTE_FIT_PRIORS as readonly string[]).includes(mode)) throw new SwitchyardError('invalid_request', `--prior must be one of ${ROUTE_FIT_PRIORS.join(', ')} (got '${mode}')`);
  const rows = readLabels(o.labels);
  const cfg = o.config ? loadConfigFile(o.config) : defaultConfig();
  const embedder = createEmbedder(cfg.cache.semantic.embedding);
  let vectors: Float32Array[];
  try {
    await embedder.ready();
    const texts = rows.map((r) => r.text);
    const progress = (d: number, n: number) => log(`\rembedding ${d}/${n}`);
    if (o.embeddings) vectors = await embedWithCache(embedder, texts, { file: o.embeddings, progress });
    else {
      vectors = [];
      for (let i = 0; i < texts.length; i += 64) {
        vectors.push(...(await embedder.embed(texts.slice(i, i + 64))));
        progress(Math.min(i + 64, texts.length), texts.length);
      }
    }
    log('\n');
  } finally {
    await embedder.close?.();
  }
  const examples: FitExample[] = rows.map((r, i) => {
    const c = complexityScore(r.req);
    return {
    vector: vectors[i]!,
    complexity: c.score,
    features: COMPLEXITY_FEATURES.map((k) => c.features[k]),
    tokens: estimateTokens(r.req),
    ok: r.ok,
    ...(r.weak !== undefined ? { weak: r.weak } : {}),
    ...(r.strong !== undefined ? { strong: r.strong } : {}),
    };
  });
  const folds = rows.map((r) => foldOf(r.text, 5));
  const model = fitRouterModel(examples, {
    embedder: embedder.id,
    tier: o.tier ?? null,
    foldOf: (i) => folds[i]!,
    fit: { labels: o.labels, n: rows.length, at: new Date().toISOString() },
    ...(mode === 'signals' ? {} : { prior: 'probe' as const }),
    ...(mode === 'gain' ? { vote: 'gain' as const } : {}),
  });
  mkdirSync(dirname(o.out), { recursive: true });
  const tmp = `${o.out}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(toModelFile(model)));
  renameSync(tmp, o.out);
  const p = model.prior;
  log(`route-fit: ${rows.length} labelled prompts (${embedder.id}), prior: ${p.intercept.toFixed(3)} ${p.complexity >= 0 ? '+' : '-'} ${Math.abs(p.complexity).toFixed(3)}·logit(complexity) ${p.length >= 0 ? '+' : '-'} ${Math.abs(p.length).toFixed(3)}·ln(1+tokens)${p.probe ? ' (used only without the probe); probe: P(weak right) and P(strong right) on the embedding + signals' : ''}; target p(ok) ${model.target.toFixed(3)}\n`);
  const both = examples.flatMap((e, i) => (e.weak !== undefined && e.strong !== undefined ? [{ weak: e.weak, strong: e.strong, s: 1 - model.oof[i]! }] : []));
  if (both.length > 0) {
    const m = routerMetrics(both.map((b) => b.s), both);
    log(`route-fit: 5-fold out-of-fold APGR ${m.apgr.toFixed(3)}, strong calls for 95% of all-strong ${(100 * m.shareFor95).toFixed(1)}%\n`);
  }
  if (mode === 'gain') log(model.knn.vote === 'gain' ? `route-fit: neighbours vote on the gain (${model.knn.neighbours} neighbours, sharpness ${model.knn.sharpness}, prior weight ${model.knn.priorWeight}, chosen by inner cross-validation)\n` : 'route-fit: too few labels with both sides for the gain vote: neighbours vote on ok\n');
  log(`route-fit: wrote ${o.out}\n`);
  return 0;
}
