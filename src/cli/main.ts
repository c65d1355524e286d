#!/usr/bin/env node
/** The `switchyard` command. */
import { Command } from 'commander';
import { exitOnError, faultArg, fileArg, intArg, portArg } from './args.js';
import { startServer } from './serve.js';

/** A config, model or label file problem: one line (the config's issues listed) and exit code 2. */
function exitOnUsageError(cmd: string, e: unknown): never {
  if (e instanceof Error && ['ModelFileError', 'LabelFileError', 'SwitchyardError'].includes(e.name)) {
    process.stderr.write(`switchyard ${cmd}: ${e.message}\n`);
    process.exit(2);
  }
  exitOnError(e);
}

const program = new Command();
program
  .name('switchyard')
  .description('LLM traffic router: cache, route, fall back, observe')
  .exitOverride()
  .showSuggestionAfterError(true)
  .configureHelp({ showGlobalOptions: false });
// Subcommands inherit exitOverride from the program; usage errors then exit 2 through exitOnError.

program
  .command('serve')
  .description('run the standalone gateway')
  .option('-c, --config <file>', 'YAML config file (default: $SWITCHYARD_CONFIG, else embedded defaults)', fileArg(), process.env.SWITCHYARD_CONFIG)
  .option('-p, --port <n>', 'port to listen on', portArg)
  .option('-H, --host <addr>', 'address to bind')
  .action(async (o: { config?: string; port?: number; host?: string }) => {
    try {
      await startServer({
        ...(o.config ? { configPath: o.config } : {}),
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.host ? { host: o.host } : {}),
        signals: true,
      });
    } catch (e) {
      exitOnError(e);
    }
  });

program
  .command('extproc')
  .description('run as an Envoy ext_proc external processor (gRPC)')
  .option('-c, --config <file>', 'YAML config file (default: $SWITCHYARD_CONFIG, else embedded defaults)', fileArg(), process.env.SWITCHYARD_CONFIG)
  .option('-p, --port <n>', 'gRPC port', portArg, 50051)
  .option('-m, --metrics-port <n>', 'port of the /metrics HTTP endpoint', portArg)
  .option('-H, --host <addr>', 'address to bind')
  .action(async (o: { config?: string; port: number; metricsPort?: number; host?: string }) => {
    // Loaded on demand: gRPC stays out of the other commands' start-up.
    const { startExtProc } = await import('../adapters/envoy/index.js');
    try {
      await startExtProc({
        ...(o.config ? { configPath: o.config } : {}),
        port: o.port,
        ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort } : {}),
        ...(o.host ? { host: o.host } : {}),
        signals: true,
      });
    } catch (e) {
      exitOnError(e);
    }
  });

program
  .command('cache-eval')
  .description('sweep semantic-cache thresholds over labelled pairs: precision, recall, F1, false hits (with and without the verifier)')
  .allowUnknownOption(true)
  .helpOption(false)
  .argument('[args...]', 'see `switchyard cache-eval --help`')
  .action(async (args: string[]) => {
    const { main } = await import('../eval/cache-eval-main.js');
    process.exitCode = await main(args);
  });

program
  .command('sidecar')
  .description('run a local llama.cpp server (node-llama-cpp) with the OpenAI-compatible API of llama-server')
  .requiredOption('-m, --model <file>', 'GGUF model file', fileArg())
  .option('-p, --port <n>', 'port to listen on', portArg, 8081)
  .option('-H, --host <addr>', 'address to bind', '127.0.0.1')
  .option('-t, --threads <n>', 'CPU threads', intArg(1), 1)
  .option('-c, --context-size <n>', 'context tokens per parallel slot', intArg(1), 2048)
  .option('--queue-size <n>', 'requests that may wait for a slot before 503', intArg(0), 16)
  .option('--parallel <n>', 'requests generated at once', intArg(1), 1)
  .option('-a, --alias <name>', 'model id in /v1/models (default: the file name)')
  .option('--no-embeddings', 'do not serve /v1/embeddings')
  .action(async (o: { model: string; port: number; host: string; threads: number; contextSize: number; queueSize: number; parallel: number; alias?: string; embeddings: boolean }) => {
    // Loaded on demand: node-llama-cpp stays out of the other commands' start-up.
    const { startSidecar } = await import('../sidecar/index.js');
    await startSidecar({
      modelPath: o.model,
      port: o.port,
      host: o.host,
      threads: o.threads,
      contextSize: o.contextSize,
      queueSize: o.queueSize,
      parallel: o.parallel,
      embeddings: o.embeddings,
      ...(o.alias ? { alias: o.alias } : {}),
      signals: true,
    });
  });

