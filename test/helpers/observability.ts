/** Test helpers for the observability endpoints: a Prometheus text reader and an SSE collector. */
import type { DecisionRecord } from '../../src/observability/events.js';

/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus exposition text into samples (comments skipped). */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let s = 0;
  for (const x of samples) {
    if (x.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => x.labels[k] === v)) s += x.value;
  }
  return s;
}

/** Reads `GET /metrics` of a running gateway. */
export async function scrape(url: string, path = '/metrics'): Promise<Sample[]> {
  const res = await fetch(`${url}${path}`);
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}`);
  return parseProm(await res.text());
}

/** A live subscription to `/switchyard/events`. */
export interface EventCollector {
  events: { id: number; record: DecisionRecord }[];
  /** Resolves once at least `n` events arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Connects to the SSE stream and collects decision events; resolves once connected. */
export async function collectEvents(url: string): Promise<EventCollector> {
  const ac = new AbortController();
  const res = await fetch(`${url}/switchyard/events`, { signal: ac.signal });
  if (res.status !== 200 || !res.body) throw new Error(`events answered ${res.status}`);
  const events: EventCollector['events'] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id = 0;
          let data = '';
          let event = 'message';
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) id = Number(line.slice(4));
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (event === 'decision') {
            events.push({ id, record: JSON.parse(data) as DecisionRecord });
            for (const w of waiters.splice(0)) w();
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    async waitFor(n, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (events.length < n) {
        if (Date.now() > until) throw new Error(`only ${events.length} of ${n} events arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => ac.abort(),
  };
}
