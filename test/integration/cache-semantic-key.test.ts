/**
 * The semantic key means the question actually asked (issue 15.4): a long
 * shared context (a RAG prompt) followed by different questions never
 * serves one question's answer for another, with the real USE Lite embedder
 * behind `switchyard serve`; a paraphrase of the same question after the same
 * context still hits; two texts that differ outside the embedded question
 * never share an answer, whatever the similarity threshold or verifier.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createResponseCache } from '../../src/cache/index.js';
import { splitQuestion } from '../../src/cache/key.js';
import type { RunningServer } from '../../src/cli/serve.js';
import { cacheSchema } from '../../src/config/cache.js';
import type { BatchingEmbedder } from '../../src/embedding/batcher.js';
import { UseLiteEmbedder } from '../../src/embedding/use-lite.js';
import type { CanonicalRequest, CanonicalResponse } from '../../src/protocol/canonical.js';
import { startFakeOpenAI, type FakeProvider } from '../fixtures/fake-openai.js';
import { startGateway, upstreamYaml } from '../helpers/gateway.js';

/** ~2.1 KB of shared context, as a retrieval step would paste it. */
const CONTEXT = [
  'You are the support assistant of Northwind Outfitters. Answer only from the handbook excerpt below.',
  '',
  'Handbook excerpt (retrieved):',
  'Returns. Unworn items may be returned within 30 days of delivery for a full refund to the original payment method. Items marked final sale cannot be returned. Refunds are issued within 5 business days after the warehouse receives the parcel.',
  'Shipping. Standard shipping takes 3 to 5 business days inside the continental United States and is free on orders over 75 dollars. Express shipping takes 1 to 2 business days and costs 18 dollars. We do not ship to P.O. boxes.',
  'Warranty. Tents, backpacks and sleeping bags carry a two-year warranty against manufacturing defects. The warranty does not cover wear and tear, misuse or damage from fire.',
  'Exchanges. Sizes can be exchanged once per order at no cost within 45 days. A prepaid label is emailed after the exchange is approved.',
  'Loyalty program. Members earn 1 point per dollar spent and a 10 dollar voucher for every 200 points. Points expire after 12 months without a purchase.',
  'Gift cards. Gift cards never expire, cannot be exchanged for cash and can be combined with one promotional code per order.',
  'Price matching. We match the price of an identical item sold by an authorised retailer within 14 days of purchase, excluding marketplace sellers and clearance sales.',
  'Repairs. Our workshop repairs zippers, seams and buckles for a flat fee of 25 dollars plus return shipping; repairs take about three weeks.',
  'International orders. Orders to Canada and the United Kingdom take 7 to 12 business days; duties and taxes are collected at checkout and are not refundable.',
  'Order changes. An order can be changed or cancelled within one hour of purchase from the account page; after that it is already being packed.',
  'Store pickup. Orders placed before noon can be collected the same day from any of our twelve stores with a photo ID and the order number.',
  'Contact. The support line is open Monday to Friday from 8 am to 6 pm Pacific time, and chat replies usually arrive within ten minutes.',
].join('\n');

const QUESTIONS = [
  'How many days do I have to return an item?',
  'How long does standard shipping take?',
  'Does the warranty cover damage from fire?',
  'Can I exchange a size more than once?',
  'When do loyalty points expire?',
  'Can gift cards be exchanged for cash?',
  'Do you match prices from marketplace sellers?',
  'How much does a zipper repair cost?',
  'Are duties refundable on orders to Canada?',
  'Until when can I cancel my order?',
  'What do I need to pick up an order in a store?',
];

const prompt = (q: string) => `${CONTEXT}\n\nQuestion: ${q}`;

let up: FakeProvider;
let gw: RunningServer;

