/** Starts `switchyard serve` in-process on 127.0.0.1:0 with a YAML config (real HTTP, real upstream fakes). */
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';

export const quietLogger = pino({ level: 'silent' });

/** Starts a gateway; the response cache is off unless the YAML has a `cache:` section. */
export async function startGateway(yaml: string, env: NodeJS.ProcessEnv = process.env, opts: { clock?: () => number } = {}): Promise<RunningServer> {
  const config = parseConfig(/^cache:/m.test(yaml) ? yaml : `${yaml}\ncache: { enabled: false }\n`, env);
  return startServer({ config, port: 0, host: '127.0.0.1', env, logger: quietLogger, ...opts });
}

/**
 * A clock for rate limits and budgets, frozen 30 s into the current minute:
 * a burst it counts never straddles a rate-limit window, however slow the
 * machine, and no test has to wait for a minute boundary to pass.
 */
export function midMinuteClock(): () => number {
  const t = Math.floor(Date.now() / 60_000) * 60_000 + 30_000;
  return () => t;
}

/** An upstream block for a fake, with fast test timeouts and retry delays. */
export function upstreamYaml(
  name: string,
  url: string,
  models: string | { name: string; contextWindow?: number }[],
  extra: { kind?: 'openai-compatible' | 'anthropic'; retries?: number; firstTokenMs?: number; idleMs?: number; apiKeyEnv?: string; breaker?: string } = {},
): string {
  const list = typeof models === 'string' ? [{ name: models }] : models;
  return `  - name: ${name}
    kind: ${extra.kind ?? 'openai-compatible'}
    baseUrl: ${url}
${extra.apiKeyEnv ? `    apiKeyEnv: ${extra.apiKeyEnv}\n` : ''}    models:
${list.map((m) => `      - { name: ${m.name}${m.contextWindow ? `, contextWindow: ${m.contextWindow}` : ''} }`).join('\n')}
    timeouts: { connectMs: 1000, firstTokenMs: ${extra.firstTokenMs ?? 2000}, idleMs: ${extra.idleMs ?? 2000}, totalMs: 10000 }
    retry: { max: ${extra.retries ?? 1}, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1500 }
    breaker: ${extra.breaker ?? '{ volumeThreshold: 50, errorThresholdPercentage: 50, resetTimeoutMs: 10000 }'}
`;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Parses an SSE body into `{event, data}` pairs. */
export function sseEvents(text: string): { event?: string; data: string }[] {
  const out: { event?: string; data: string }[] = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    out.push({ ...(event ? { event } : {}), data: data.join('\n') });
  }
  return out;
}

export function chat(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'primary-model', messages: [{ role: 'user', content: text }], ...extra };
}
