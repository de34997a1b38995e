-- Debit: atomic check-and-subtract. The real-time path never takes a balance below zero.
-- KEYS[1] balance  KEYS[2] real-time buckets (hash: epoch minute -> cost debited)
-- ARGV[1] cost (integer >= 0)  ARGV[2] epoch minute of the request
-- Returns {allowed (1|0), balance after}
local cost = tonumber(ARGV[1])
local balance = tonumber(redis.call('GET', KEYS[1]) or '0')
if cost == 0 then
  -- check only: a negative balance (possible after reconciliation) still denies
  if balance >= 0 then return {1, balance} end
  return {0, balance}
end
if balance < cost then return {0, balance} end
balance = redis.call('DECRBY', KEYS[1], cost)
redis.call('HINCRBY', KEYS[2], ARGV[2], cost)
return {1, balance}
