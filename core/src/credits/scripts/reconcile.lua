-- Reconcile: set a subject's balance from the billing truth, atomically, so a debit racing
-- the sync is either before it (its bucket is counted) or after it (it applies to the new balance).
--   balance = target - sum(real-time buckets with minute >= watermark)
-- where target = grants - metered cost before the watermark (computed by the caller from
-- ClickHouse); buckets before the watermark are settled and dropped. The watermark applied
-- per subject only moves forward: an older one (a slow replica) changes nothing, so two
-- workers never fight; the same one again is idempotent (absolute assignment).
-- The target counts every durable grant, so the grants it counts are marked applied: a
-- top-up still between its durable write and its apply then finds it applied, instead of
-- adding it a second time.
-- A change of the balance is kept in the pending hash under its change id, in this same
-- step, until the caller has written its ledger entry and confirms it (HDEL): a ledger write
-- that fails after the balance changed is found and written by the next run.
-- KEYS[1] balance  KEYS[2] real-time buckets  KEYS[3] applied watermark  KEYS[4] grants hash
-- KEYS[5] pending changes (change id -> "watermark|previous|before|after|debited")
-- ARGV[1] target  ARGV[2] watermark (epoch minute)  ARGV[3] change id
-- ARGV[4..] idempotency key, body hash, ... (grants counted)
-- Returns {applied (1|0), before, after, realtime at or after W, previous watermark (-1: none),
--   n dropped, minute_1, cost_1, ... (n pairs), change id_1, change_1, ... (pending changes)}
local target = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local previous = tonumber(redis.call('GET', KEYS[3]) or '-1')
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local raw = redis.call('HGETALL', KEYS[2])
local kept = 0
local out = {0, before, before, 0, previous, 0}
for i = 1, #raw, 2 do
  local cost = tonumber(raw[i + 1])
  if tonumber(raw[i]) >= w then kept = kept + cost end
end
out[4] = kept
local function withPending()
  local pending = redis.call('HGETALL', KEYS[5])
  for i = 1, #pending do out[#out + 1] = pending[i] end
  return out
end
if w < previous then return withPending() end
local after = target - kept
-- The caller checked the target; the kept debits must not take the balance out of the range
-- a double holds exactly either. Checked before any write: the error changes nothing.
if after < -9007199254740991 or after > 9007199254740991 then
  return redis.error_reply('the reconciled balance must be a safe integer (at most 2^53 - 1 either way)')
end
local debited = 0
for i = 1, #raw, 2 do
  if tonumber(raw[i]) < w then
    redis.call('HDEL', KEYS[2], raw[i])
    out[#out + 1] = tonumber(raw[i])
    out[#out + 1] = tonumber(raw[i + 1])
    out[6] = out[6] + 1
    debited = debited + tonumber(raw[i + 1])
  end
end
for i = 4, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[4], ARGV[i])
  if not current or current == 'pending:' .. ARGV[i + 1] then
    redis.call('HSET', KEYS[4], ARGV[i], 'applied:' .. ARGV[i + 1])
  end
end
redis.call('SET', KEYS[1], after)
redis.call('SET', KEYS[3], w)
if after ~= before then
  redis.call('HSET', KEYS[5], ARGV[3], table.concat({w, previous, before, after, debited}, '|'))
end
out[1] = 1
out[3] = after
return withPending()
