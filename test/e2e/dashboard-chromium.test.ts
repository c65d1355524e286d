/**
 * The live dashboard in a real headless Chromium (Debian's, driven by
 * playwright-core; no browser download): it connects to the event stream,
 * and after waves of mixed requests its numbers move and equal the server's
 * stats, the charts are drawn, the breakers listed. A screenshot is written
 * (to docs/dashboard.png with UPDATE_DASHBOARD_SCREENSHOT=1).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/cli/serve.js';
import type { StatsSnapshot } from '../../src/observability/stats.js';
import { startFakeAnthropic } from '../fixtures/fake-anthropic.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { postJson, startGateway } from '../helpers/gateway.js';
import { need } from '../fixtures/prerequisites.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = need('chromium') === undefined;
const profile = mkdtempSync(join(tmpdir(), 'sy-chromium-'));
let oa: FakeProvider;
let ant: FakeProvider;
let local: FakeProvider;
let gw: RunningServer;
let browser: BrowserContext | undefined;
let page: Page;

beforeAll(async () => {
  oa = await startFakeOpenAI({ behavior: { kind: 'ok', chunkDelayMs: 5 } });
  ant = await startFakeAnthropic();
  local = await startFakeOpenAI();
  gw = await startGateway(
    `
upstreams:
  - name: openai
    kind: openai-compatible
    baseUrl: ${oa.url}
    models: [{ name: gpt-4o-mini }, { name: gpt-4o }]
    retry: { max: 0 }
  - name: anthropic
    kind: anthropic
    baseUrl: ${ant.url}
    apiKeyEnv: DASH_TEST_KEY
    models: [{ name: claude-3-5-haiku }]
  - name: sidecar
    kind: openai-compatible
    baseUrl: ${local.url}
    local: true
    models: [{ name: llama-3.2-1b }]
tiers:
  - { name: local, models: [llama-3.2-1b] }
  - { name: fast, models: [gpt-4o-mini] }
  - { name: strong, models: [gpt-4o] }
cache: { semantic: { enabled: false } }
accounting: { pricing: { referenceModel: gpt-4o } }
`,
    { ...process.env, DASH_TEST_KEY: 'sk-ant-dash' },
  );
  if (!haveChromium) return;
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1020 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  await Promise.all([oa?.close(), ant?.close(), local?.close()]);
  rmSync(profile, { recursive: true, force: true });
});

async function wave(i: number): Promise<number> {
  const chatUrl = `${gw.url}/v1/chat/completions`;
  const jobs: Promise<unknown>[] = [];
  const tiers = ['switchyard/fast', 'switchyard/fast', 'switchyard/strong', 'switchyard/local', 'switchyard/local'];
  tiers.forEach((model, j) => jobs.push(postJson(chatUrl, { model, stream: j % 2 === 0, messages: [{ role: 'user', content: `wave ${i} question ${j}` }] })));
  jobs.push(postJson(chatUrl, { model: 'switchyard/fast', messages: [{ role: 'user', content: 'the popular question' }] }));
  jobs.push(postJson(`${gw.url}/v1/messages`, { model: 'claude-3-5-haiku', max_tokens: 50, messages: [{ role: 'user', content: `wave ${i} anthropic` }] }));
  if (i === 1) jobs.push(postJson(chatUrl, { model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
  await Promise.all(jobs);
  return jobs.length;
}

/** The page's money format. */
const usd = (v: number) => (v === 0 ? '$0' : `$${v.toFixed(v >= 100 ? 2 : v >= 0.01 ? 4 : 6)}`);
const text = (sel: string) => page.locator(sel).textContent();

