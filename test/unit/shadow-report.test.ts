/**
 * The report and its patch on synthetic results (a three-step ladder, several
 * bands), the judge's score parsing, the Wilson bounds, deterministic
 * sampling, and the JSONL store's round trip.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parseJudgeScore } from '../../src/shadow/judge.js';
import { applyThresholds, suggestThresholds } from '../../src/shadow/patch.js';
import { bandEdges, buildReport, formatReport } from '../../src/shadow/report.js';
import type { ShadowResult } from '../../src/shadow/result.js';
import { sampleFraction } from '../../src/shadow/sampler.js';
import { agreement } from '../../src/shadow/scorer.js';
import { wilson } from '../../src/shadow/stats.js';
import { JsonlStore } from '../../src/shadow/store.js';

const CONFIG_YAML = `# ladder of three
upstreams:
  - name: u
    kind: openai-compatible
    baseUrl: http://127.0.0.1:9/v1
    models: [{ name: small }, { name: mid }, { name: big }]
tiers:
  - { name: LOW, models: [small] }
  - { name: MEDIUM, models: [mid] }
  - { name: HIGH, models: [big] }
routing:
  ladder: [LOW, MEDIUM, HIGH]
  thresholds: [0.25, 0.7]   # configured by hand
  agenticTier: null
shadow:
  report: { bands: [0.5, 0.85], minSamples: 20, targetAgreement: 0.8 }
`;
const config = parseConfig(CONFIG_YAML);

let seq = 0;
/** `n` results of one task/tier pair at complexity `c`, `agree` of them agreeing (by similarity). */
function results(task: string, tier: string, shadowTier: string, c: number, n: number, agree: number, extra: Partial<ShadowResult> = {}): ShadowResult[] {
  return Array.from({ length: n }, (_, i) => ({
    v: 1,
    id: `r${seq++}`,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    tenant: 't',
    task,
    complexity: c,
    byComplexity: true,
    tier,
    model: tier,
    shadowTier,
    shadowModel: shadowTier,
    similarity: i < agree ? 0.95 : 0.3,
    cost: 0.01,
    shadowCost: 0.001,
    latencyMs: 100,
    inputTokens: 100,
    outputTokens: 100,
    ...extra,
  }));
}

