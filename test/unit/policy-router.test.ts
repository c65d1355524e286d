/**
 * The router's decisions on a fixed upstream state: tiers from signals,
 * privacy, budget, context, SLA, load, A/B, rules and config checks. The
 * upstreams are never called (routing makes no network calls); the same
 * decisions through `switchyard serve` are in test/integration/routing-*.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { SwitchyardError } from '../../src/errors.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { Router } from '../../src/routing/router.js';
import { route as plainRoute } from '../../src/routing/policy.js';
import { UpstreamRegistry } from '../../src/upstream/registry.js';

const HARD =
  'Design a distributed rate limiter in Rust: first analyse the trade-offs between token bucket and sliding window, then implement it step by step with unit tests, and prove that it never exceeds the limit under concurrent access.';
const MID = 'Write a python function that reverses a linked list.';

function yaml(routing: string): string {
  return `
upstreams:
  - name: local
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    local: true
    models: [{ name: local-llama, contextWindow: 8192 }]
  - name: cloud-a
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models:
      - { name: mini, contextWindow: 128000, inputPricePer1M: 0.15, outputPricePer1M: 0.6 }
      - { name: big-a, contextWindow: 128000, inputPricePer1M: 3, outputPricePer1M: 15 }
  - name: cloud-b
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models:
      - { name: big-b, contextWindow: 200000, inputPricePer1M: 2.5, outputPricePer1M: 10 }
tiers:
  - { name: LOW, models: [local-llama] }
  - { name: MEDIUM, models: [mini] }
  - { name: HIGH, models: [big-a, big-b] }
  - { name: AGENTIC, models: [big-b] }
${routing}
`;
}

let open: { router: Router; reg: UpstreamRegistry }[] = [];
function make(routing = 'routing: {}'): { router: Router; reg: UpstreamRegistry } {
  const cfg = parseConfig(yaml(routing), {});
  const reg = new UpstreamRegistry(cfg, {});
  const r = { router: new Router(cfg, reg, { pollers: false }), reg };
  open.push(r);
  return r;
}
afterEach(async () => {
  for (const { router, reg } of open) {
    await router.close();
    await reg.close();
  }
  open = [];
});

function req(text: string, extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { operation: 'chat', protocol: 'openai', model: 'switchyard/auto', messages: [{ role: 'user', content: text }], stream: false, extra: {}, ...extra };
}
const names = (d: { candidates: { model: { name: string } }[] }) => d.candidates.map((c) => c.model.name);

describe('switchyard/auto: signals pick the tier', () => {
  it('sends a greeting to LOW, a mid-size coding task to MEDIUM and a hard multi-step one to HIGH, saying why', () => {
    const { router } = make();
    const low = router.route({ req: req('hi') });
    expect(low.tier).toBe('LOW');
    expect(names(low)).toEqual(['local-llama']);
    expect(low.reason).toMatch(/^auto: complexity 0\.\d\d < 0\.25 -> LOW; task chat$/);
    const mid = router.route({ req: req(MID) });
    expect(mid.tier).toBe('MEDIUM');
    expect(mid.reason).toMatch(/complexity 0\.\d\d < 0\.70 -> MEDIUM; task code/);
    const high = router.route({ req: req(HARD) });
    expect(high.tier).toBe('HIGH');
    expect(names(high)).toEqual(['big-a', 'big-b']);
    expect(high.reason).toMatch(/complexity [01]\.\d\d >= 0\.70 -> HIGH; task code/);
    expect(high.signals?.complexity).toBeGreaterThan(0.7);
  });

  it('sends requests with tools to the agentic tier', () => {
    const { router } = make();
    const d = router.route({ req: req('What is the weather in Paris?', { tools: [{ name: 'get_weather', parameters: { type: 'object' } }] }) });
    expect(d.tier).toBe('AGENTIC');
    expect(d.reason).toContain('tools -> AGENTIC');
  });

  it('applies operator rules: a tier target, and local-only', () => {
    const { router } = make(`routing:
  rules:
    - { name: legal, pattern: '\\b(contract|lawsuit)\\b', flags: i }
    - { name: internal, pattern: 'INTERNAL ONLY' }
    - { name: café, pattern: 'espresso' }
  ruleTiers: { legal: HIGH, internal: local-only, café: MEDIUM }`);
    expect(router.route({ req: req('hi, espresso?') }).reason).toContain('rule caf? -> MEDIUM');
    const legal = router.route({ req: req('hi, quick question about my contract') });
    expect(legal.tier).toBe('HIGH');
    expect(legal.reason).toContain('rule legal -> HIGH');
    const internal = router.route({ req: req(`INTERNAL ONLY: ${HARD}`) });
    expect(names(internal)).toEqual(['local-llama']);
    expect(internal.reason).toContain('rule internal -> local-only');
  });

  it('pins a tier case-insensitively and 404s an unknown one; explicit models pass through with their fallbacks', () => {
    const { router } = make();
    expect(names(router.route({ req: req('hi', { model: 'switchyard/high' }) }))).toEqual(['big-a', 'big-b']);
    expect(() => router.route({ req: req('x', { model: 'switchyard/nope' }) })).toThrow(/no tier named "nope"/);
    const e = router.route({ req: req(HARD, { model: 'mini' }) });
    expect(names(e)).toEqual(['mini']);
    expect(e.reason).toBe('explicit model');
    expect(() => router.route({ req: req('x', { model: 'gpt-9' }) })).toThrow(SwitchyardError);
  });
});

describe('privacy: sensitive requests stay local', () => {
  it.each([
    ['an e-mail address', 'Draft a reply to jane.doe@example.com about the invoice', 'email'],
    ['a card number', 'Is this card valid: 4111 1111 1111 1111?', 'credit-card'],
    ['a private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\nwhat is this?', 'private-key'],
  ])('keeps %s local even when a cloud model is named', (_what, text, kind) => {
    const { router } = make();
    for (const model of ['big-a', 'switchyard/auto', 'switchyard/HIGH']) {
      const d = router.route({ req: req(text, { model }) });
      expect(names(d)).toEqual(['local-llama']);
      expect(d.localOnly).toBe(true);
      expect(d.reason).toContain(`privacy (${kind}) -> local-only`);
    }
    expect(router.route({ req: req(text, { model: 'big-a' }) }).reason).toContain('big-a overridden');
  });

  it('answers 503, never a cloud model, when no local upstream is usable', () => {
    const { router } = make();
    router.load.setDown('local', 'health check failed (ECONNREFUSED)');
    let err: unknown;
    try {
      router.route({ req: req('mail me at jane.doe@example.com', { model: 'big-a' }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SwitchyardError);
    expect((err as SwitchyardError).status).toBe(503);
    expect((err as SwitchyardError).message).toContain('may only go to a local upstream');
    expect((err as SwitchyardError).message).toContain('ECONNREFUSED');
  });

  it('covers embedding inputs too', () => {
    const { router } = make();
    const d = router.route({ req: { operation: 'embedding', protocol: 'openai', model: 'big-a', messages: [], input: ['ok', 'call +1 415 555 0132 or jane.doe@example.com'], stream: false, extra: {} } });
    expect(names(d)).toEqual(['local-llama']);
    expect(d.reason).toContain('privacy (email');
  });

  it('can leave explicit models alone when configured to', () => {
    const { router } = make('routing: { privacy: { explicitModels: false } }');
    expect(names(router.route({ req: req('mail jane.doe@example.com', { model: 'big-a' }) }))).toEqual(['big-a']);
  });
});

describe('constraints', () => {
  it('budget soft: auto goes one tier down; a pinned tier goes cheapest first', () => {
    const { router } = make();
    const d = router.route({ req: req(HARD), budget: 'soft' });
    expect(d.tier).toBe('MEDIUM');
    expect(d.reason).toContain('budget soft -> MEDIUM (one tier down)');
    const pinned = router.route({ req: req('x', { model: 'switchyard/HIGH' }), budget: 'soft' });
    expect(names(pinned)).toEqual(['big-b', 'big-a']);
    expect(pinned.reason).toContain('budget soft -> cheapest first');
  });

  it('moves up the ladder when the prompt does not fit the tier’s context window', () => {
    const { router } = make();
    const d = router.route({ req: req(`hi ${'word '.repeat(40_000)}`, { model: 'switchyard/LOW' }) });
    expect(d.candidates[0]!.model.name).not.toBe('local-llama');
    expect(d.reason).toMatch(/spill over to \w+: \S+ over local-llama \(local-llama context \d+ > 8192\)/);
  });

  it('SLA: picks the faster upstream when the slower one’s moving average exceeds the SLA (unknown counts as fast)', () => {
    const { router, reg } = make();
    reg.upstream('cloud-a')!.latencyMs.add(900);
    const pinned = (h?: Record<string, string>) => router.route({ req: req('x', { model: 'switchyard/HIGH' }), ...(h ? { headers: h } : {}) });
    expect(names(pinned())).toEqual(['big-a', 'big-b']);
    const d = pinned({ 'x-switchyard-max-latency-ms': '500' });
    expect(names(d)).toEqual(['big-b', 'big-a']);
    expect(d.reason).toContain('big-b over big-a (big-a latency 900ms > SLA 500ms)');
    reg.upstream('cloud-b')!.latencyMs.add(1200);
    expect(names(pinned({ 'x-switchyard-max-latency-ms': '500' }))).toEqual(['big-a', 'big-b']);
  });

  it('SLA from config, per tier', () => {
    const { router, reg } = make('routing: { sla: { tiers: { high: 400 } } }');
    reg.upstream('cloud-a')!.latencyMs.add(900);
    expect(names(router.route({ req: req('x', { model: 'switchyard/HIGH' }) }))).toEqual(['big-b', 'big-a']);
  });

  it('load: spills over to the next tier’s cloud models past the in-flight limit or the queue depth', () => {
    const { router, reg } = make('routing: { load: { maxInFlight: { local: 2 }, maxQueue: 8 } }');
    expect(router.route({ req: req('hi') }).candidates[0]!.model.name).toBe('local-llama');
    reg.upstream('local')!.inFlight = 2;
    const busy = router.route({ req: req('hi') });
    expect(names(busy)).toEqual(['mini', 'local-llama']);
    expect(busy.tier).toBe('MEDIUM');
    expect(busy.reason).toContain('spill over to MEDIUM: mini over local-llama (local-llama in-flight 2 >= 2)');
    reg.upstream('local')!.inFlight = 0;
    router.load.setQueueLength('local', 9);
    expect(router.route({ req: req('hi') }).reason).toContain('local-llama queue 9 > 8');
    router.load.setQueueLength('local', 8);
    expect(router.route({ req: req('hi') }).candidates[0]!.model.name).toBe('local-llama');
  });

  it('a private request does not spill to the cloud when the sidecar is busy', () => {
    const { router } = make();
    router.load.setQueueLength('local', 50);
    expect(names(router.route({ req: req('mail jane.doe@example.com') }))).toEqual(['local-llama']);
  });
});

describe('A/B weights', () => {
  it('splits by request id roughly as weighted, and deterministically', () => {
    const { router } = make('routing: { ab: { tiers: { HIGH: { big-a: 3, big-b: 1 } } } }');
    const pick = (id: string) => router.route({ req: req('x', { model: 'switchyard/HIGH' }), id }).candidates[0]!.model.name;
    let a = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (pick(`req-${i}`) === 'big-a') a++;
    expect(a / n).toBeGreaterThan(0.72);
    expect(a / n).toBeLessThan(0.78);
    for (let i = 0; i < 50; i++) expect(pick(`req-${i}`)).toBe(pick(`req-${i}`));
    expect(router.route({ req: req('x', { model: 'switchyard/HIGH' }), id: 'req-1' }).reason).toMatch(/A\/B big-[ab] \(bucket 0\.\d\d of 3:1\)/);
  });

  it('keeps a tenant on one arm with key: tenant', () => {
    const { router } = make('routing: { ab: { key: tenant, tiers: { HIGH: { big-a: 1, big-b: 1 } } } }');
    const pick = (id: string, tenant: string) => router.route({ req: req('x', { model: 'switchyard/HIGH' }), id, tenant }).candidates[0]!.model.name;
    for (const t of ['t:acme', 't:globex', 't:initech']) {
      const first = pick('r0', t);
      for (let i = 1; i < 20; i++) expect(pick(`r${i}`, t)).toBe(first);
    }
  });
});

describe('learning', () => {
  it('shifts a task’s thresholds with quality feedback, never past the guard rail', () => {
    const { router } = make('routing: { learning: { guardRail: 0.05, minSamples: 2, gain: 1 } }');
    expect(router.thresholdsFor('code')).toEqual([0.25, 0.7]);
    for (let i = 0; i < 50; i++) router.recordQuality('code', 'MEDIUM', 1);
    expect(router.thresholdsFor('code')).toEqual([0.25, 0.75]);
    for (let i = 0; i < 200; i++) router.recordQuality('code', 'low', 0);
    expect(router.thresholdsFor('code')).toEqual([0.2, 0.75]);
    expect(router.thresholdsFor('chat')).toEqual([0.25, 0.7]);
  });

  it('persists estimates in a file when configured', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-routing-')), 'quality.json');
    const routing = `routing: { learning: { store: file, file: "${file}", guardRail: 0.05, minSamples: 1, gain: 1 } }`;
    const first = make(routing);
    await first.router.ready;
    for (let i = 0; i < 30; i++) first.router.recordQuality('qa', 'MEDIUM', 0);
    await first.router.close();
    const again = make(routing);
    await again.router.ready;
    expect(again.router.thresholdsFor('qa')).toEqual([0.25, 0.65]);
    expect(again.router.route({ req: req(MID) }).reason).toMatch(/complexity 0\.\d\d (<|>=) 0\.\d\d/);
  });

  it('feedback needs a recent request id and counts once', () => {
    const { router } = make();
    const d = router.route({ req: req('hi'), id: 'r-1' });
    expect(d.tier).toBe('LOW');
    const f = router.feedback('r-1', 1);
    expect(f).toMatchObject({ task: 'chat', tier: 'LOW', score: 1 });
    expect(() => router.feedback('r-1', 1)).toThrow(/unknown request id/);
    expect(() => router.feedback('r-2', 2)).toThrow(/from 0 to 1/);
  });
});

describe('config', () => {
  it('rejects a routing section that names unknown tiers or upstreams', () => {
    const cfg = parseConfig(yaml('routing: { ladder: [LOW, HUGE], load: { maxInFlight: { nowhere: 1 } } }'), {});
    const reg = new UpstreamRegistry(cfg, {});
    let err: unknown;
    try {
      new Router(cfg, reg, { pollers: false });
    } catch (e) {
      err = e;
    }
    void reg.close();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['routing.ladder.1', 'routing.load.maxInFlight.nowhere']);
  });

  it('a reload with dangling names is refused and the last good routing stays', () => {
    const { router } = make();
    expect(() => router.reload(parseConfig(yaml('routing: { agenticTier: TOOLS }'), {}))).toThrow(/routing.agenticTier: no tier named "TOOLS"/);
    expect(router.route({ req: req(HARD) }).tier).toBe('HIGH');
    router.reload(parseConfig(yaml('routing: { thresholds: [0.1, 0.2] }'), {}));
    expect(router.route({ req: req(MID) }).reason).toContain('>= 0.20 -> HIGH');
  });

  it('validates thresholds against the ladder', () => {
    expect(() => parseConfig(yaml('routing: { thresholds: [0.5] }'), {})).toThrow(/needs 2 threshold/);
    expect(() => parseConfig(yaml('routing: { thresholds: [0.7, 0.2] }'), {})).toThrow(/ascending/);
  });

  it('without a routing section, switchyard/auto keeps the plain policy', () => {
    const cfg = parseConfig(yaml(''), {});
    const reg = new UpstreamRegistry(cfg, {});
    const router = new Router(cfg, reg, { pollers: false });
    open.push({ router, reg });
    const d = router.route({ req: req(HARD) });
    expect(d).toEqual(plainRoute(req(HARD), cfg, reg));
    expect(d.reason).toBe('auto: default tier LOW');
  });
});
