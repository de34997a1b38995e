-- Refund: give back a debit, once per request id (idempotent), in the debit's own minute bucket.
-- KEYS[1] balance  KEYS[2] real-time buckets  KEYS[3] refund marker of this request
-- ARGV[1] cost  ARGV[2] epoch minute of the debit  ARGV[3] marker TTL in seconds
-- Returns {refunded (1|0), balance after}
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
  return {0, tonumber(redis.call('GET', KEYS[1]) or '0')}
end
local balance = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[1])) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return {1, balance}
