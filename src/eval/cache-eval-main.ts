/**
 * `switchyard cache-eval`: the semantic-cache threshold sweep.
 *
 * ```text
 * switchyard cache-eval --pairs ../shared/data/cache-pairs-dev.jsonl [--cv] [--no-verifier]
 *   [--from 0.60 --to 0.95 --step 0.01] [--target 0.9] [--embedder use-lite|transformers|openai-compatible]
 *   [--base-url URL --model NAME --api-key-env VAR] [--local-path DIR]
 * ```
 */
import { accessSync, constants } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { EmbeddingConfigInput } from '../config/embedding.js';
import { createEmbedder } from '../embedding/index.js';
import { runCacheEval } from './cache-eval.js';

const USAGE =
  'Usage: switchyard cache-eval --pairs FILE [--cv] [--no-verifier] [--from 0.60] [--to 0.95] [--step 0.01] [--target 0.9]\n' +
  '       [--embedder use-lite|transformers|openai-compatible] [--base-url URL] [--model NAME] [--api-key-env VAR] [--local-path DIR]\n';

/**
 * Parses `argv` (the arguments after `cache-eval`) and runs {@link runCacheEval};
 * returns the process exit code: 0 done, 1 the run failed, 2 a usage error. Errors are one line on stderr.
 *
 * @example
 * process.exitCode = await main(['--pairs', 'pairs.jsonl', '--cv']);
 */
export async function main(argv: string[], err: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  try {
    return await run(argv, err);
  } catch (e) {
    const usage = (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    err(`switchyard cache-eval: ${e instanceof Error ? e.message : String(e)}\n${usage ? USAGE : ''}`);
    return usage ? 2 : 1;
  }
}

async function run(argv: string[], err: (s: string) => void): Promise<number> {
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
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.pairs) {
    err(`switchyard cache-eval: --pairs FILE is required\n${USAGE}`);
    return 2;
  }
  try {
    accessSync(values.pairs, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`switchyard cache-eval: --pairs ${values.pairs}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`}\n`);
    return 2;
  }
  const from = Number(values.from);
  const to = Number(values.to);
  const step = Number(values.step);
  if (!(step > 0) || !(to >= from)) {
    err('switchyard cache-eval: --from, --to and --step must satisfy from <= to and step > 0\n');
    return 2;
  }
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
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
