-- A subject's ledger view in one step: its balance, its unsettled real-time debits and its
-- pending changes, so that balance + unsettled debits is never read across a debit. Refused
-- like balance.lua while the store cannot vouch for the subject.
-- KEYS[1] balance  KEYS[2] applied watermark  KEYS[3] restored marker  KEYS[4] real-time buckets
-- KEYS[5] pending changes
-- Returns {0} (not restored) or {1, balance, n, minute_1, cost_1, ... (n pairs), change id_1, change_1, ...}
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
local out = {1, redis.call('GET', KEYS[1]) or '0'}
local buckets = redis.call('HGETALL', KEYS[4])
out[3] = #buckets / 2
for i = 1, #buckets do out[#out + 1] = buckets[i] end
local pending = redis.call('HGETALL', KEYS[5])
for i = 1, #pending do out[#out + 1] = pending[i] end
return out
