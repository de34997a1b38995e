-- Balance of one subject, unless the store cannot vouch for it: no restored marker (a wipe or a
-- restart without persistence removed it) and no restore has reached the subject (no applied
-- watermark). An emptied store must not answer 0 for a TPP that holds credits.
-- KEYS[1] balance  KEYS[2] applied watermark  KEYS[3] restored marker
-- Returns {1, balance} or {0} (not restored)
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
return {1, redis.call('GET', KEYS[1]) or '0'}
