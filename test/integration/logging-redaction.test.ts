/**
 * Logs carry no secret: a gateway logging every decision, fed requests with
 * client keys, upstream keys echoed back in upstream errors, and prompts
 * holding PII and credentials; plus log calls the way code tends to write
 * them (headers, errors, interpolated messages). The captured output is
 * grepped for every key and PII value used.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger, scrubText } from '../../src/observability/logger.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson } from '../helpers/gateway.js';

const b62 = (n: number) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);
const UPSTREAM_KEY = `sk-proj-${b62(48)}`;
const ANTHROPIC_KEY = `sk-ant-api03-${b62(60)}`;
const CLIENT_KEY = `sk-client-${b62(40)}`;
const CLIENT_X_API_KEY = `sk-ant-api03-${b62(50)}`;
const PROMPT_KEY = `AKIA${b62(16).toUpperCase().replace(/[^A-Z0-9]/g, '7').padEnd(16, '7').slice(0, 16)}`;
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const SECRETS = [UPSTREAM_KEY, ANTHROPIC_KEY, CLIENT_KEY, CLIENT_X_API_KEY, PROMPT_KEY, EMAIL, CARD];

let oa: FakeProvider;
let ant: FakeProvider;
let gw: RunningServer;
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  },
});
const log = createLogger('debug', { destination: sink });

beforeAll(async () => {
  oa = await startFakeOpenAI({ apiKey: UPSTREAM_KEY });
  ant = await startFakeAnthropic();
  const env = { ...process.env, LOGTEST_OPENAI_KEY: UPSTREAM_KEY, LOGTEST_ANTHROPIC_KEY: ANTHROPIC_KEY };
  const config = parseConfig(
    `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: ${oa.url}
    apiKeyEnv: LOGTEST_OPENAI_KEY
    models: [{ name: gpt-4o-mini }]
    retry: { max: 0 }
  - name: ant
    kind: anthropic
    baseUrl: ${ant.url}
    apiKeyEnv: LOGTEST_ANTHROPIC_KEY
    models: [{ name: claude-3-5-haiku }]
    retry: { max: 0 }
cache: { enabled: false }
observability: { logging: { decisions: true } }
`,
    env,
  );
  gw = await startServer({ config, port: 0, host: '127.0.0.1', env, logger: log });
});

afterAll(async () => {
  await gw?.close();
  await oa?.close();
  await ant?.close();
});

describe('logs', () => {
  it('contain no API key, token or detected PII after real traffic and careless log calls', async () => {
    const prompt = `My email is ${EMAIL}, card ${CARD}, and my AWS key is ${PROMPT_KEY}. Summarise.`;
    const a = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] }, { authorization: `Bearer ${CLIENT_KEY}` });
    expect(a.status).toBe(200);
    const b = await postJson(`${gw.url}/v1/messages`, { model: 'claude-3-5-haiku', max_tokens: 50, messages: [{ role: 'user', content: prompt }] }, { 'x-api-key': CLIENT_X_API_KEY });
    expect(b.status).toBe(200);
    // The upstream refuses and quotes the key back (as real providers do, partly); the reason lands in the decision record.
    oa.setBehavior({ kind: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${UPSTREAM_KEY}`, type: 'invalid_request_error' } } });
    const c = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${CLIENT_KEY}` });
    expect(c.status).toBeGreaterThanOrEqual(400);
    oa.setBehavior({ kind: 'ok' });

    // What a handler might log by mistake.
    log.info({ req: { headers: { authorization: `Bearer ${CLIENT_KEY}`, 'x-api-key': CLIENT_X_API_KEY } } }, 'incoming request');
    log.info({ headers: { Authorization: `Bearer ${CLIENT_KEY}` }, upstream: { apiKey: UPSTREAM_KEY } }, 'forwarding');
    log.warn({ err: new Error(`upstream said: bad key ${ANTHROPIC_KEY}`) }, 'upstream failed');
    log.info(`user wrote: ${prompt}`);
    log.debug({ body: { messages: [{ role: 'user', content: prompt }] } }, 'request body');

    const out = lines.join('\n');
    expect(lines.filter((l) => l.includes('"msg":"decision"')).length).toBe(3);
    for (const s of SECRETS) expect(out, `log output contains ${s.slice(0, 12)}…`).not.toContain(s);
    // Not even a long fragment of a key.
    for (const k of [UPSTREAM_KEY, ANTHROPIC_KEY, CLIENT_KEY, CLIENT_X_API_KEY]) expect(out).not.toContain(k.slice(-24));
    // The lines are still useful: what was there is named.
    expect(out).toContain('[redacted:email]');
    expect(out).toContain('[redacted');
    expect(out).toContain('"upstream failed"');
    expect(out).toMatch(/"err":\{"type":"Error","message":"upstream said: bad key \[redacted:secret\]"/);
  });

  it('scrubs text the same way outside pino', () => {
    expect(scrubText(`Bearer ${CLIENT_KEY}`)).toBe('Bearer [redacted]');
    expect(scrubText(`mail ${EMAIL} now`)).toBe('mail [redacted:email] now');
    expect(scrubText('nothing to see here, order 12345 on 2025-01-02')).toBe('nothing to see here, order 12345 on 2025-01-02');
  });
});
