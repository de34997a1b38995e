-- Debit: for each call, in order, as if each were its own atomic step: if the balance covers
-- the cost, subtract it and record it in the subject's bucket for the call's minute; otherwise
-- change nothing and deny. The real-time path never takes a balance below zero. Cost 0 is a
-- check only: allowed unless the balance is negative (possible after reconciliation).
--
-- The store sends the debits of one event-loop turn in one call. Calls of the same subject
-- are decided in order against a running balance, and each subject's balance and buckets
-- are written once at the end (one DECRBY, one HINCRBY per minute): the same outcome as one
-- step per call, since nothing else runs while a script does.
--
-- A subject whose keys hold something else (wrong type, not an integer) fails alone: its
-- calls answer -1 with the error and nothing of it changes; the other subjects are applied.
-- (A buckets key of the wrong type shows when the buckets are written, and fails the calls
-- that would have written them.)
-- KEYS[2i-1] balance of call i, KEYS[2i] its real-time buckets
-- ARGV[2i-1] cost of call i, ARGV[2i] its epoch minute
-- Returns {allowed_1, balance_1, allowed_2, balance_2, ...}: allowed is 1 or 0, or -1 with
-- the error in place of the balance.
local subjects = {} -- balance key -> { balance, start, spent, buckets key, minute -> cost, calls, error }
local order = {}
local out = {}

for i = 1, #KEYS, 2 do
  local key = KEYS[i]
  local s = subjects[key]
  if s == nil then
    s = { bucketKey = KEYS[i + 1], minutes = {}, calls = {}, spent = 0 }
    local raw = redis.pcall('GET', key)
    if type(raw) == 'table' then
      s.err = raw.err
    elseif raw and not string.match(raw, '^%-?%d+$') then
      s.err = 'not an integer: ' .. key
    else
      s.balance = tonumber(raw or '0')
    end
    subjects[key] = s
    order[#order + 1] = key
  end
  local n = #out
  s.calls[#s.calls + 1] = n + 1
  if s.err then
    out[n + 1] = -1
    out[n + 2] = s.err
  else
    local cost = tonumber(ARGV[i])
    local allowed = 0
    if cost == 0 then
      if s.balance >= 0 then allowed = 1 end
    elseif s.balance >= cost then
      s.balance = s.balance - cost
      s.spent = s.spent + cost
      local minute = ARGV[i + 1]
      s.minutes[minute] = (s.minutes[minute] or 0) + cost
      allowed = 1
    end
    out[n + 1] = allowed
    out[n + 2] = s.balance
  end
end

for _, key in ipairs(order) do
  local s = subjects[key]
  if not s.err and s.spent > 0 then
    -- The buckets first: should one fail, what this script added to them is taken back and
    -- the balance is left as it was, so the subject's calls fail with nothing changed.
    local added = {}
    local failed = nil
    for minute, cost in pairs(s.minutes) do
      local r = redis.pcall('HINCRBY', s.bucketKey, minute, cost)
      if type(r) == 'table' then
        failed = r.err
        break
      end
      added[#added + 1] = { minute, cost }
    end
    if failed then
      for _, a in ipairs(added) do
        -- A field this script created goes again, rather than staying behind at 0.
        if redis.call('HINCRBY', s.bucketKey, a[1], -a[2]) == 0 then redis.call('HDEL', s.bucketKey, a[1]) end
      end
      for _, at in ipairs(s.calls) do
        out[at] = -1
        out[at + 1] = failed
      end
    else
      redis.call('DECRBY', key, s.spent)
    end
  end
end
return out
