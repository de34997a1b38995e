-- Debit: for each call, in order, each in one atomic step: if the balance covers the cost,
-- subtract it and record it in the subject's bucket for the call's minute; otherwise change
-- nothing and deny. The real-time path never takes a balance below zero. Cost 0 is a check
-- only: allowed unless the balance is negative (possible after reconciliation).
-- The store sends the debits of one event-loop turn in one call. A call whose keys hold
-- something else (wrong type, not an integer) fails alone, changing nothing; the calls
-- around it are applied.
-- KEYS[2i-1] balance of call i, KEYS[2i] its real-time buckets
-- ARGV[2i-1] cost of call i, ARGV[2i] its epoch minute
-- Returns {allowed_1, balance_1, allowed_2, balance_2, ...}: allowed is 1 or 0, or -1 with
-- the error in place of the balance.
local out = {}
for i = 1, #KEYS, 2 do
  local cost = tonumber(ARGV[i])
  local raw = redis.pcall('GET', KEYS[i])
  local allowed, balance = 0, nil
  if type(raw) == 'table' then
    allowed, balance = -1, raw.err
  elseif raw and not string.match(raw, '^%-?%d+$') then
    allowed, balance = -1, 'not an integer: ' .. KEYS[i]
  else
    balance = tonumber(raw or '0')
    if cost == 0 then
      if balance >= 0 then allowed = 1 end
    elseif balance >= cost then
      -- The bucket first: if it fails, nothing has changed yet.
      local bucket = redis.pcall('HINCRBY', KEYS[i + 1], ARGV[i + 1], cost)
      if type(bucket) == 'table' then
        allowed, balance = -1, bucket.err
      else
        balance = redis.call('DECRBY', KEYS[i], cost)
        allowed = 1
      end
    end
  end
  out[#out + 1] = allowed
  out[#out + 1] = balance
end
return out
