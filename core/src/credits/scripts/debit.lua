-- Debit: for each call, in order and all in one atomic step: if the balance covers the cost,
-- subtract it and record it in the subject's bucket for the call's minute; otherwise change
-- nothing and deny. The real-time path never takes a balance below zero. Cost 0 is a check
-- only: allowed unless the balance is negative (possible after reconciliation).
-- A call may carry several debits (applied in order, atomically); the store sends one per
-- request and lets the client pipeline them.
-- KEYS[2i-1] balance of call i, KEYS[2i] its real-time buckets
-- ARGV[2i-1] cost of call i, ARGV[2i] its epoch minute
-- Returns {allowed_1, balance_1, allowed_2, balance_2, ...}
local out = {}
for i = 1, #KEYS, 2 do
  local cost = tonumber(ARGV[i])
  local balance = tonumber(redis.call('GET', KEYS[i]) or '0')
  local allowed = 0
  if cost == 0 then
    if balance >= 0 then allowed = 1 end
  elseif balance >= cost then
    balance = redis.call('DECRBY', KEYS[i], cost)
    redis.call('HINCRBY', KEYS[i + 1], ARGV[i + 1], cost)
    allowed = 1
  end
  out[#out + 1] = allowed
  out[#out + 1] = balance
end
return out
