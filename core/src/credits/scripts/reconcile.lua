-- Reconcile: set a subject's balance from the billing truth, atomically, so a debit racing
-- the sync is either before it (its bucket is counted) or after it (it applies to the new balance).
--   balance = target - sum over minutes >= W of (real-time debits + charged from metering)
-- where target = grants - metered cost before the watermark W (computed by the caller from
-- ClickHouse); buckets before W are settled and dropped.
--
-- Each minute at or after W is charged at least the cost ClickHouse already holds for it
-- (ARGV metered pairs): what the minute's metered cost exceeds its real-time debits plus what
-- was charged from metering before is added to its charge from metering (KEYS[6]). A charge
-- only grows until W passes its minute (refunds aside), so a balance never goes back up for
-- usage that was metered, and real-time debits and metered events of one call are never both
-- counted: the minute counts the larger. This is what restores a store that lost its
-- real-time buckets (a wipe, a restart without persistence, a memory store at start) without
-- forgetting the usage of the minutes after W; applied in every run, it also charges
-- unverified calls and ingested usage as soon as they are metered.
--
-- The watermark applied per subject only moves forward: an older one (a slow replica) changes
-- nothing, so two workers never fight; the same one again is idempotent (absolute assignment).
-- A subject the store lost (no applied watermark, no restored marker) is left alone outside a
-- restore (ARGV[4] empty): it is not decided from the emptied store, and its first change is
-- the restore's. The target counts every durable grant, so the grants it counts are marked
-- applied: a top-up still between its durable write and its apply then finds it applied,
-- instead of adding it a second time.
-- A change (of the balance, of the buckets or charges) is kept in the pending hash under its
-- change id, in this same step, until the caller has written its ledger entries and settled
-- debits and confirms it (HDEL): a write that fails after the store changed is found and
-- written by the next run.
-- KEYS[1] balance  KEYS[2] real-time buckets  KEYS[3] applied watermark  KEYS[4] grants hash
-- KEYS[5] pending changes  KEYS[6] charged from metering (minute -> cost)  KEYS[7] restored marker
-- ARGV[1] target  ARGV[2] watermark (epoch minute)  ARGV[3] change id
-- ARGV[4] ledger base (grants + adjustments - settled debits) in a restore, '' otherwise
-- ARGV[5] n, then n pairs minute, metered cost (minutes >= W)
-- ARGV[6+2n..] idempotency key, body hash, ... (grants counted)
-- A pending change is "kind|watermark|previous|before|after|debited|settled from metering|
--   implied|settled buckets|raised" (kind: sync or restore; implied: '' for a sync; settled
--   buckets and raised charges as "minute:cost,minute:cost...").
-- Returns {status (1 applied | 0 stale | -2 not restored), before, after, realtime at or after W,
--   raised, previous watermark (-1: none), n dropped, minute_1, cost_1, ... (n pairs),
--   change id_1, change_1, ... (pending changes)}
local MAX = 9007199254740991
-- Lua 5.1 writes a number with 14 significant digits; an integer is written in full.
local function int(x) return string.format('%d', x) end
local target = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local restoring = ARGV[4] ~= ''
local previous = tonumber(redis.call('GET', KEYS[3]) or '-1')
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local lost = previous == -1 and redis.call('EXISTS', KEYS[7]) == 0
local raw = redis.call('HGETALL', KEYS[2])
local rt = {}
local kept, all = 0, 0
for i = 1, #raw, 2 do
  local minute, cost = tonumber(raw[i]), tonumber(raw[i + 1])
  rt[minute] = cost
  all = all + cost
  if minute >= w then kept = kept + cost end
end
local out = {0, before, before, kept, 0, previous, 0}
local function withPending()
  local pending = redis.call('HGETALL', KEYS[5])
  for i = 1, #pending do out[#out + 1] = pending[i] end
  return out
end
if lost and not restoring then
  out[1] = -2
  return withPending()
end
if w < previous then return withPending() end

local rawMetered = redis.call('HGETALL', KEYS[6])
local mt = {}
for i = 1, #rawMetered, 2 do
  local minute, cost = tonumber(rawMetered[i]), tonumber(rawMetered[i + 1])
  mt[minute] = cost
  if minute >= w then kept = kept + cost end
end
local n = tonumber(ARGV[5])
local raise, raisedList = {}, {}
local raised = 0
for i = 6, 5 + 2 * n, 2 do
  local minute, cost = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local charged = (rt[minute] or 0) + (mt[minute] or 0)
  if minute >= w and cost > charged then
    raise[#raise + 1] = {ARGV[i], int(cost - charged)}
    raisedList[#raisedList + 1] = ARGV[i] .. ':' .. int(cost - charged)
    raised = raised + cost - charged
  end
end
local after = target - kept - raised
-- The caller checked the target; what is kept must not take the balance out of the range a
-- double holds exactly either. Checked before any write: the error changes nothing.
if after < -MAX or after > MAX then
  return redis.error_reply('the reconciled balance must be a safe integer (at most 2^53 - 1 either way)')
end

local debited, settled = 0, {}
for i = 1, #raw, 2 do
  if tonumber(raw[i]) < w then
    redis.call('HDEL', KEYS[2], raw[i])
    out[#out + 1] = tonumber(raw[i])
    out[#out + 1] = tonumber(raw[i + 1])
    out[7] = out[7] + 1
    debited = debited + tonumber(raw[i + 1])
    settled[#settled + 1] = raw[i] .. ':' .. raw[i + 1]
  end
end
local settledFromMetering = 0
for i = 1, #rawMetered, 2 do
  if tonumber(rawMetered[i]) < w then
    redis.call('HDEL', KEYS[6], rawMetered[i])
    settledFromMetering = settledFromMetering + tonumber(rawMetered[i + 1])
  end
end
for _, r in ipairs(raise) do redis.call('HINCRBY', KEYS[6], r[1], r[2]) end
for i = 6 + 2 * n, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[4], ARGV[i])
  if not current or current == 'pending:' .. ARGV[i + 1] then
    redis.call('HSET', KEYS[4], ARGV[i], 'applied:' .. ARGV[i + 1])
  end
end
redis.call('SET', KEYS[1], int(after))
redis.call('SET', KEYS[3], w)
local kind, implied = 'sync', ''
if lost then
  kind = 'restore'
  implied = int(tonumber(ARGV[4]) - all)
end
if kind == 'restore' or after ~= before or #settled > 0 or settledFromMetering ~= 0 or raised > 0 then
  local change = {kind, int(w), int(previous), int(before), int(after), int(debited), int(settledFromMetering), implied, table.concat(settled, ','), table.concat(raisedList, ',')}
  redis.call('HSET', KEYS[5], ARGV[3], table.concat(change, '|'))
end
out[1] = 1
out[3] = after
out[5] = raised
return withPending()
