-- Mark the store restored, if the restore that asks is still the one under way: its token is
-- still there, so the store was not wiped since the restore began (a wipe takes the token
-- with it, and the marker must then wait for a restore that began after it).
-- KEYS[1] token of the restore under way  KEYS[2] restored marker
-- ARGV[1] the asking restore's token
-- Returns 1 (marked) or 0
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
