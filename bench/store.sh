#!/usr/bin/env bash
# Journal append benchmark: appends/s and p99 latency of one append on the
# SQLite store and on PostgreSQL, with 1, 50 and 500 concurrent appenders
# (hosts of a batch). PostgreSQL is a throwaway server (internal/pgtest:
# initdb in a temp dir, fsync=off, so commits cost no disk flush); without
# one the PostgreSQL rows are skipped.
#
#   bench/store.sh              # 3000 appends per case
#   N=20000 bench/store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-3000}
go test ./internal/store/postgres/ -run '^$' -bench 'Append' -benchtime "${N}x" |
	awk '/^Benchmark/ { sub(/^BenchmarkAppend\//, "", $1); sub(/-[0-9]+$/, "", $1);
		printf "%-24s %10s appends/s   p99 %8s ms\n", $1, $5, $7 }'
