/** Shared pieces of the mid-stream resume tests: a config with one upstream per provider, raw HTTP with trailers. */
import { request } from 'node:http';
import type { RunningServer } from '../../src/cli/serve.js';

/** The canonical answer every fake gives; resumed streams must deliver it whole, once. */
export const ANSWER = 'The quick brown fox jumps over the lazy dog, then naps beside the quiet river until sunset.';

export const RESUME_ENV = { TEST_OPENAI_KEY: 'sk-test-openai', TEST_ANTHROPIC_KEY: 'sk-ant-test' };

/**
 * One OpenAI-compatible upstream (gpt-4o, gpt-4o-mini) and one Anthropic
 * upstream (claude-sonnet, claude-haiku), the way users configure them.
 */
export function resumeYaml(o: { oai: string; ant: string; fallbacks: string; idleMs?: number; firstTokenMs?: number; prefill?: boolean; extra?: string }): string {
  const t = `{ connectMs: 1000, firstTokenMs: ${o.firstTokenMs ?? 3000}, idleMs: ${o.idleMs ?? 3000}, totalMs: 20000 }`;
  const retry = '{ max: 1, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 1500 }';
  const breaker = '{ volumeThreshold: 50, errorThresholdPercentage: 50, resetTimeoutMs: 10000 }';
  return `
upstreams:
  - name: openai
    kind: openai-compatible
    baseUrl: ${o.oai}
    apiKeyEnv: TEST_OPENAI_KEY
    prefill: ${o.prefill ?? false}
    models: [{ name: gpt-4o }, { name: gpt-4o-mini }]
    timeouts: ${t}
    retry: ${retry}
    breaker: ${breaker}
  - name: anthropic
    kind: anthropic
    baseUrl: ${o.ant}
    apiKeyEnv: TEST_ANTHROPIC_KEY
    models: [{ name: claude-sonnet }, { name: claude-haiku }]
    timeouts: ${t}
    retry: ${retry}
    breaker: ${breaker}
fallbacks:
${o.fallbacks}
${o.extra ?? ''}`;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | undefined>;
  text: string;
}

/** POSTs JSON with node:http (fetch does not expose HTTP trailers). */
export function postRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, text: Buffer.concat(parts).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The text of an OpenAI chat stream, its chunks, and whether it ended with [DONE]. */
export function openAIStream(text: string): { text: string; chunks: Record<string, any>[]; done: boolean; error?: Record<string, any> } {
  const chunks: Record<string, any>[] = [];
  let done = false;
  let error: Record<string, any> | undefined;
  for (const block of text.split('\n\n')) {
    const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    if (data === '') continue;
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const j = JSON.parse(data) as Record<string, any>;
    if (j['error']) error = j['error'];
    else chunks.push(j);
  }
  const out = chunks.map((c) => c['choices']?.[0]?.delta?.content ?? '').join('');
  return { text: out, chunks, done, ...(error ? { error } : {}) };
}

/** Reads one sample of a counter from the gateway's /metrics. */
export async function metricValue(gw: RunningServer, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

export function chatBody(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content: 'Tell me about the fox.' }], stream: true, ...extra };
}
