#!/usr/bin/env bash
# Spillway's RESP client beside redis-benchmark, against one redis-server, in one session.
#
# Starts redis-server on a free loopback port, runs redis-benchmark, then the RedisBenchmarks target (release,
# package-benchmark), then redis-benchmark again (the machine is shared: the two redis-benchmark runs bracket ours).
#   Benchmarks/Benchmarks/Redis/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --logfile '' >/dev/null &
server=$!
trap 'kill -9 $server 2>/dev/null || true' EXIT
for _ in $(seq 1 250); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.02; done
redis-cli -p "$port" set key:__rand_int__ xxx >/dev/null

peer() {
    echo "# redis-benchmark -p $port -t get,set -n 300000 -c 1 -P 1 -q"
    redis-benchmark -p "$port" -t get,set -n 300000 -c 1 -P 1 -q
    echo "# redis-benchmark -p $port -t get,set -n 1000000 -c 1 -P 16 -q"
    redis-benchmark -p "$port" -t get,set -n 1000000 -c 1 -P 16 -q
    echo "# redis-benchmark -p $port -t get,set -n 1000000 -c 4 -P 16 -q"
    redis-benchmark -p "$port" -t get,set -n 1000000 -c 4 -P 16 -q
}

peer
SPILLWAY_REDIS_PORT="$port" swift package --allow-writing-to-package-directory benchmark --target RedisBenchmarks \
    --metric throughput --metric wallClock --metric mallocCountTotal --no-progress
peer
