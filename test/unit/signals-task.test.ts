import { describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/embedding/embedder.js';
import type { CanonicalRequest } from '../../src/protocol/canonical.js';
import { promptRequest } from '../../src/eval/routing-eval.js';
import { buildPrototypeIndex, taskType, type TaskType } from '../../src/routing/signals/task.js';

/** Bag-of-words hashing embedder: similar words → similar vectors, enough to test the mechanics. */
class HashEmbedder implements Embedder {
  readonly id = 'hash-bow';
  readonly dim = 256;
  calls = 0;
  async ready(): Promise<void> {}
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls++;
    return texts.map((t) => this.vec(t));
  }
  vec(t: string): Float32Array {
    const v = new Float32Array(this.dim);
    for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
      let h = 2166136261;
      for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
      v[(h >>> 0) % this.dim]! += 1;
    }
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  }
}

const cases: [string, TaskType][] = [
  ['hi there!', 'chat'],
  ['Who wrote War and Peace?', 'qa'],
  ['Why does this Python function raise a KeyError?\n```python\nd = {}\nprint(d["a"])\n```', 'code'],
  ['Summarize the following article in three bullet points: ...', 'summarization'],
  ['Extract all email addresses and phone numbers from this page as JSON.', 'extraction'],
  ['Translate into German: where is the train station?', 'translation'],
  ['Write a haiku about autumn leaves.', 'creative'],
  ['Prove that there are infinitely many primes.', 'reasoning'],
];

describe('taskType with keywords', () => {
  it.each(cases)('%s → %s', (text, type) => {
    const r = taskType(promptRequest(text));
    expect(r.type).toBe(type);
    expect(r.by).toBe('keywords');
    expect(r.confidence).toBeGreaterThan(0);
    expect(r.confidence).toBeLessThanOrEqual(1);
  });

  it('calls a tool loop agentic', () => {
    const req: CanonicalRequest = {
      ...promptRequest('What is the weather in Paris?'),
      tools: [{ name: 'get_weather', parameters: {} }],
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: '', toolCalls: [{ id: '1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', content: '18°C, cloudy', toolCallId: '1' },
      ],
    };
    expect(taskType(req).type).toBe('agentic');
  });

  it('falls back to chat for short cue-less text, with low confidence', () => {
    const r = taskType(promptRequest('ok sure'));
    expect(r.type).toBe('chat');
    expect(r.confidence).toBeLessThan(0.5);
  });
});

describe('taskType with prototype embeddings', () => {
  it('embeds the prototypes once, in one call', async () => {
    const e = new HashEmbedder();
    const index = await buildPrototypeIndex(e);
    expect(e.calls).toBe(1);
    expect(index.embedderId).toBe('hash-bow');
    expect(index.vectors.length).toBe(index.labels.length);
    expect(new Set(index.labels).size).toBe(9);
  });

  it('lets the embedding decide when keywords are weak', async () => {
    const e = new HashEmbedder();
    const index = await buildPrototypeIndex(e);
    const text = 'a brave little dragon at bedtime';
    const r = taskType(promptRequest(text), e.vec(text), index);
    expect(r).toMatchObject({ type: 'creative', by: 'embedding' });
  });

  it('reports both when keywords and embedding agree, with higher confidence', async () => {
    const e = new HashEmbedder();
    const index = await buildPrototypeIndex(e);
    const text = 'Translate this sentence into French: where is the nearest train station?';
    const kw = taskType(promptRequest(text));
    const r = taskType(promptRequest(text), e.vec(text), index);
    expect(r.type).toBe('translation');
    expect(r.by).toBe('both');
    expect(r.confidence).toBeGreaterThanOrEqual(kw.confidence);
  });

  it('ignores an embedding of another dimension', async () => {
    const index = await buildPrototypeIndex(new HashEmbedder());
    const r = taskType(promptRequest('Write a haiku about autumn leaves.'), new Float32Array(8), index);
    expect(r.by).toBe('keywords');
  });
});
