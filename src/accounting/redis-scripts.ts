/**
 * The Lua scripts behind `RedisAccountingStore`. Each runs atomically in
 * Redis, so replicas sharing the counters cannot both take the last unit of
 * a limit. Money is integer nano-USD (HINCRBY), tokens and requests integers.
 * The semantics match `MemoryAccountingStore` line for line.
 *
 * Every key of one call carries the same Redis Cluster hash tag (`{acct}`),
 * so each script runs in one slot. Each admission has a hold key
 * (`hold:<ticket>`): `r` while reserved, `s` once settled, `c` once
 * cancelled. It makes a late admission (one that ran after the gateway gave
 * up waiting) undoable by CANCEL, and a retried SETTLE count once.
 */

/**
 * ADMIT. Checks every limit; only when all pass, counts the request and its
 * tokens and reserves its estimated cost.
 *
 * KEYS: 1 requests (this minute), 2 requests (previous minute),
 *       3 tokens (this minute), 4 tokens (previous minute),
 *       5 budget hash (day), 6 budget hash (month)
 * ARGV: 1 rpm, 2 tpm (-1 = none), 3 tokens, 4 fraction of the minute gone,
 *       5 counter TTL ms, 6 day cap, 7 month cap (nano-USD, -1 = none),
 *       8 estimate (nano-USD), 9 day end, 10 month end (ms since epoch),
 *       11 hold TTL (ms)
 * KEYS 7: the hold key of this admission.
 * Returns {0, daySpent, dayReserved, monthSpent, monthReserved} when admitted;
 * {1|2, previous, current} for a request|token limit; {3|4, totals...} for a
 * daily|monthly cap; {5} when the admission was already cancelled.
 */
export const ADMIT_LUA = `
local function n(v) return tonumber(v) or 0 end
if redis.call('EXISTS', KEYS[7]) == 1 then return {5} end
local rpm, tpm, tokens, f = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if rpm >= 0 then
  local cur, prev = n(redis.call('GET', KEYS[1])), n(redis.call('GET', KEYS[2]))
  if prev * (1 - f) + cur + 1 > rpm then return {1, prev, cur} end
end
if tpm >= 0 then
  local cur, prev = n(redis.call('GET', KEYS[3])), n(redis.call('GET', KEYS[4]))
  if prev * (1 - f) + cur + tokens > tpm then return {2, prev, cur} end
end
local dayCap, monthCap, est = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local ds, dr, ms, mr = 0, 0, 0, 0
if dayCap >= 0 then
  local v = redis.call('HMGET', KEYS[5], 'spent', 'reserved')
  ds, dr = n(v[1]), n(v[2])
  if ds + dr >= dayCap then return {3, ds, dr, 0, 0} end
end
if monthCap >= 0 then
  local v = redis.call('HMGET', KEYS[6], 'spent', 'reserved')
  ms, mr = n(v[1]), n(v[2])
  if ms + mr >= monthCap then return {4, ds, dr, ms, mr} end
end
if rpm >= 0 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if tpm >= 0 then
  redis.call('INCRBY', KEYS[3], tokens)
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
if dayCap >= 0 then
  dr = redis.call('HINCRBY', KEYS[5], 'reserved', est)
  redis.call('PEXPIREAT', KEYS[5], ARGV[9])
end
if monthCap >= 0 then
  mr = redis.call('HINCRBY', KEYS[6], 'reserved', est)
  redis.call('PEXPIREAT', KEYS[6], ARGV[10])
end
redis.call('SET', KEYS[7], 'r', 'PX', ARGV[11])
return {0, ds, dr, ms, mr}
`;

/**
 * SETTLE. Releases a reservation (only if its period's hash still exists:
 * a request that crossed midnight does not resurrect yesterday), counts the
 * real cost in the current period, and corrects the token counter of the
 * minute the tokens were counted in (if it still exists).
 *
 * KEYS: 1 day hash at admission, 2 month hash at admission, 3 day hash now,
 *       4 month hash now, 5 token counter at admission, 6 hold key
 * ARGV: 1 estimate, 2 actual (nano-USD), 3 has day cap, 4 has month cap
 *       ('1'/'0'), 5 day end, 6 month end (ms), 7 token correction,
 *       8 TTL (ms) of the settled mark
 * Returns {daySpent, dayReserved, monthSpent, monthReserved} after settling,
 * or {-1} when this admission was already settled or cancelled (a retry).
 */
export const SETTLE_LUA = `
local mark = redis.call('GET', KEYS[6])
if mark == 's' or mark == 'c' then return {-1} end
local est, actual = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {0, 0, 0, 0}
local function settle(held, now, endsAt, slot)
  -- (never HINCRBY by -0: Lua formats it as "-0", which Redis refuses as an integer)
  if est ~= 0 and redis.call('EXISTS', held) == 1 then redis.call('HINCRBY', held, 'reserved', -est) end
  if actual ~= 0 then
    redis.call('HINCRBY', now, 'spent', actual)
    redis.call('PEXPIREAT', now, endsAt)
  end
  local v = redis.call('HMGET', now, 'spent', 'reserved')
  out[slot], out[slot + 1] = tonumber(v[1]) or 0, tonumber(v[2]) or 0
end
if ARGV[3] == '1' then settle(KEYS[1], KEYS[3], ARGV[5], 1) end
if ARGV[4] == '1' then settle(KEYS[2], KEYS[4], ARGV[6], 3) end
local d = tonumber(ARGV[7])
if d ~= 0 and redis.call('EXISTS', KEYS[5]) == 1 then redis.call('INCRBY', KEYS[5], d) end
-- Last, so a script that fails half-way is not marked settled.
redis.call('SET', KEYS[6], 's', 'PX', ARGV[8])
return out
`;

/**
 * CANCEL. Undoes an admission the gateway stopped waiting for, if it ran;
 * otherwise leaves a mark so that it never runs (ADMIT checks the hold key).
 *
 * KEYS: 1 request counter, 2 token counter, 3 day hash, 4 month hash, 5 hold key
 * ARGV: 1 counted a request ('1'/'0'), 2 tokens counted, 3 has day cap,
 *       4 has month cap, 5 estimate, 6 TTL (ms) of the cancelled mark
 * Returns 1 when an admission was undone, 0 otherwise.
 */
export const CANCEL_LUA = `
local held = redis.call('GET', KEYS[5])
redis.call('SET', KEYS[5], 'c', 'PX', ARGV[6])
if held ~= 'r' then return 0 end
local tokens, est = tonumber(ARGV[2]), tonumber(ARGV[5])
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
if tokens ~= 0 and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DECRBY', KEYS[2], tokens) end
if est ~= 0 and ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HINCRBY', KEYS[3], 'reserved', -est) end
if est ~= 0 and ARGV[4] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then redis.call('HINCRBY', KEYS[4], 'reserved', -est) end
return 1
`;
