/** Fixture loading and small helpers shared by the protocol tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SwitchyardError } from '../../src/errors.js';
import { SseParser, type SseEvent } from '../../src/protocol/sse.js';

const DIR = fileURLToPath(new URL('../fixtures/protocol/', import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(DIR + name, 'utf8');
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name));
}

/** All SSE events of a whole text. */
export function sseEvents(text: string): SseEvent[] {
  const p = new SseParser();
  return [...p.push(text), ...p.end()];
}

/** The SwitchyardError `fn` throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw new Error(`expected a SwitchyardError, got ${String(e)}`);
  }
  throw new Error('expected a SwitchyardError, nothing was thrown');
}
