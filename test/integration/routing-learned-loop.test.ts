/**
 * The learned router closes the loop end to end through `switchyard serve`:
 * a cheap tier that is good at translation and bad at arithmetic proofs,
 * mixed traffic with shadow sampling on (every strong-tier answer is also
 * asked of the cheap tier and scored), the request embeddings those of the
 * semantic cache (USE-Lite, real weights). Once the shadow verdicts are in,
 * new translation requests go down to the cheap tier and new proofs stay on
 * the strong one, each decision explained in `x-switchyard-route`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startSkilledFake, type SkilledFake } from '../fixtures/fake-skilled.js';
import { postJson, startGateway, upstreamYaml } from '../helpers/gateway.js';

const WORDS = ['garden', 'river', 'window', 'teacher', 'bicycle', 'kitchen', 'mountain', 'letter', 'market', 'village', 'doctor', 'bridge', 'forest', 'island'];
const translation = (i: number) => `Translate this sentence into French: "The ${WORDS[i % WORDS.length]} near my house is very old and beautiful."`;
const proof = (i: number) => `Prove that the sum of the first ${10 + i} odd numbers equals ${(10 + i) ** 2}, showing every algebraic step of the induction.`;
const isTranslation = (p: string) => p.startsWith('Translate');

let strong: FakeProvider;
let cheap: SkilledFake;
let gw: RunningServer;

beforeAll(async () => {
  strong = await startFakeOpenAI();
  cheap = await startSkilledFake(isTranslation);
  gw = await startGateway(`upstreams:
${upstreamYaml('cheap', cheap.url, 'cheap-model')}${upstreamYaml('strong', strong.url, 'strong-model')}tiers:
  - { name: LOW, models: [cheap-model] }
  - { name: HIGH, models: [strong-model] }
routing:
  ladder: [LOW, HIGH]
  thresholds: [0.02]
  agenticTier: null
  learning: { enabled: false }
  learned: { target: 0.6 }
cache:
  semantic: { threshold: 0.999, verifier: false, embedding: { kind: use-lite } }
shadow:
  enabled: true
  rate: 1
  maxConcurrent: 4
  store: { kind: jsonl, path: ${JSON.stringify(`${process.env.TMPDIR ?? '/tmp'}/switchyard-learned-loop-${process.pid}.jsonl`)} }
`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([strong?.close(), cheap?.close()]);
});

const ask = (text: string) => postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/auto', messages: [{ role: 'user', content: text }] }, { authorization: 'Bearer key-a' });

describe('learned routing closes the loop (shadow tests → outcomes → decisions)', () => {
  it('moves the kind the cheap tier is good at down, keeps the kind it is bad at up', async () => {
    // Mixed traffic, one translation and one proof at a time; each strong answer is shadowed on LOW.
    const tiers: { translation: string[]; proof: string[] } = { translation: [], proof: [] };
    for (let i = 0; i < 10; i++) {
      for (const [kind, text] of [['translation', translation(i)], ['proof', proof(i)]] as const) {
        const r = await ask(text);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-switchyard-route')).toMatch(/learned: p\(LOW ok\)=[01]\.\d\d .*-> (LOW|HIGH)/);
        tiers[kind].push(r.headers.get('x-switchyard-tier')!);
      }
      await gw.switchyard.shadow.drain();
    }
    // Before any outcome both kinds went to HIGH (complexity above the 0.02 threshold).
    expect(tiers.translation[0]).toBe('HIGH');
    // Proofs never left HIGH; translations moved down once the shadow verdicts came in.
    expect(tiers.proof.every((t) => t === 'HIGH')).toBe(true);
    expect(tiers.translation.slice(-3), JSON.stringify(gw.switchyard.shadow.stats())).toEqual(['LOW', 'LOW', 'LOW']);
    // Every HIGH answer was shadowed on LOW (one outcome each); the cheap fake also answered the translations routed to it.
    const highTranslations = tiers.translation.filter((t) => t === 'HIGH').length;
    expect(cheap.seen.filter((s) => !s.skilled)).toHaveLength(10);
    expect(cheap.seen.filter((s) => s.skilled)).toHaveLength(10);
    expect(gw.switchyard.router.learnedRouter!.size).toBe(10 + highTranslations);

    // New requests of both kinds (never seen: other words, other numbers).
    const before = cheap.seen.length;
    const t = await ask(`Translate this sentence into French: "The old library in our town is quiet and full of light."`);
    expect(t.status).toBe(200);
    expect(t.headers.get('x-switchyard-tier')).toBe('LOW');
    expect(t.headers.get('x-switchyard-route')).toMatch(/learned: p\(LOW ok\)=0\.\d\d from \d+ neighbours >= 0\.60 -> LOW/);
    expect(t.json.choices[0].message.content).toMatch(/^echo: Translate/);
    const p = await ask(proof(31));
    expect(p.status).toBe(200);
    expect(p.headers.get('x-switchyard-tier')).toBe('HIGH');
    expect(p.headers.get('x-switchyard-route')).toMatch(/learned: p\(LOW ok\)=0\.\d\d from \d+ neighbours < 0\.60 -> HIGH/);
    await gw.switchyard.shadow.drain();
    // The translation was answered by the cheap tier itself (no shadow below LOW); the proof was shadowed again.
    expect(cheap.seen.slice(before).map((s) => s.skilled)).toEqual([true, false]);
  }, 180_000);
});
