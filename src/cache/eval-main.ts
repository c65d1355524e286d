/**
 * Command-line entry of the cache evaluation until `switchyard cache-eval` is wired:
 *
 * ```sh
 * npm run build
 * node dist/cache/eval-main.js --pairs /work/shared/data/cache-pairs-dev.jsonl [--cv] [--no-verifier]
 *   [--from 0.60 --to 0.95 --step 0.01] [--target 0.9] [--embedder use-lite|transformers|openai-compatible]
 *   [--base-url URL --model NAME --api-key-env VAR] [--local-path DIR]
 * ```
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EmbeddingConfigInput } from '../config/embedding.js';
import { createEmbedder } from '../embedding/index.js';
import { runCacheEval } from './eval.js';

/** Parses `argv` (without node and the script) and runs {@link runCacheEval}; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pairs: { type: 'string' },
      cv: { type: 'boolean', default: false },
      'no-verifier': { type: 'boolean', default: false },
      from: { type: 'string', default: '0.60' },
      to: { type: 'string', default: '0.95' },
      step: { type: 'string', default: '0.01' },
      target: { type: 'string', default: '0.9' },
      embedder: { type: 'string', default: 'use-lite' },
      'base-url': { type: 'string' },
      model: { type: 'string' },
      'api-key-env': { type: 'string' },
      'local-path': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.pairs) {
    process.stderr.write(
      'usage: node dist/cache/eval-main.js --pairs FILE [--cv] [--no-verifier] [--from 0.60] [--to 0.95] [--step 0.01] [--target 0.9]\n' +
        '       [--embedder use-lite|transformers|openai-compatible] [--base-url URL] [--model NAME] [--api-key-env VAR] [--local-path DIR]\n',
    );
    return values.help ? 0 : 2;
  }
  const from = Number(values.from);
  const to = Number(values.to);
  const step = Number(values.step);
  if (!(step > 0) || !(to >= from)) throw new Error('--from, --to and --step must satisfy from <= to and step > 0');
  const thresholds: number[] = [];
  for (let t = from; t <= to + 1e-9; t += step) thresholds.push(Math.round(t * 1000) / 1000);

  let cfg: EmbeddingConfigInput;
  if (values.embedder === 'openai-compatible') {
    cfg = { kind: 'openai-compatible', baseUrl: values['base-url'], model: values.model, apiKeyEnv: values['api-key-env'] };
  } else if (values.embedder === 'transformers') {
    cfg = { kind: 'transformers', ...(values.model ? { model: values.model } : {}), localPath: values['local-path'] };
  } else {
    cfg = { kind: 'use-lite' };
  }
  const embedder = createEmbedder(cfg);
  try {
    await runCacheEval({
      pairsFile: values.pairs,
      embedder,
      thresholds,
      verifier: !values['no-verifier'],
      crossValidate: values.cv,
      targetPrecision: Number(values.target),
    });
  } finally {
    await embedder.close?.();
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`cache-eval: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