describe('shadow report', () => {
  it('bands come from shadow.report.bands plus the routing thresholds', () => {
    expect(bandEdges(config)).toEqual([0.25, 0.5, 0.7, 0.85]);
  });

  it('recommends by Wilson bound: downgrade, keep, or collect (too few / inconclusive)', () => {
    const rep = buildReport(
      [
        ...results('summarization', 'MEDIUM', 'LOW', 0.3, 40, 40),
        ...results('code', 'MEDIUM', 'LOW', 0.3, 40, 10),
        ...results('qa', 'MEDIUM', 'LOW', 0.3, 5, 5),
        ...results('chat', 'MEDIUM', 'LOW', 0.3, 30, 25),
        ...results('summarization', 'MEDIUM', 'LOW', 0.3, 3, 0, { error: 'upstream answered 500', similarity: undefined }),
      ],
      config,
    );
    const row = (task: string) => rep.rows.find((r) => r.task === task)!;
    expect(row('summarization')).toMatchObject({ recommendation: 'downgrade', samples: 43, errors: 3, scored: 40, band: [0.25, 0.5] });
    expect(row('summarization').savingShare).toBeCloseTo(0.9, 6);
    expect(row('summarization').savingPerRequestUsd).toBeCloseTo(0.009, 6);
    expect(row('code').recommendation).toBe('keep');
    expect(row('qa')).toMatchObject({ recommendation: 'collect', why: '15 more scored sample(s) needed' });
    expect(row('chat').recommendation).toBe('collect');
    expect(row('chat').why).toMatch(/straddles/);
    const text = formatReport(rep);
    expect(text).toMatch(/summarization\s+0\.25-0\.50\s+MEDIUM -> LOW\s+43\s+3\s+40\/40 100%/);
  });

  it('raises a task threshold across contiguous downgrade bands only, never past the tier above, and never lowers one', () => {
    const rep = buildReport(
      [
        // summarization: MEDIUM → LOW agrees in 0.25-0.5 and 0.5-0.7 → LOW now reaches 0.7
        ...results('summarization', 'MEDIUM', 'LOW', 0.3, 30, 30),
        ...results('summarization', 'MEDIUM', 'LOW', 0.6, 30, 30),
        // HIGH → MEDIUM agrees in 0.7-0.85 but not 0.85-1 → MEDIUM now reaches 0.85
        ...results('summarization', 'HIGH', 'MEDIUM', 0.75, 30, 30),
        ...results('summarization', 'HIGH', 'MEDIUM', 0.9, 30, 5),
        // code: agrees in 0.5-0.7 only, but 0.25-0.5 (where the threshold sits) does not → no change
        ...results('code', 'MEDIUM', 'LOW', 0.3, 30, 3),
        ...results('code', 'MEDIUM', 'LOW', 0.6, 30, 30),
        // qa: only rule-routed samples → informative, never applied
        ...results('qa', 'MEDIUM', 'LOW', 0.3, 30, 30, { byComplexity: false }),
      ],
      config,
    );
    const changes = suggestThresholds(rep, config);
    expect(changes).toEqual([{ task: 'summarization', from: [0.25, 0.7], to: [0.7, 0.85], why: expect.stringMatching(/HIGH -> MEDIUM up to complexity 0\.85.*MEDIUM -> LOW up to complexity 0\.70/) }]);

    const text = applyThresholds(CONFIG_YAML, changes, '2025-01-02T00:00:00Z');
    expect(text).toContain('# ladder of three');
    expect(text).toContain('# configured by hand');
    expect(text).toMatch(/summarization: \[0\.7, 0\.85\] # shadow report 2025-01-02/);
    const next = parseConfig(text);
    expect(next.routing!.taskThresholds).toEqual({ summarization: [0.7, 0.85] });
    expect(next.routing!.thresholds).toEqual([0.25, 0.7]);
  });

  it('agreement uses the scores present, all or any', () => {
    const all = { similarity: 0.85, judge: 7, require: 'all' as const };
    expect(agreement({ similarity: 0.9, judge: 8 }, all)).toBe(true);
    expect(agreement({ similarity: 0.9, judge: 6 }, all)).toBe(false);
    expect(agreement({ similarity: 0.9, judge: 6 }, { ...all, require: 'any' })).toBe(true);
    expect(agreement({ judge: 7 }, all)).toBe(true);
    expect(agreement({}, all)).toBeUndefined();
  });
});

describe('judge score parsing', () => {
  it.each([
    ['{"score": 8}', 8],
    ['```json\n{"score": 10}\n```', 10],
    ['Score: 7/10 — minor gaps', 7],
    ['Rating - 6', 6],
    ['I would give it 9 out of 10.', 9],
    ['**4**', 4],
    ['3', 3],
    ['{"score": 11}', undefined],
    ['The answer is fine.', undefined],
    ['0', undefined],
  ])('%j → %s', (text, score) => {
    expect(parseJudgeScore(text)).toBe(score);
  });
});

describe('statistics and sampling', () => {
  it('Wilson bounds', () => {
    const [lo, hi] = wilson(38, 40, 0.95);
    expect(lo).toBeCloseTo(0.8597, 3);
    expect(hi).toBeCloseTo(0.9833, 3);
    expect(wilson(0, 0, 0.95)).toEqual([0, 1]);
    expect(wilson(10, 10, 0.95)[1]).toBe(1);
  });

  it('sampling is a deterministic function of the request id, close to uniform', () => {
    expect(sampleFraction('abc')).toBe(sampleFraction('abc'));
    let under = 0;
    for (let i = 0; i < 4000; i++) if (sampleFraction(`id-${i}`) < 0.25) under++;
    expect(under / 4000).toBeGreaterThan(0.22);
    expect(under / 4000).toBeLessThan(0.28);
  });
});

describe('JSONL store', () => {
  it('appends results and reads them back in order, filtered by time', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'switchyard-shadow-')), 'sub', 'r.jsonl');
    const store = new JsonlStore(path);
    const rs = results('qa', 'HIGH', 'LOW', 0.5, 3, 3);
    for (const r of rs) expect(await store.write(r)).toBe(true);
    const back: ShadowResult[] = [];
    for await (const r of store.read()) back.push(r);
    expect(back.map((r) => r.id)).toEqual(rs.map((r) => r.id));
    const recent: ShadowResult[] = [];
    for await (const r of store.read({ sinceMs: Date.parse(rs[2]!.time) })) recent.push(r);
    expect(recent.map((r) => r.id)).toEqual([rs[2]!.id]);
    await store.close();
  });

  it('reading a store that has no file yet yields nothing', async () => {
    const store = new JsonlStore(join(tmpdir(), `switchyard-none-${process.pid}-${Date.now()}.jsonl`));
    const back: ShadowResult[] = [];
    for await (const r of store.read()) back.push(r);
    expect(back).toEqual([]);
  });
});
