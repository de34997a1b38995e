-- Debit: for each call, in order, as if each were its own atomic step: if the balance covers
-- the cost, subtract it and record it in the subject's bucket for the call's minute; otherwise
-- change nothing and deny. The real-time path never takes a balance below zero. Cost 0 is a
-- check only: allowed unless the balance is negative (possible after reconciliation).
--
-- The store sends the debits of one event-loop turn that share a minute in one call; the
-- keys of each subject are sent once. Calls of the same subject are decided in order against
-- a running balance, and each subject's balance and bucket are written once at the end (one
-- DECRBY, one HINCRBY): the same outcome as one step per call, since nothing else runs while
-- a script does.
--
-- A subject whose keys hold something else (wrong type, not an integer) fails alone: its
-- calls answer -1 with the error and nothing of it changes; the other subjects are applied.
-- (A buckets key or field that cannot be incremented shows when the bucket is written, and
-- fails the calls that would have written it; the balance is then left as it was.)
--
-- No decision is taken from a store that lost its state: unless the restored marker exists
-- (written by the restore, gone with a wipe or a restart without persistence) or a restore
-- already reached the subject (its applied watermark exists, written only by reconciliation),
-- its calls answer -2 and nothing of it changes. A top-up does not make a subject decidable.
-- KEYS[1] the restored marker; KEYS[3j-1] balance of subject j, KEYS[3j] its real-time
-- buckets, KEYS[3j+1] its applied watermark
-- ARGV[1] the epoch minute of every call; ARGV[2i] the subject j of call i, ARGV[2i+1] its cost
-- Returns {allowed_1, balance_1, allowed_2, balance_2, ...}: allowed is 1 or 0, -1 with the
-- error in place of the balance, or -2 (not restored).
local minute = ARGV[1]
local restored = redis.call('EXISTS', KEYS[1]) == 1
local subjects = {} -- subject index -> { balance, spent, calls, err, unrestored }
local order = {}
local out = {}

for i = 2, #ARGV, 2 do
  local j = tonumber(ARGV[i])
  local s = subjects[j]
  if s == nil then
    local key = KEYS[3 * j - 1]
    s = { key = key, bucketKey = KEYS[3 * j], calls = {}, spent = 0 }
    if not restored and redis.call('EXISTS', KEYS[3 * j + 1]) == 0 then
      s.unrestored = true
    else
      local raw = redis.pcall('GET', key)
      if type(raw) == 'table' then
        s.err = raw.err
      elseif raw and not string.match(raw, '^%-?%d+$') then
        s.err = 'not an integer: ' .. key
      else
        s.balance = tonumber(raw or '0')
      end
    end
    subjects[j] = s
    order[#order + 1] = j
  end
  local n = #out
  s.calls[#s.calls + 1] = n + 1
  if s.unrestored then
    out[n + 1] = -2
    out[n + 2] = 0
  elseif s.err then
    out[n + 1] = -1
    out[n + 2] = s.err
  else
    local cost = tonumber(ARGV[i + 1])
    local allowed = 0
    if cost == 0 then
      if s.balance >= 0 then allowed = 1 end
    elseif s.balance >= cost then
      s.balance = s.balance - cost
      s.spent = s.spent + cost
      allowed = 1
    end
    out[n + 1] = allowed
    out[n + 2] = s.balance
  end
end

for _, j in ipairs(order) do
  local s = subjects[j]
  if not s.err and not s.unrestored and s.spent > 0 then
    -- The bucket first: should it fail, nothing was written, and the balance is left as it was.
    local r = redis.pcall('HINCRBY', s.bucketKey, minute, s.spent)
    if type(r) == 'table' then
      for _, at in ipairs(s.calls) do
        out[at] = -1
        out[at + 1] = r.err
      end
    else
      redis.call('DECRBY', s.key, s.spent)
    end
  end
end
return out
