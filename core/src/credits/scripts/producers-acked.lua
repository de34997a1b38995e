-- Have all live producers acknowledged the restore `ARGV[1]`? A producer whose mark expired is
-- gone (killed, or stopped): it is dropped from the set, and its events are not waited for.
-- Keys of the marks are the prefix ARGV[2] and the producer id (the store is one primary).
-- KEYS[1] the producers set  KEYS[2] the token of the restore under way
-- ARGV[1] the restore token  ARGV[2] the prefix of the marks' keys
-- Returns {status, waiting}: status 1 every live producer acknowledged, 0 not yet, -1 the token
-- is not the restore under way any more (the store was wiped again, or the restore completed).
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {-1, 0} end
local waiting = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local mark = redis.call('GET', ARGV[2] .. id)
  if not mark then
    redis.call('SREM', KEYS[1], id)
  elseif mark ~= ARGV[1] then
    waiting = waiting + 1
  end
end
if waiting == 0 then return {1, 0} end
return {0, waiting}
