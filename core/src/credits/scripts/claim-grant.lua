-- Claim a top-up's idempotency key for one request body, so that a key reused with a
-- different body is refused. Claiming does not apply anything: the grant is applied
-- only after it is durable (apply-grant.lua), so a failed write can be retried.
-- KEYS[1] grants hash (idempotency key -> "pending:<hash>" | "applied:<hash>")
-- ARGV[1] idempotency key  ARGV[2] body hash
-- Returns "new" | "same" | "conflict"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  redis.call('HSET', KEYS[1], ARGV[1], 'pending:' .. ARGV[2])
  return 'new'
end
local hash = string.match(current, ':(.*)$')
if hash == ARGV[2] then return 'same' end
return 'conflict'
