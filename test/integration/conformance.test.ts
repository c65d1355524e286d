/**
 * Conformance: one table of scenarios run through the Express face and the
 * Envoy ext_proc face, each over real servers and real fake providers. Both
 * faces must reach the same decisions: status, upstream, cache result, error
 * code. The one documented difference is *within* the request that fails:
 * Express fails over inside it, Envoy returns it (Envoy made the call) — the
 * next request must be routed alike.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { switchyard } from '../../src/adapters/express/index.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import type { Behavior, FakeProvider } from '../fixtures/fake-common.js';
import { origin, startExtProcHarness } from '../fixtures/envoy-setup.js';

interface Req {
  path: string;
  body: string;
}

/** What a face decided, as the client sees it. */
interface Decision {
  status: number;
  upstream: string | undefined;
  cache: string | undefined;
  error: string | undefined;
}

interface Step {
  req: Req;
  /** Expected decision (fields given are compared); omitted: the faces may differ here (see `why`). */
  expect?: Partial<Decision>;
  why?: string;
  /** Repeat until the cache serves it (the write after an answer may land a moment later). */
  untilHit?: boolean;
}

interface Scenario {
  name: string;
  /** Behaviours of the fake providers before the first step. */
  primary?: Behavior[];
  backup?: Behavior[];
  steps: Step[];
}

const chat = (model: string, content = 'hello', extra: Record<string, unknown> = {}): Req => ({
  path: '/v1/chat/completions',
  body: JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra }),
});

const SCENARIOS: Scenario[] = [
  { name: 'miss', steps: [{ req: chat('fast', 'a miss'), expect: { status: 200, upstream: 'primary', cache: 'miss' } }] },
  {
    name: 'hit',
    steps: [
      { req: chat('fast', 'twice'), expect: { status: 200, upstream: 'primary', cache: 'miss' } },
      { req: chat('fast', 'twice'), untilHit: true, expect: { status: 200, cache: 'hit-exact' } },
    ],
  },
  {
    name: 'streamed hit',
    steps: [
      { req: chat('fast', 'stream twice', { stream: true }), expect: { status: 200, upstream: 'primary', cache: 'miss' } },
      { req: chat('fast', 'stream twice', { stream: true }), untilHit: true, expect: { status: 200, cache: 'hit-exact' } },
    ],
  },
  { name: 'route choice: switchyard/auto → the default model', steps: [{ req: chat('switchyard/auto'), expect: { status: 200, upstream: 'primary' } }] },
  { name: 'route choice: an explicit model', steps: [{ req: chat('backup-model'), expect: { status: 200, upstream: 'backup' } }] },
  { name: 'route choice: a pinned tier', steps: [{ req: chat('switchyard/cheap'), expect: { status: 200, upstream: 'backup' } }] },
  {
    name: 'rejection: malformed JSON',
    steps: [{ req: { path: '/v1/chat/completions', body: '{"model":"fast","messages":[' }, expect: { status: 400, error: 'invalid_json', upstream: undefined } }],
  },
  {
    name: 'rejection: invalid request',
    steps: [{ req: { path: '/v1/chat/completions', body: JSON.stringify({ model: 'fast' }) }, expect: { status: 400, upstream: undefined } }],
  },
  { name: 'rejection: unknown model', steps: [{ req: chat('no-such-model'), expect: { status: 404, error: 'model_not_found', upstream: undefined } }] },
  {
    name: 'fallback after failures',
    primary: [{ kind: 'status', status: 503 }, { kind: 'ok' }],
    steps: [
      { req: chat('fast', 'first'), why: 'Express fails over within the request (200 from backup); Envoy returns the 503 it got' },
      { req: chat('fast', 'second'), expect: { status: 200, upstream: 'backup' } },
      { req: chat('fast', 'third'), expect: { status: 200, upstream: 'backup' } },
    ],
  },
];

let primary: FakeProvider;
let backup: FakeProvider;

