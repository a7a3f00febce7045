#!/usr/bin/env bash
# Journal append benchmark: appends/s and p99 latency of one append on the
# SQLite store and on PostgreSQL, with 1, 50 and 500 concurrent appenders
# (hosts of a batch). PostgreSQL is a throwaway server (internal/pgtest:
# initdb in a temp dir, fsync=off, so commits cost no disk flush); without
# one the PostgreSQL rows are skipped.
#
# Then the takeover time distribution: two `golive serve` on one
# PostgreSQL, KILLS times a run started on one of them and that server
# killed with SIGKILL mid-step; the time from the kill to the other's
# takeover (journaled) is measured (internal/hatest, TestTakeoverTimes).
# HEARTBEAT and TTL are the servers' --heartbeat and --lease-ttl.
#
#   bench/store.sh              # 3000 appends per case; 20 kills, 5s/15s
#   N=20000 bench/store.sh
#   KILLS=20 HEARTBEAT=1s TTL=3s bench/store.sh
#   APPENDS=0 bench/store.sh    # the takeover times only (KILLS=0: appends only)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000}
KILLS=${KILLS:-20}
HEARTBEAT=${HEARTBEAT:-5s}
TTL=${TTL:-15s}
if [ "${APPENDS:-1}" != 0 ]; then
go test ./internal/store/postgres/ -run '^$' -bench 'Append' -benchtime "${N}x" |
	awk '/^Benchmark/ { sub(/^BenchmarkAppend\//, "", $1); sub(/-[0-9]+$/, "", $1);
		printf "%-24s %10s appends/s   p99 %8s ms\n", $1, $5, $7 }'
fi
if [ "$KILLS" -gt 0 ]; then
	GOLIVE_BENCH_KILLS=$KILLS GOLIVE_BENCH_HEARTBEAT=$HEARTBEAT GOLIVE_BENCH_TTL=$TTL \
		go test ./internal/hatest/ -run '^TestTakeoverTimes$' -count=1 -v -timeout 60m |
		grep -E '^takeover|SKIP|no PostgreSQL' || true
fi
