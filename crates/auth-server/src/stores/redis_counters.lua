-- docs/security.md, items 17 and 35: the sign-in throttle's rules
-- (crates/auth-server/src/domain/sign_in_throttle.rs, `Counter`) on counters every replica shares.
-- One call is one operation on the account (KEYS[1]) and, when the attempt has one, the address
-- (KEYS[2]); Redis runs it whole, so concurrent attempts on any replica see each other's failures.
--
-- A counter is a hash: `n`, failures with no quiet window between them; `t`, the last one's time in
-- milliseconds of Redis' own clock (TIME), so replicas whose clocks disagree agree on every wait.
-- It expires a window after its last failure, when the rules forget it anyway: Redis never fills up.
--
-- ARGV: the operation (`locked`, `failed` or `succeeded`); the account's and the address's maximum
-- (0: that limit is off); the window and the lockout in milliseconds.
-- Answers how many milliseconds the account or the address is locked for (0: neither is).

-- Before Redis 5, a script that reads the clock must say so before it writes.
if redis.replicate_commands then
    redis.replicate_commands()
end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local operation = ARGV[1]
local maxima = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
local window = tonumber(ARGV[4])
local lockout = tonumber(ARGV[5])

-- Failures so far and the last one's time; a counter never written is no failure, now.
local function read(key)
    local fields = redis.call('HMGET', key, 'n', 't')
    return tonumber(fields[1]) or 0, tonumber(fields[2]) or now
end

-- How long the key is locked for: `Counter::locked`.
local function wait(key, max)
    if max == 0 then
        return 0
    end
    local count, last = read(key)
    if count < max or now - last >= window then
        return 0
    end
    return math.max(last + lockout - now, 0)
end

-- Counts a failure; how long the key was locked already: `Counter::fail`.
local function fail(key, max)
    if max == 0 then
        return 0
    end
    local locked = wait(key, max)
    local count, last = read(key)
    if now - last >= window then
        count = 0
    end
    redis.call('HSET', key, 'n', string.format('%d', count + 1), 't', string.format('%d', now))
    redis.call('PEXPIRE', key, string.format('%d', math.max(window, 1)))
    return locked
end

-- The longest of `check` over the attempt's keys.
local function longest(check)
    local result = 0
    for i, key in ipairs(KEYS) do
        result = math.max(result, check(key, maxima[i]))
    end
    return result
end

if operation == 'locked' then
    return longest(wait)
elseif operation == 'failed' then
    return longest(fail)
elseif operation == 'succeeded' then
    local locked = longest(wait)
    if locked == 0 then
        redis.call('DEL', KEYS[1])
    end
    return locked
end
return redis.error_reply('unknown operation: ' .. tostring(operation))
