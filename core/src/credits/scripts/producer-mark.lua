-- A producer's mark: every gateway process and sidecar worker that sends events through Kafka
-- writes it every few hundred milliseconds (restore-acks.ts). The mark names the last restore
-- token whose checkpoint the producer has passed (every call it debited before it saw the
-- token has its event delivered); it expires with the producer, and a wipe takes it too (the
-- next write brings it back). The reply tells the producer which restore is under way.
-- KEYS[1] the producers set  KEYS[2] this producer's mark  KEYS[3] the token of the restore under way
-- ARGV[1] producer id  ARGV[2] the restore token acknowledged ('' none yet)  ARGV[3] mark ttl (ms)
-- Returns the token of the restore under way, or nil.
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return redis.call('GET', KEYS[3])
