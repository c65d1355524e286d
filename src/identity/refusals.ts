/**
 * Identity refusals (401/403/400/431 before anything else is looked at) as
 * decision records, bounded so a flood of bad keys cannot flood the records
 * sink or the live event stream: per window (`WINDOW_MS`), the first refusal
 * of each (status, code, face, protocol, peer) is recorded at once
 * (`refusals: 1`), later ones are only counted and go out as one aggregate
 * record when the window ends (`refusals: n`). At most `MAX_KEYS` distinct
 * groups per window; the rest share one group with peer `other`. So a window
 * yields at most 2 × (MAX_KEYS + 1) records, however large the flood.
 *
 * A record names the reason (the error code), face, protocol and peer
 * address: never the credential, a key id or a digest of either.
 */
import { randomUUID } from 'node:crypto';
import type { SwitchyardError } from '../errors.js';
import type { DecisionRecord } from '../observability/events.js';

export const WINDOW_MS = 10_000;
export const MAX_KEYS = 64;

/** Where a refusal came in. */
export interface RefusalSource {
  face: string;
  protocol: string;
  peer: string | undefined;
}

interface Group {
  base: Omit<DecisionRecord, 'id' | 'time'>;
  /** Refusals since the group's record went out. */
  more: number;
}

/**
 * @example
 * const r = new RefusalRecords((rec) => events.emit('refusal', rec));
 * r.note(err, { face: 'serve', protocol: 'openai', peer: '10.0.0.7' });
 */
export class RefusalRecords {
  private groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly emit: (r: DecisionRecord) => void) {}

  note(err: SwitchyardError, src: RefusalSource): void {
    let peer = src.peer ?? 'unknown';
    let key = `${err.status}|${err.code}|${src.face}|${src.protocol}|${peer}`;
    let g = this.groups.get(key);
    if (g === undefined && this.groups.size >= MAX_KEYS) {
      peer = 'other';
      key = `${err.status}|${err.code}|${src.face}|${src.protocol}|other`;
      g = this.groups.get(key);
    }
    if (g !== undefined) {
      g.more++;
      return;
    }
    const base: Group['base'] = {
      tenant: '-',
      protocol: src.protocol,
      operation: 'identity',
      requested: '',
      stream: false,
      cache: 'off',
      status: err.status,
      complete: false,
      attempts: [],
      durationMs: 0,
      reason: err.code,
      error: `identity refused: ${err.code}`,
      face: src.face,
      peer,
      refusals: 1,
    };
    this.groups.set(key, { base, more: 0 });
    this.send(base, 1);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), WINDOW_MS);
      this.timer.unref();
    }
  }

  /** Ends the window: one aggregate record per group that saw more refusals. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const groups = this.groups;
    this.groups = new Map();
    for (const g of groups.values()) if (g.more > 0) this.send(g.base, g.more);
  }

  private send(base: Group['base'], n: number): void {
    this.emit({ id: randomUUID(), time: new Date().toISOString(), ...base, refusals: n });
  }

  close(): void {
    this.flush();
  }
}