describe.skipIf(!haveChromium)('dashboard', () => {
  it('shows the numbers moving with traffic, equal to the server stats, as charts', async () => {
    await page.goto(`${gw.url}/switchyard/dashboard`);
    await page.locator('#conn.on').waitFor({ timeout: 10_000 });
    expect(await text('#kpi-requests')).toBe('0');
    expect(await text('#kpi-cost')).toBe('$0');

    let sent = 0;
    for (let i = 0; i < 4; i++) {
      sent += await wave(i);
      await page.waitForTimeout(1_100);
    }
    await expect.poll(() => text('#kpi-requests'), { timeout: 10_000 }).toBe(String(sent));

    const stats = (await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot;
    expect(stats.requests.total).toBe(sent);
    expect(await text('#kpi-cost')).toBe(usd(stats.costUsd));
    expect(await text('#kpi-savings')).toBe(usd(stats.savingsUsd));
    expect(stats.costUsd).toBeGreaterThan(0);
    expect(stats.savingsUsd).toBeGreaterThan(stats.costUsd);
    expect(await text('#kpi-hit-rate')).toBe(`${(stats.cache.hitRate * 100).toFixed(1)}%`);
    expect(stats.cache.hits).toBe(3);
    expect(await text('#kpi-errors')).toBe('1');
    expect(await text('#kpi-p50')).not.toBe('–');

    // Charts: routing bars per model and tier, the cache donut, time series lines.
    const bar = (chart: string, key: string) => page.locator(`#${chart} rect[data-key="${key}"]`).getAttribute('data-value');
    expect(Number(await bar('chart-models', 'llama-3.2-1b'))).toBe(stats.requests.byModel['llama-3.2-1b']);
    expect(Number(await bar('chart-tiers', 'fast'))).toBe(stats.requests.byTier['fast']);
    expect(await page.locator('#chart-cache path, #chart-cache circle').count()).toBeGreaterThan(1);
    await expect.poll(() => page.locator('#chart-cost polyline').count(), { timeout: 5_000 }).toBe(2);
    expect(await page.locator('#chart-latency polyline').count()).toBe(3);
    expect(await page.locator('#breakers tr').count()).toBe(3);
    expect(await page.locator('#breakers tr[data-upstream="openai"] .pill').textContent()).toBe('closed');
    // One row per deployment (model on an upstream), with its own breaker.
    expect(await page.locator('#deployments tr').count()).toBe(stats.deployments.length);
    expect(await page.locator('#deployments tr[data-deployment="llama-3.2-1b@sidecar"] .pill').count()).toBe(1);
    expect(await page.locator('#recent tr').count()).toBe(15);

    // One more request moves the numbers again, live.
    await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/strong', messages: [{ role: 'user', content: 'one more' }] });
    await expect.poll(() => text('#kpi-requests'), { timeout: 5_000 }).toBe(String(sent + 1));

    await page.waitForTimeout(1_100);
    const out = process.env.UPDATE_DASHBOARD_SCREENSHOT ? join(process.cwd(), 'docs', 'dashboard.png') : join(profile, 'dashboard.png');
    await page.screenshot({ path: out, fullPage: true });
    expect(existsSync(out)).toBe(true);
  }, 60_000);

  it('shows history when opened late: the last decisions and the series since start, pinned tiers under their tier', async () => {
    // More traffic while no dashboard is open, including a pinned tier spelled in another case and its cache hits.
    const before = (await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot;
    for (let i = 10; i < 13; i++) {
      await wave(i);
      // Wait for the server to add a point to its series (at most one a second) before the next wave.
      const n = (await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot;
      await expect
        .poll(async () => ((await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot).series.length, { timeout: 10_000, interval: 200 })
        .toBeGreaterThan(n.series.length);
    }
    await postJson(`${gw.url}/v1/chat/completions`, { model: 'switchyard/FAST', messages: [{ role: 'user', content: 'the popular question' }] });

    const late = await browser!.newPage();
    const favicons: string[] = [];
    late.on('request', (r) => {
      if (/favicon/.test(r.url())) favicons.push(r.url());
    });
    await late.goto(`${gw.url}/switchyard/dashboard`);
    const stats = (await (await fetch(`${gw.url}/switchyard/stats`)).json()) as StatsSnapshot;
    expect(stats.series.length).toBeGreaterThanOrEqual(4);
    expect(stats.series[0]!.t).toBeLessThanOrEqual(Date.parse(before.now)); // since start, not since the page opened

    // The last decisions are listed at once, newest first, without any new request.
    await late.locator('#recent tr').first().waitFor({ timeout: 10_000 });
    expect(await late.locator('#recent tr').count()).toBe(15);
    expect(await late.locator('#recent tr').first().getAttribute('data-id')).toBe(stats.recent.at(-1)!.id);

    // The series since start is drawn from the server's history, not only from the page's own samples.
    const points = async (chart: string, series: string) => Number(await late.locator(`#${chart} polyline[data-series="${series}"]`).getAttribute('data-points'));
    await expect.poll(() => late.locator('#chart-traffic polyline').count(), { timeout: 5_000 }).toBe(2);
    expect(await points('chart-traffic', 'requests per second')).toBeGreaterThanOrEqual(stats.series.length);
    expect(await points('chart-latency', 'p99')).toBeGreaterThanOrEqual(stats.series.length);

    // Rates and percentages on separate axes.
    expect(await late.locator('#chart-traffic polyline[data-series="cache hit rate"]').getAttribute('data-axis')).toBe('right');
    expect(await late.locator('#chart-traffic polyline[data-series="requests per second"]').getAttribute('data-axis')).toBe('left');
    expect(await late.locator('#chart-traffic text.axis-right').last().textContent()).toBe('100%');

    // Pinned tiers (any case, cache hits included) count under their tier, never `other`.
    expect(stats.requests.byTier['other']).toBeUndefined();
    expect(stats.requests.byTier['fast']).toBeGreaterThan(before.requests.byTier['fast'] ?? 0);
    expect(Number(await late.locator('#chart-tiers rect[data-key="fast"]').getAttribute('data-value'))).toBe(stats.requests.byTier['fast']);
    expect(await late.locator('#chart-tiers rect[data-key="other"]').count()).toBe(0);

    // A favicon, inline: the browser asks the server for none.
    expect(await late.locator('link[rel="icon"]').getAttribute('href')).toMatch(/^data:image\/svg\+xml,/);
    expect(favicons.filter((u) => !u.startsWith('data:'))).toEqual([]);
    await late.close();
  }, 60_000);
});
