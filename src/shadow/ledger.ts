/**
 * The daily spend cap of shadow tests. A call reserves its estimated cost
 * before it is sent and settles the actual cost after; a reservation that
 * would take the day's total (settled plus reserved) past the cap is refused,
 * so concurrent calls cannot jointly overshoot on their estimates. Amounts
 * are integer nano-USD. In memory (per process) or in Redis (one counter per
 * UTC day shared by every gateway, checked and added by one Lua script; one
 * key per call, so any cluster slot serves it); when Redis cannot be reached
 * in time the cap fails closed: no shadow call.
 */
import type { RedisStore } from '../store/redis.js';

/** A granted reservation: which day it counts against and how much. */
export interface Reservation {
  readonly day: string;
  readonly nanos: number;
}

/** The spend cap's bookkeeping. */
export interface SpendLedger {
  /** Reserves `usd` for today, or undefined when it would pass `capUsd` (or the cap cannot be checked). */
  reserve(usd: number, capUsd: number): Promise<Reservation | undefined>;
  /** Replaces a reservation by what was actually spent. */
  settle(r: Reservation, actualUsd: number): Promise<void>;
  /** USD spent and reserved today. */
  today(): Promise<number>;
}

const NANO = 1e9;
const toNanos = (usd: number) => Math.max(0, Math.ceil(usd * NANO));

/** The UTC date, `2025-01-31`. */
export function utcDay(now = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** One process's ledger. */
export class MemoryLedger implements SpendLedger {
  private readonly days = new Map<string, number>();

  async reserve(usd: number, capUsd: number): Promise<Reservation | undefined> {
    const day = utcDay();
    const nanos = toNanos(usd);
    const used = this.days.get(day) ?? 0;
    if (used + nanos > toNanos(capUsd)) return undefined;
    for (const d of this.days.keys()) if (d !== day) this.days.delete(d);
    this.days.set(day, used + nanos);
    return { day, nanos };
  }

  async settle(r: Reservation, actualUsd: number): Promise<void> {
    const used = this.days.get(r.day);
    if (used !== undefined) this.days.set(r.day, used - r.nanos + toNanos(actualUsd));
  }

  async today(): Promise<number> {
    return (this.days.get(utcDay()) ?? 0) / NANO;
  }
}

const RESERVE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local add = tonumber(ARGV[1])
if used + add > tonumber(ARGV[2]) then return -1 end
local v = redis.call('INCRBY', KEYS[1], add)
redis.call('EXPIRE', KEYS[1], 259200)
return v`;

/** A ledger shared through Redis: key `<prefix>:<UTC day>`, kept three days. */
export class RedisLedger implements SpendLedger {
  constructor(
    private readonly redis: RedisStore,
    private readonly prefix: string,
    private readonly onError: (err: Error) => void,
  ) {}

  async reserve(usd: number, capUsd: number): Promise<Reservation | undefined> {
    const day = utcDay();
    const nanos = toNanos(usd);
    try {
      const key = `${this.prefix}:${day}`;
      const v = await this.redis.call('shadow-reserve', (c) => c.eval(RESERVE, { keys: [key], arguments: [String(nanos), String(toNanos(capUsd))] }));
      return Number(v) < 0 ? undefined : { day, nanos };
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
  }

  async settle(r: Reservation, actualUsd: number): Promise<void> {
    const delta = toNanos(actualUsd) - r.nanos;
    if (delta === 0) return;
    try {
      const key = `${this.prefix}:${r.day}`;
      await this.redis.call('shadow-settle', (c) => c.incrBy(key, delta));
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async today(): Promise<number> {
    try {
      const key = `${this.prefix}:${utcDay()}`;
      return Number((await this.redis.call('shadow-today', (c) => c.get(key))) ?? 0) / NANO;
    } catch {
      return Number.NaN;
    }
  }
}
