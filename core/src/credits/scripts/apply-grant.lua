-- Apply a durable top-up to the balance exactly once per idempotency key.
-- KEYS[1] grants hash  KEYS[2] balance
-- ARGV[1] idempotency key  ARGV[2] body hash  ARGV[3] amount (integer > 0)
-- Returns {status (1 applied now | 0 applied before | -1 key holds another body
--   | -2 the balance would pass 2^53 - 1: nothing applied), balance}
-- Balances stay within the integers a double holds exactly (Lua's numbers, JavaScript's).
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local hash = string.match(current, ':(.*)$')
  if hash ~= ARGV[2] then return {-1, tonumber(redis.call('GET', KEYS[2]) or '0')} end
  if string.sub(current, 1, 8) == 'applied:' then
    return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
  end
end
local balance = tonumber(redis.call('GET', KEYS[2]) or '0')
if balance + tonumber(ARGV[3]) > 9007199254740991 then return {-2, balance} end
redis.call('HSET', KEYS[1], ARGV[1], 'applied:' .. ARGV[2])
return {1, redis.call('INCRBY', KEYS[2], ARGV[3])}
