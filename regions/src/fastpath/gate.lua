-- The fast path's one Redis round trip: per-merchant rate limit (token bucket), idempotency
-- claim, and fraud velocity counters, atomically. Keys share the merchant's hash tag, so the
-- script also runs on a Redis Cluster.
--
-- KEYS[1] rate-limit bucket (hash: tokens, ts)     KEYS[2] idempotency record (string, JSON)
-- KEYS[3] card velocity counter                    KEYS[4] merchant velocity counter
-- KEYS[5] card blocklist (set)
-- ARGV[1] now (ms)            ARGV[2] refill rate (tokens/s)   ARGV[3] burst (tokens)
-- ARGV[4] request fingerprint ARGV[5] in-flight marker TTL (ms)
-- ARGV[6] velocity window (ms; 0 = no velocity/fraud step)     ARGV[7] card token
-- ARGV[8] mode: 'limit' (rate limit only) or 'claim'
--
-- Returns {'limited', retry_after_ms} | {'exists', record_json} | {'new', card_count, merchant_count, blocked}

local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])

local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or burst
local ts = tonumber(bucket[2]) or now
if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000) end
if tokens < 1 then
  return {'limited', math.ceil((1 - tokens) * 1000 / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)

if ARGV[8] == 'limit' then return {'new', 0, 0, 0} end

local existing = redis.call('GET', KEYS[2])
if existing then return {'exists', existing} end
redis.call('SET', KEYS[2], cjson.encode({state = 'in_flight', fingerprint = ARGV[4]}), 'PX', ARGV[5])

local window = tonumber(ARGV[6])
if window == 0 then return {'new', 0, 0, 0} end
local card = redis.call('INCR', KEYS[3])
if card == 1 then redis.call('PEXPIRE', KEYS[3], window) end
local merchant = redis.call('INCR', KEYS[4])
if merchant == 1 then redis.call('PEXPIRE', KEYS[4], window) end
local blocked = redis.call('SISMEMBER', KEYS[5], ARGV[7])
return {'new', card, merchant, blocked}
