/**
 * The feedback rate limit holds across gateway instances (issue 12): two
 * instances (serve and Express) sharing a Redis store count one tenant's
 * feedback together, so `auth.feedbackPerMinute: 3` admits three in all, not
 * three on each. The count is taken before the request id is looked at, so
 * unknown ids count like real ones (nobody probes ids past the limit).
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startFace, type RunningFace } from '../helpers/faces.js';
import { postJson, upstreamYaml } from '../helpers/gateway.js';

const RUN = randomBytes(4).toString('hex');
let oa: FakeProvider;
const faces: RunningFace[] = [];
const redis = createClient({ url: 'redis://127.0.0.1:6379' });

beforeAll(async () => {
  oa = await startFakeOpenAI();
  await redis.connect();
});
afterEach(async () => {
  await Promise.all(faces.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `sy-fbtest-${RUN}:*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
  await redis.close();
  await oa.close();
});

describe('feedback limit across two instances sharing Redis', () => {
  it('three per minute in all, whichever instance takes them; another tenant is not affected', async () => {
    const yaml = `upstreams:\n${upstreamYaml('oa', oa.url, 'm')}\ncache: { enabled: false }\naccounting: { store: redis, redis: { keyPrefix: "sy-fbtest-${RUN}:acct:" } }\nauth: { feedbackPerMinute: 3 }\n`;
    const a = await startFace('serve', yaml);
    faces.push(a);
    const b = await startFace('express', yaml);
    faces.push(b);
    // Keep the five inside one minute window.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5_000) await new Promise((r) => setTimeout(r, left + 50));
    const rate = (f: RunningFace, who: string, i: number) => postJson(`${f.url}/switchyard/feedback`, { request_id: `req-${RUN}-${i}`, score: 1 }, { authorization: `Bearer ${who}` });
    const statuses: number[] = [];
    for (const [i, f] of [a, b, a, b].entries()) statuses.push((await rate(f, 'tenant-one-key', i)).status);
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(statuses[3]).toBe(429);
    const again = await rate(a, 'tenant-one-key', 9);
    expect(again.status).toBe(429);
    expect(again.json).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await rate(b, 'tenant-two-key', 10)).status).not.toBe(429);
  });
});