beforeAll(async () => {
  up = await startFakeOpenAI();
  gw = await startGateway(`
upstreams:
${upstreamYaml('primary', up.url, 'primary-model', { retries: 0 })}
cache: { semantic: { enabled: true } }
`);
  await gw.switchyard.cache!.embedder!.ready();
  // Routing's task prototypes are embedded at start, on the embedder's worker: until that is done
  // a lookup finds the queue busy (`miss-embedder-busy`) instead of waiting behind them.
  const router = gw.switchyard.router as unknown as { prototypes?: unknown };
  await vi.waitFor(() => expect(router.prototypes).toBeDefined(), { timeout: 120_000, interval: 20 });
  await vi.waitFor(() => expect((gw.switchyard.cache!.embedder as BatchingEmbedder).queued).toBe(0), { timeout: 60_000, interval: 10 });
}, 180_000);
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

async function storesAtLeast(n: number): Promise<void> {
  for (let i = 0; i < 2000 && gw.switchyard.cache!.stats().stores < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(gw.switchyard.cache!.stats().stores).toBeGreaterThanOrEqual(n);
}

describe('long shared context, different questions (real USE Lite)', () => {
  it('serves no question the answer of another, and a paraphrase of the same question still hits', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-a', maxRetries: 0 });
    const ask = (q: string) =>
      client.chat.completions.create({ model: 'primary-model', messages: [{ role: 'user', content: prompt(q) }] }).withResponse();
    expect(prompt(QUESTIONS[0]!).length).toBeGreaterThan(2000);

    for (const [i, q] of QUESTIONS.entries()) {
      const { data, response } = await ask(q);
      // The fake echoes the whole last user turn: the answer must end with this question, not another.
      expect(data.choices[0]!.message.content!.endsWith(`Question: ${q}`)).toBe(true);
      expect(response.headers.get('x-switchyard-cache')).toBe('miss');
      await storesAtLeast(i + 1);
    }
    expect(up.requests.length).toBe(QUESTIONS.length);

    const para = await ask('How many days do I get to return an item?');
    expect(para.response.headers.get('x-switchyard-cache')).toBe('hit-semantic');
    expect(para.data.choices[0]!.message.content!.endsWith(`Question: ${QUESTIONS[0]}`)).toBe(true);
  }, 120_000);
});

describe('the embedded window and what goes into the partition', () => {
  it('the question after a RAG context is what gets embedded; the context is matched exactly', () => {
    const s = splitQuestion(prompt(QUESTIONS[3]!));
    expect(s.question).toBe(`Question: ${QUESTIONS[3]}`);
    expect(s.start).toBe(CONTEXT.length + 2);
    const oneLine = `${CONTEXT.replace(/\n/g, ' ')} ${QUESTIONS[3]}`;
    expect(splitQuestion(oneLine).question).toBe(QUESTIONS[3]);
    expect(splitQuestion('Why is the sky blue?')).toEqual({ question: 'Why is the sky blue?', start: 0 });
  });

  it('never serves across a difference outside the embedded question, even at threshold 0 without the verifier', async () => {
    const embedder = new UseLiteEmbedder();
    const cache = createResponseCache(cacheSchema.parse({ semantic: { enabled: true, threshold: 0, verifier: false } }), { embedder });
    const req = (text: string): CanonicalRequest => ({ operation: 'chat', protocol: 'openai', model: 'm', messages: [{ role: 'user', content: text }], stream: false, extra: {} });
    const answer: CanonicalResponse = { id: 'r1', model: 'm', created: 1, text: 'Within 30 days.', finishReason: 'stop' };
    const look = (text: string) => cache.lookup({ req: req(text), tenant: 't', modelGroup: 'g', route: '/v1/chat/completions', noCache: false, noStore: false });
    try {
      const first = await look(prompt(QUESTIONS[0]!));
      expect(first.result).toBe('miss');
      await cache.store(first.ticket!, answer);
      // The same question after a context that differs in one digit, in its middle.
      const altered = prompt(QUESTIONS[0]!).replace('within 30 days of delivery', 'within 60 days of delivery');
      expect(altered).not.toBe(prompt(QUESTIONS[0]!));
      const other = await look(altered);
      expect(other.result).toBe('miss');
      // Control: the same context and question again is served (so the miss above is the partition's doing).
      const same = await look(`${CONTEXT}\n\nQuestion: How many days do I have to return an item ?`);
      expect(same.result).toBe('hit-semantic');
    } finally {
      await cache.close();
      await (embedder as { close?: () => Promise<void> }).close?.();
    }
  }, 120_000);
});
