/// The Lua scripts behind ``RedisRateLimitStore``: one atomic script per algorithm, the same arithmetic as the
/// core algorithms, with Redis server time (`TIME`, microseconds) as the clock.
///
/// Shared contract (see ``RedisRateLimitAlgorithm``): `KEYS[1]` is the key's state; `ARGV[1]` is `acquire` or
/// `refund`, `ARGV[2]` the cost, `ARGV[3]` (refund only) how many microseconds ago the refunded units were taken,
/// then the algorithm's parameters. The reply is `{allowed (0/1), remaining, reset µs, retry-after µs (-1: none)}`.
/// A denial writes nothing; every write sets a `PEXPIRE` at the moment the state becomes equivalent to an absent one
/// (plus 1 ms), and a state that is already equivalent is deleted, so idle keys cost no memory.
///
/// Times are doubles of microseconds since the Unix epoch (0.25 µs resolution today) written with `%.17g` so that
/// they read back exactly; rounding always favours denial (retry-after and reset round up, remaining down).
///
/// Redis' clock can go backwards (an NTP step, a server restored from a snapshot, a failover to a replica whose
/// clock is behind). A script that finds its stored time ahead of `TIME` grants nothing extra for it and carries
/// its state over to the new timeline at once (written even on a denial), so refills resume at their normal pace
/// instead of waiting for the clock to catch up — which would deny a drained key for as long as the jump.
enum RedisRateLimitScripts {
    /// ARGV[4...]: capacity, refill (tokens), period (µs). State: hash {tokens, updated}.
    static let tokenBucket = RedisScript(
        """
        local key = KEYS[1]
        local mode = ARGV[1]
        local cost = tonumber(ARGV[2])
        local capacity = tonumber(ARGV[4])
        local rate = tonumber(ARGV[5]) / tonumber(ARGV[6])
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local tokens = capacity
        local changed = false
        local state = redis.call('HMGET', key, 'tokens', 'updated')
        if state[1] then
            tokens = tonumber(state[1])
            local updated = tonumber(state[2])
            -- The clock went back: no refill for the jump, and the level is restamped on the new timeline.
            if now < updated then
                updated = now
                changed = true
            end
            tokens = math.min(capacity, tokens + (now - updated) * rate)
        end
        local allowed = 0
        local retry = -1
        if mode == 'refund' then
            tokens = math.min(capacity, tokens + cost)
            changed = true
        elseif cost > capacity then
            retry = -1
        elseif tokens >= cost then
            tokens = tokens - cost
            allowed = 1
            changed = changed or cost > 0
        else
            retry = math.ceil((cost - tokens) / rate)
        end
        local reset = math.ceil((capacity - tokens) / rate)
        if changed then
            if reset <= 0 then
                redis.call('DEL', key)
            else
                local level, stamp = string.format('%.17g', tokens), string.format('%.17g', now)
                redis.call('HSET', key, 'tokens', level, 'updated', stamp)
                redis.call('PEXPIRE', key, math.ceil(reset / 1000) + 1)
            end
        end
        return {allowed, math.floor(tokens + 1e-9), reset, retry}
        """
    )

    /// ARGV[4...]: limit, period (µs), burst. State: string TAT (µs).
    static let gcra = RedisScript(
        """
        local key = KEYS[1]
        local mode = ARGV[1]
        local cost = tonumber(ARGV[2])
        local interval = tonumber(ARGV[5]) / tonumber(ARGV[4])
        local burst = tonumber(ARGV[6])
        local tolerance = burst * interval
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local tat = tonumber(redis.call('GET', key))
        local backlog = 0
        local changed = false
        if tat and tat > now then backlog = tat - now end
        -- A stored backlog never exceeds the tolerance (plus the slack below): more means the clock went back.
        -- The key counts as drained, no more, and the TAT is moved to the new timeline.
        if backlog > tolerance + 1 then
            backlog = tolerance
            changed = true
        end
        local allowed = 0
        local retry = -1
        if mode == 'refund' then
            backlog = math.max(0, backlog - cost * interval)
            changed = true
        elseif cost <= burst then
            local next = backlog + cost * interval
            -- Half a microsecond of slack: TAT is stored as an absolute double (0.25 us resolution at today's epoch).
            if next <= tolerance + 0.5 then
                backlog = next
                allowed = 1
                changed = changed or cost > 0
            else
                retry = math.ceil(next - tolerance)
            end
        end
        if changed then
            if backlog <= 0 then
                redis.call('DEL', key)
            else
                redis.call('SET', key, string.format('%.17g', now + backlog), 'PX', math.ceil(backlog / 1000) + 1)
            end
        end
        return {allowed, math.floor((tolerance - backlog) / interval + 1e-9), math.ceil(backlog), retry}
        """
    )

    /// ARGV[4...]: limit, window (µs). State: hash {start, current, previous}.
    static let slidingWindow = RedisScript(
        """
        local key = KEYS[1]
        local mode = ARGV[1]
        local cost = tonumber(ARGV[2])
        local age = tonumber(ARGV[3])
        local limit = tonumber(ARGV[4])
        local window = tonumber(ARGV[5])
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local start = now
        local current = 0
        local previous = 0
        local changed = false
        local state = redis.call('HMGET', key, 'start', 'current', 'previous')
        if state[1] then
            start = tonumber(state[1])
            current = tonumber(state[2])
            previous = tonumber(state[3])
            -- The clock went back: the current window restarts now, with its counts (never fewer than before).
            if now < start then
                start = now
                changed = true
            end
            local windows = math.floor((now - start) / window)
            if windows >= 1 then
                if windows == 1 then previous = current else previous = 0 end
                current = 0
                start = start + windows * window
            end
        end
        local elapsed = now - start
        local allowed = 0
        local retry = -1
        if mode == 'refund' then
            local consumed = now - age
            if consumed >= start then
                current = math.max(0, current - cost)
            elseif consumed >= start - window then
                previous = math.max(0, previous - cost)
            end
            changed = true
        elseif cost <= limit then
            if previous * (window - elapsed) / window + current + cost <= limit + 1e-9 then
                current = current + cost
                allowed = 1
                changed = changed or cost > 0
            elseif current + cost <= limit then
                retry = math.ceil((window - elapsed) - (limit - current - cost) * window / previous)
            else
                retry = math.ceil((window - elapsed) + math.max(0, window - (limit - cost) * window / current))
            end
        end
        local reset = 0
        if current > 0 then reset = (window - elapsed) + window elseif previous > 0 then reset = window - elapsed end
        if changed then
            if reset <= 0 then
                redis.call('DEL', key)
            else
                local stamp = string.format('%.17g', start)
                redis.call('HSET', key, 'start', stamp, 'current', current, 'previous', previous)
                redis.call('PEXPIRE', key, math.ceil(reset / 1000) + 1)
            end
        end
        local used = previous * (window - elapsed) / window + current
        return {allowed, math.max(0, math.floor(limit - used + 1e-9)), math.ceil(reset), retry}
        """
    )
}
