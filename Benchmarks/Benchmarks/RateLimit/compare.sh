#!/usr/bin/env bash
# Spillway's Redis rate-limit store beside redis-benchmark running EVALSHA of the same GCRA script, against one
# redis-server, in one session.
#
# Starts redis-server on a free loopback port, loads the store's GCRA script (taken from the Swift source, so the
# two run byte-identical Lua), runs redis-benchmark with EVALSHA over one connection (pipeline 64) and over four
# connections (pipeline 16), then the Redis benchmarks of the RateLimitBenchmarks target (release,
# package-benchmark), then redis-benchmark again: the machine is shared, so the two peer runs bracket ours.
#   Benchmarks/Benchmarks/RateLimit/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile '' >/dev/null &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
for _ in $(seq 1 250); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.02; done

script=$(python3 - <<'PY'
import re
source = open("../Sources/SpillwayRedis/RateLimit/RedisRateLimitScripts.swift").read()
body = re.search(r'static let gcra = RedisScript\(\n        """\n(.*?)\n        """', source, re.S).group(1)
print("\n".join(line[8:] for line in body.split("\n")), end="")
PY
)
sha=$(redis-cli -p "$port" SCRIPT LOAD "$script")
# ARGV as the store sends them for GCRA(limit: 1_000_000_000, period: 1 s): mode, cost, age, limit, period µs, burst.
args=(EVALSHA "$sha" 1 "spillway:ratelimit:bench:__rand_int__" acquire 1 0 1000000000 1000000.0 1000000000)

peer() {
    echo "# redis-benchmark -p $port -n 300000 -r 100000 -c 1 -P 64 ${args[*]}"
    redis-benchmark -p "$port" -n 300000 -r 100000 -c 1 -P 64 -q "${args[@]}"
    echo "# redis-benchmark -p $port -n 300000 -r 100000 -c 4 -P 16 ${args[*]}"
    redis-benchmark -p "$port" -n 300000 -r 100000 -c 4 -P 16 -q "${args[@]}"
}

peer
SPILLWAY_REDIS_PORT="$port" swift package --allow-writing-to-package-directory benchmark --target RateLimitBenchmarks \
    --filter "Redis.*" --metric throughput --metric wallClock --metric mallocCountTotal --no-progress
peer
