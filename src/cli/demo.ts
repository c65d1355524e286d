/**
 * `switchyard demo`: the gateway with two tiers of mock upstreams (no keys,
 * no network), and a little traffic that shows a routing decision, an exact
 * hit, a semantic hit, the strong tier, and a fallback, each with the
 * headers that explain it. Then it prints the dashboard URL and keeps serving
 * (or stops, with `--once`).
 */
import { parseConfig } from '../config/load.js';
import type { SwitchyardConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { startServer, type RunningServer } from './serve.js';

/** The demo's configuration: a complete Switchyard config you can copy. */
export const DEMO_CONFIG_YAML = `# Two tiers of mock upstreams: no keys, no network.
server: { host: 127.0.0.1, port: 8080 }
upstreams:
  - name: mock-small                 # the cheap tier: echoes the question
    kind: mock
    mock: { response: echo, tokensPerSecond: 200 }
    models: [{ name: demo-small, inputPricePer1M: 0.15, outputPricePer1M: 0.60 }]
    retry: { max: 0 }                # no retry here: a failure falls back at once
  - name: mock-large                 # the strong tier speaks the Anthropic API
    kind: mock
    mock: { protocol: anthropic, response: text, latencyMs: 100, text: "A considered answer from the large mock model." }
    models: [{ name: demo-large, inputPricePer1M: 3.00, outputPricePer1M: 15.00 }]
tiers:
  - { name: small, models: [demo-small] }
  - { name: large, models: [demo-large] }
fallbacks:
  demo-small: [demo-large]
defaultModel: demo-small
routing:
  ladder: [small, large]             # switchyard/auto: complexity < 0.5 -> small, else large
  thresholds: [0.5]
cache:
  store: memory
  semantic: { enabled: true }        # local sentence embeddings (Universal Sentence Encoder lite)
`;

/** One step of the demo traffic and what Switchyard answered. */
export interface DemoStep {
  title: string;
  model: string;
  prompt: string;
  status: number;
  cache: string | null;
  similarity: string | null;
  tier: string | null;
  upstream: string | null;
  attempts: string | null;
  route: string | null;
  answer: string;
}

const HARD =
  'Design a distributed rate limiter in Rust: first analyse the trade-offs between token bucket and sliding window, then implement it step by step with unit tests, and prove that it never exceeds the limit under concurrent access.';

/** The demo's requests. */
export const DEMO_REQUESTS: { title: string; model: string; prompt: string }[] = [
  { title: 'routing: an easy question goes to the small tier', model: 'switchyard/auto', prompt: 'What is the capital of France?' },
  { title: 'exact cache hit: the same request again', model: 'switchyard/auto', prompt: 'What is the capital of France?' },
  { title: 'semantic cache hit: the same question, other words', model: 'switchyard/auto', prompt: "What's the capital of France?" },
  { title: 'routing: a hard multi-step task goes to the large tier', model: 'switchyard/auto', prompt: HARD },
  { title: 'fallback: mock-small is asked to fail this one (503), demo-large answers', model: 'demo-small', prompt: 'Summarise the plot of Hamlet in one line. [mock:fault=503@mock-small]' },
];

async function waitForStores(server: RunningServer, atLeast: number): Promise<void> {
  const cache = server.switchyard.cache;
  if (!cache) return;
  // The answer is cached after it is sent; wait (bounded) for the write before asking again.
  for (let i = 0; i < 500 && cache.stats().stores < atLeast; i++) await new Promise((r) => setTimeout(r, 10));
}

async function send(url: string, r: { title: string; model: string; prompt: string }): Promise<DemoStep> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer demo-key' },
    body: JSON.stringify({ model: r.model, messages: [{ role: 'user', content: r.prompt }] }),
  });
  const body = (await res.json()) as { choices?: { message?: { content?: string } }[]; error?: { message?: string } };
  const h = (n: string) => res.headers.get(`x-switchyard-${n}`);
  return {
    ...r,
    status: res.status,
    cache: h('cache'),
    similarity: h('similarity'),
    tier: h('tier'),
    upstream: h('upstream'),
    attempts: h('attempts'),
    route: h('route'),
    answer: body.choices?.[0]?.message?.content ?? body.error?.message ?? '',
  };
}

function show(s: DemoStep, i: number): string {
  const short = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  const lines = [
    `${i + 1}. ${s.title}`,
    `   > ${s.model}: ${short(s.prompt, 70)}`,
    `   < ${s.status} ${short(s.answer, 70)}`,
    `     cache=${s.cache}${s.similarity ? ` (similarity ${s.similarity})` : ''}  tier=${s.tier ?? '-'}  upstream=${s.upstream ?? '-'}  attempts=${s.attempts}`,
  ];
  if (s.route) lines.push(`     route: ${short(s.route, 110)}`);
  return lines.join('\n');
}

export interface DemoOptions {
  port?: number;
  host?: string;
  /** Stop after the traffic instead of serving on. */
  once?: boolean;
  /** Where the walkthrough is printed (default stdout). */
  write?: (text: string) => void;
  logger?: Logger;
  signals?: boolean;
}

/**
 * Runs the demo: starts the gateway, sends the traffic, prints what happened.
 *
 * @example
 * const { server, steps } = await runDemo({ port: 0, once: false });
 * steps[1].cache; // 'hit-exact'
 * await server.close();
 */
export async function runDemo(o: DemoOptions = {}): Promise<{ server: RunningServer; steps: DemoStep[]; config: SwitchyardConfig }> {
  const write = o.write ?? ((t: string) => void process.stdout.write(t));
  const config = parseConfig(DEMO_CONFIG_YAML, {});
  write('Switchyard demo: two tiers of mock upstreams, no API keys, nothing leaves this machine.\nLoading the local sentence embedder for the semantic cache...\n');
  const server = await startServer({
    config,
    port: o.port ?? config.server.port,
    host: o.host ?? config.server.host,
    env: {},
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.signals ? { signals: true } : {}),
  });
  const steps: DemoStep[] = [];
  try {
    const embedder = server.switchyard.cache?.embedder;
    await embedder?.ready();
    // Routing's task prototypes are embedded at start on the same embedder (its worker thread); until
    // that is done a lookup would find it busy (`miss-embedder-busy`). Give it up to a minute.
    const queued = () => (embedder as { queued?: number } | undefined)?.queued ?? 0;
    for (let i = 0; i < 6000 && queued() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    write(`Gateway on ${server.url}\n\n`);
    for (const [i, r] of DEMO_REQUESTS.entries()) {
      const stores = server.switchyard.cache?.stats().stores ?? 0;
      const step = await send(server.url, r);
      steps.push(step);
      write(`${show(step, i)}\n\n`);
      if (step.status === 200 && step.cache === 'miss') await waitForStores(server, stores + 1);
    }
  } catch (e) {
    await server.close();
    throw e;
  }
  write(`Dashboard: ${server.url}/switchyard/dashboard\nMetrics:   ${server.url}/metrics\nTry it:    curl -s ${server.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"switchyard/auto","messages":[{"role":"user","content":"hello"}]}'\n`);
  if (o.once) await server.close();
  else write('\nServing until Ctrl-C. The config is DEMO_CONFIG_YAML in src/cli/demo.ts (`switchyard demo --print-config`).\n');
  return { server, steps, config };
}
