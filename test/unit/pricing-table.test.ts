/** The built-in price table, config overrides, local compute prices, reservation ceilings and the savings reference. */
import { describe, expect, it } from 'vitest';
import { PRICES_AS_OF, PriceBook, builtinPrice, costOf } from '../../src/accounting/pricing.js';
import { parseConfig } from '../../src/config/load.js';

const book = (yaml: string) => new PriceBook(parseConfig(yaml, {}));

describe('built-in prices', () => {
  it('are dated', () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('match dated snapshots and aliases by the longest family at a boundary', () => {
    expect(builtinPrice('gpt-4o-mini-2024-07-18')).toEqual({ inputPer1M: 0.15, outputPer1M: 0.6 });
    expect(builtinPrice('gpt-4o-2024-08-06')).toEqual({ inputPer1M: 2.5, outputPer1M: 10 });
    expect(builtinPrice('gpt-4-0613')).toEqual({ inputPer1M: 30, outputPer1M: 60 });
    expect(builtinPrice('openai/gpt-4.1-nano')).toEqual({ inputPer1M: 0.1, outputPer1M: 0.4 });
    expect(builtinPrice('claude-3-5-sonnet-20241022')).toEqual({ inputPer1M: 3, outputPer1M: 15 });
    expect(builtinPrice('claude-sonnet-4-5-20250929')).toEqual({ inputPer1M: 3, outputPer1M: 15 });
    expect(builtinPrice('claude-opus-4-1-20250805')).toEqual({ inputPer1M: 15, outputPer1M: 75 });
    expect(builtinPrice('o3-mini')).toEqual({ inputPer1M: 1.1, outputPer1M: 4.4 });
  });

  it('do not price unknown names or names that only share a prefix', () => {
    expect(builtinPrice('gpt-4orbit')).toBeUndefined();
    expect(builtinPrice('llama-3.1-8b')).toBeUndefined();
  });

  it('cost usage per million tokens', () => {
    expect(costOf({ inputPer1M: 2.5, outputPer1M: 10 }, { inputTokens: 1_000_000, outputTokens: 500_000 })).toBe(7.5);
  });
});

describe('PriceBook', () => {
  const yaml = `
upstreams:
  - name: oa
    kind: openai-compatible
    baseUrl: http://127.0.0.1:1/v1
    models:
      - { name: fast, upstreamModel: gpt-4o-mini }
      - { name: smart, upstreamModel: gpt-4o, inputPricePer1M: 2, outputPricePer1M: 9 }
      - { name: mystery }
  - name: local
    kind: openai-compatible
    baseUrl: http://127.0.0.1:2/v1
    local: true
    models: [{ name: llama }]
tiers: [{ name: cheap, models: [fast, llama] }]
fallbacks: { fast: [smart] }
`;

  it('takes config prices first, then the table by upstream name, then zero', () => {
    const b = book(yaml);
    expect(b.price('smart')).toEqual({ inputPer1M: 2, outputPer1M: 9 });
    expect(b.price('fast')).toEqual({ inputPer1M: 0.15, outputPer1M: 0.6 });
    expect(b.price('mystery')).toEqual({ inputPer1M: 0, outputPer1M: 0 });
    expect(b.price('llama')).toEqual({ inputPer1M: 0, outputPer1M: 0 });
    expect(b.cost('not-configured', { inputTokens: 10, outputTokens: 10 })).toBe(0);
  });

  it('prices local upstreams at the configured compute cost', () => {
    const b = book(`${yaml}accounting: { pricing: { localInputPer1M: 0.05, localOutputPer1M: 0.1 } }\n`);
    expect(b.price('llama')).toEqual({ inputPer1M: 0.05, outputPer1M: 0.1 });
  });

  it('reserves at the highest price a requested name could reach through tiers and fallbacks', () => {
    const b = book(yaml);
    expect(b.ceiling('fast')).toEqual({ inputPer1M: 2, outputPer1M: 9 });
    expect(b.ceiling('switchyard/cheap')).toEqual({ inputPer1M: 2, outputPer1M: 9 });
    expect(b.ceiling('llama')).toEqual({ inputPer1M: 0, outputPer1M: 0 });
    expect(b.ceiling('switchyard/auto')).toEqual({ inputPer1M: 2, outputPer1M: 9 });
  });

  it('measures savings against the configured reference, else the priciest configured model', () => {
    expect(book(yaml).reference).toEqual({ model: 'smart', price: { inputPer1M: 2, outputPer1M: 9 } });
    const b = book(`${yaml}accounting: { pricing: { referenceModel: claude-3-opus } }\n`);
    expect(b.reference?.model).toBe('claude-3-opus');
    expect(b.referenceCost({ inputTokens: 1000, outputTokens: 1000 })).toBeCloseTo(0.09, 12);
  });
});
