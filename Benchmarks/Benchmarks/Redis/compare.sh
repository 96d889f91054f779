#!/usr/bin/env bash
# Spillway's RESP client beside redis-benchmark, against one redis-server, in one session.
#
# Starts redis-server on a free loopback port, then for each shape runs redis-benchmark, the matching
# RedisBenchmarks benchmark (release, package-benchmark), and redis-benchmark again: the machine is shared, so the
# two peer runs bracket ours and the ratio is taken against their mean.
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
    echo "# redis-benchmark -p PORT -t $1 $2 -q"
    # shellcheck disable=SC2086
    redis-benchmark -p "$port" -t "$1" $2 -q | tr '\r' '\n' | grep "requests per second"
}

ours() {
    echo "# swift package benchmark --target RedisBenchmarks --filter '$1'"
    SPILLWAY_REDIS_PORT="$port" swift package --allow-writing-to-package-directory benchmark \
        --target RedisBenchmarks --filter "$1" --metric throughput --no-progress 2>&1 |
        grep -E "Throughput|^[A-Za-z].*(connection|pool|decode)" || true
}

swift package --allow-writing-to-package-directory benchmark list --target RedisBenchmarks >/dev/null 2>&1 || true
for command in get set; do
    upper=$(echo "$command" | tr a-z A-Z)
    if [ "$command" = get ]; then
        peer get "-n 300000 -c 1 -P 1"
        ours "GET, 1 connection, 1 in flight"
        peer get "-n 300000 -c 1 -P 1"
    fi
    peer "$command" "-n 1000000 -c 1 -P 16"
    ours "$upper, 1 connection, pipeline 16"
    peer "$command" "-n 1000000 -c 1 -P 16"
    peer "$command" "-n 1000000 -c 4 -P 16"
    ours "$upper, pool of 4, 4 tasks × pipeline 16"
    peer "$command" "-n 1000000 -c 4 -P 16"
done
ours "decode.*"