program
  .command('classify')
  .description('route prompts offline: one JSON decision (tier, model, signals, scores, reason) per input line; no upstream is called')
  .requiredOption('-i, --in <file>', 'JSON lines: {"prompt": "..."} or an OpenAI chat body per line ("-" for stdin)', fileArg(true))
  .option('-c, --config <file>', 'YAML config file (default: $SWITCHYARD_CONFIG, else embedded defaults)', fileArg(), process.env.SWITCHYARD_CONFIG)
  .option('-m, --model <file>', 'router model from `switchyard route-fit` (learned routing; prompts are embedded)')
  .action(async (o: { in: string; config?: string; model?: string }) => {
    const { classifyStream, openInput } = await import('../eval/classify.js');
    const { defaultConfig, loadConfigFile } = await import('../config/load.js');
    try {
      const cfg = o.config ? loadConfigFile(o.config) : defaultConfig();
      await classifyStream(cfg, openInput(o.in), (line) => process.stdout.write(line), o.model ? { model: o.model } : {});
    } catch (e) {
      exitOnUsageError('classify', e);
    }
  });

program
  .command('route-fit')
  .description('fit the learned router from a labelled JSON-lines file (see docs/routing-learned.md) and write a model file')
  .requiredOption('-l, --labels <file>', 'JSON lines: {"prompt", "weak_correct", "strong_correct"} or {"prompt", "ok"}')
  .requiredOption('-o, --out <file>', 'model file to write (JSON)')
  .option('-c, --config <file>', 'YAML config file: its cache.semantic.embedding embeds the prompts', process.env.SWITCHYARD_CONFIG)
  .option('-t, --tier <name>', "the cheaper tier the labels' weak side stands for (default: the ladder's second-strongest)")
  .option('--embeddings <file>', 'cache of prompt embeddings (reused across runs)')
  .option('--prior <mode>', 'signals (default): logistic prior over complexity and length; probe: the embedding probe; gain: the probe, neighbours voting on the quality gain, settings by inner cross-validation')
  .action(async (o: { labels: string; out: string; config?: string; tier?: string; embeddings?: string; prior?: string }) => {
    const { routeFit } = await import('../eval/route-fit-main.js');
    try {
      process.exitCode = await routeFit(o);
    } catch (e) {
      exitOnUsageError('route-fit', e);
    }
  });

const shadow = program.command('shadow').description('shadow degradation tests: what a cheaper tier would have answered');
shadow
  .command('report')
  .description('per task type and complexity band: samples, agreement, judge score, saving, and a downgrade recommendation (Wilson bound)')
  .option('-c, --config <file>', 'YAML config file (its `shadow.store` is read)', fileArg(), process.env.SWITCHYARD_CONFIG)
  .option('--apply <out.yaml>', 'write the config with the suggested routing.taskThresholds (validated first)')
  .option('--since <duration>', 'only results newer than this (30m, 12h, 7d)')
  .option('--json', 'print the report as JSON')
  .action(async (o: { config?: string; apply?: string; since?: string; json?: boolean }) => {
    const { shadowReport } = await import('../shadow/cli.js');
    try {
      process.exitCode = await shadowReport(o);
    } catch (e) {
      exitOnError(e);
    }
  });

const keys = program.command('keys').description('Switchyard-issued virtual keys (auth.mode: keys) in a file or Redis store');
const keysOpts = (c: Command) =>
  c
    .option('-c, --config <file>', 'YAML config file (its auth.keys is read)', process.env.SWITCHYARD_CONFIG)
    .option('--file <path>', 'use this JSON key file as the store')
    .option('--redis <url>', 'use this Redis as the store')
    .option('--prefix <prefix>', 'Redis key prefix (default auth.keys.redis.keyPrefix)')
    .option('--json', 'print JSON');