function yaml(): string {
  return `
upstreams:
  - name: primary
    kind: openai-compatible
    baseUrl: ${primary.url}
    models: [{ name: fast, upstreamModel: gpt-4o-mini }]
    retry: { max: 0 }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
  - name: backup
    kind: openai-compatible
    baseUrl: ${backup.url}
    models: [{ name: backup-model }]
    retry: { max: 0 }
    breaker: { volumeThreshold: 1, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
tiers:
  - { name: cheap, models: [backup-model] }
fallbacks:
  fast: [backup-model]
defaultModel: fast
cache: { enabled: true, store: memory, semantic: { enabled: false } }
`;
}

/** A face under test: sends one client request, returns the client's view of the decision. */
interface Face {
  send(req: Req): Promise<Decision & { body: string }>;
  close(): Promise<void>;
}

function decision(status: number, headers: Record<string, string | undefined>, body: string): Decision & { body: string } {
  let error: string | undefined;
  if (status >= 400) {
    try {
      const j = JSON.parse(body) as { error?: { code?: string } };
      error = j.error?.code ?? headers['x-switchyard-error'];
    } catch {
      error = headers['x-switchyard-error'];
    }
  }
  return { status, upstream: headers['x-switchyard-upstream'], cache: headers['x-switchyard-cache'], error, body };
}

async function expressFace(): Promise<Face> {
  const env = {};
  const sy = new Switchyard(parseConfig(yaml(), env), { env });
  const app = express();
  const mw = switchyard({ switchyard: sy });
  app.use(mw);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async send(req) {
      const res = await fetch(base + req.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: req.body });
      const body = await res.text();
      const h: Record<string, string> = {};
      res.headers.forEach((v, k) => (h[k] = v));
      return decision(res.status, h, body);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await mw.close();
    },
  };
}

async function extProcFace(): Promise<Face> {
  const h = await startExtProcHarness(yaml(), { primary: origin(primary.url), backup: origin(backup.url) });
  return {
    async send(req) {
      const r = await h.envoy.request({ method: 'POST', path: req.path, headers: { 'content-type': 'application/json' }, body: req.body });
      return decision(r.status, r.headers, r.body);
    },
    close: () => h.close(),
  };
}

const FACES: [string, () => Promise<Face>][] = [
  ['express', expressFace],
  ['ext_proc', extProcFace],
];

async function run(face: () => Promise<Face>, s: Scenario): Promise<(Decision & { body: string })[]> {
  primary.setBehavior(s.primary ?? [{ kind: 'ok' }]);
  backup.setBehavior(s.backup ?? [{ kind: 'ok' }]);
  const f = await face();
  const out: (Decision & { body: string })[] = [];
  try {
    for (const step of s.steps) {
      let d = await f.send(step.req);
      for (let i = 0; step.untilHit && d.cache !== 'hit-exact' && i < 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
        d = await f.send(step.req);
      }
      out.push(d);
    }
  } finally {
    await f.close();
  }
  return out;
}

beforeAll(async () => {
  primary = await startFakeOpenAI();
  backup = await startFakeOpenAI();
});
afterAll(async () => {
  await primary.close();
  await backup.close();
});

describe.each(SCENARIOS)('conformance: $name', (s) => {
  it('reaches the same decisions through Express and ext_proc', async () => {
    const results: Record<string, (Decision & { body: string })[]> = {};
    for (const [name, face] of FACES) results[name] = await run(face, s);
    s.steps.forEach((step, i) => {
      if (!step.expect) return;
      for (const [name] of FACES) {
        const d = results[name]![i]!;
        const { body: _body, ...got } = d;
        expect({ face: name, step: i, ...got }).toMatchObject({ face: name, step: i, ...step.expect });
      }
      const [a, b] = FACES.map(([name]) => results[name]![i]!);
      expect({ status: b!.status, upstream: b!.upstream, cache: b!.cache, error: b!.error }).toEqual({
        status: a!.status,
        upstream: a!.upstream,
        cache: a!.cache,
        error: a!.error,
      });
      // Served the same answer text (ids and timestamps aside) when both answered 200 JSON.
      if (a!.status === 200 && !a!.body.startsWith('data:') && !a!.body.startsWith('event:')) {
        const text = (x: string) => (JSON.parse(x) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
        expect(text(b!.body)).toBe(text(a!.body));
      }
    });
  });
});
