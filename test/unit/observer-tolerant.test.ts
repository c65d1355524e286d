/**
 * The response observer (Envoy's face: Envoy makes the upstream call) decodes
 * tolerantly, like serve and Express: an unparsable event is skipped and the
 * answer is complete but not cached; a clean end after the finish reason
 * without [DONE] is complete.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import type { DecisionRecord } from '../../src/observability/events.js';

const CHUNK = (content: string, finish: string | null = null) =>
  `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`;

async function observe(body: string[]): Promise<{ rec: DecisionRecord; hitAfter: boolean; breaker: string }> {
  const sy = new Switchyard(
    parseConfig(`
upstreams:
  - { name: up, kind: openai-compatible, baseUrl: http://127.0.0.1:9/v1, models: [{ name: m }] }
cache: { semantic: { enabled: false } }
`, {}),
    { env: {} },
  );
  const recs: DecisionRecord[] = [];
  sy.events.on('decision', (r) => recs.push(r));
  const req = { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] })) };
  const out = await sy.decide(req);
  if (out.type !== 'forward') throw new Error('expected a forward');
  const o = sy.observer(out);
  o.onHeaders(200, 'text/event-stream');
  body.forEach((b, i) => o.onBody(Buffer.from(b), i === body.length - 1));
  // The cache write runs in the background: give it time to land (a hit ends the wait early).
  let again = await sy.decide(req);
  for (let i = 0; i < 750 && again.type !== 'respond'; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await sy.decide(req);
  }
  const breaker = sy.registry.deployment('m')!.breaker.state;
  await sy.close();
  return { rec: recs.at(-1)!, hitAfter: again.type === 'respond', breaker };
}

describe('ResponseObserver, tolerant decoding', () => {
  it('skips an unparsable event: complete, healthy, not cached', async () => {
    const r = await observe([CHUNK('Hel'), 'data: {"id":"x","choices":[{"delta":{"content":"oops\n\n', CHUNK('lo', 'stop'), 'data: [DONE]\n\n']);
    expect(r.rec).toMatchObject({ complete: true, status: 200 });
    expect(r.hitAfter).toBe(false);
    expect(r.breaker).toBe('closed');
  });

  it('takes a clean end after the finish reason without [DONE] as complete (and caches it)', async () => {
    const r = await observe([CHUNK('Hel'), CHUNK('lo', 'stop')]);
    expect(r.rec).toMatchObject({ complete: true });
    expect(r.hitAfter).toBe(true);
  });

  it('still calls a stream that ends before any finish reason incomplete', async () => {
    const r = await observe([CHUNK('Hel')]);
    expect(r.rec.complete).toBe(false);
    expect(r.hitAfter).toBe(false);
  });
});