keysOpts(keys.command('create').description('create a key; the key is printed once'))
  .requiredOption('--tenant <name>', 'the tenant the key acts as')
  .option('--team <name>', 'team (budgets by: team)')
  .option('--name <label>', 'a label for people')
  .option('--models <list>', 'comma-separated models the key may request (incl. switchyard/auto)')
  .option('--tiers <list>', 'comma-separated tiers the key may be routed to')
  .option('--expires <when>', 'a duration from now (30d, 12h) or an ISO date-time')
  .option('--daily-usd <usd>', 'hard daily cap for this key')
  .option('--monthly-usd <usd>', 'hard monthly cap for this key')
  .option('--rpm <n>', 'requests per minute for this key')
  .option('--tpm <n>', 'tokens per minute for this key')
  .action(async (o) => {
    const { keysCreate } = await import('./keys.js');
    process.exitCode = await keysCreate(o as Parameters<typeof keysCreate>[0]);
  });
keysOpts(keys.command('list').description('list keys (never the key or its digest)')).action(async (o) => {
  const { keysList } = await import('./keys.js');
  process.exitCode = await keysList(o as Parameters<typeof keysList>[0]);
});
keysOpts(keys.command('revoke').description('delete a key: requests with it get 401').argument('<id>', 'key id')).action(async (id: string, o) => {
  const { keysRevoke } = await import('./keys.js');
  process.exitCode = await keysRevoke({ ...(o as Parameters<typeof keysRevoke>[0]), id });
});
keysOpts(keys.command('rotate').description('new secret for the same key id; the old key stops working').argument('<id>', 'key id')).action(async (id: string, o) => {
  const { keysRotate } = await import('./keys.js');
  process.exitCode = await keysRotate({ ...(o as Parameters<typeof keysRotate>[0]), id });
});

for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
  keysOpts(keys.command(name).description(disabled ? 'refuse a key (401) but keep it' : 'accept a disabled key again').argument('<id>', 'key id')).action(async (id: string, o) => {
    const { keysSetDisabled } = await import('./keys.js');
    process.exitCode = await keysSetDisabled({ ...(o as Parameters<typeof keysSetDisabled>[0]), id, disabled });
  });
}

program
  .command('mock')
  .description('run a mock LLM provider (OpenAI and Anthropic APIs, deterministic answers, faults on request) for tests and demos')
  .option('-p, --port <n>', 'port to listen on', portArg, 8090)
  .option('-H, --host <addr>', 'address to bind', '127.0.0.1')
  .option('--text <answer>', 'answer this text (default: echo the last user message)')
  .option('--latency-ms <n>', 'wait before the response headers', intArg(0), 0)
  .option('--tokens-per-second <n>', 'pace of streamed answers (0: all at once)', intArg(0), 0)
  .option('--fault <fault>', 'fail every request: an HTTP status (400-599), timeout, disconnect or truncate', faultArg)
  .option('--name <name>', 'answers `[mock:fault=...@name]` directives addressed to this name', 'mock')
  .action(async (o: { port: number; host: string; text?: string; latencyMs: number; tokensPerSecond: number; fault?: import('../config/mock.js').MockFault; name: string }) => {
    const { startMockCli } = await import('./mock.js');
    await startMockCli(o);
  });

program
  .command('demo')
  .description('try Switchyard without keys: the gateway with two tiers of mock upstreams, sample traffic (routing, exact and semantic hits, a fallback), then the dashboard')
  .option('-p, --port <n>', 'port to listen on (0: any free one)', portArg, 8080)
  .option('-H, --host <addr>', 'address to bind', '127.0.0.1')
  .option('--once', 'stop after the sample traffic instead of serving on')
  .option('--print-config', "print the demo's YAML config and exit")
  .action(async (o: { port: number; host: string; once?: boolean; printConfig?: boolean }) => {
    const { runDemo, DEMO_CONFIG_YAML } = await import('./demo.js');
    if (o.printConfig) {
      process.stdout.write(DEMO_CONFIG_YAML);
      return;
    }
    const { createLogger } = await import('../observability/logger.js');
    await runDemo({ port: o.port, host: o.host, ...(o.once ? { once: true } : {}), logger: createLogger(process.env.SWITCHYARD_LOG_LEVEL ?? 'warn'), signals: !o.once });
  });

await program.parseAsync(process.argv).catch(exitOnError);
