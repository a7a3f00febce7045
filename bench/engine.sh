#!/usr/bin/env bash
# Engine overhead benchmark: N local hosts x 5 steps of `true`, one batch,
# `golive run --parallel P` for each P in PARALLEL, against a baseline that
# spawns the same N*5 `sh -c true` processes with the same parallelism.
#
#   bench/engine.sh                       # N=500, PARALLEL="100 500"
#   N=200 PARALLEL="50" bench/engine.sh
#   STORE_DIR=/dev/shm bench/engine.sh    # put the state stores elsewhere (here: no fsync cost)
#   PERF=1 bench/engine.sh                # also profile each golive run with perf (slows it down)
#   KEEP=1 bench/engine.sh                # keep the temp dir (plan, logs, stores, perf data)
#
# See bench/README.md for what the columns mean.
set -euo pipefail

N=${N:-500}
STEPS=5
PARALLEL=${PARALLEL:-"100 500"}
PERF=${PERF:-0}
KEEP=${KEEP:-0}
STORE_DIR=${STORE_DIR:-}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golive-bench.XXXXXX")
storedir=${STORE_DIR:-$tmp}
mkdir -p "$storedir"
storedir=$(cd "$storedir" && pwd)
cleanup() {
	for P in $PARALLEL; do rm -f "$storedir/golive-bench-p$P.db"{,-wal,-shm}; done
	rm -rf "$tmp"
}
if [ "$KEEP" = 1 ]; then
	echo "bench: keeping $tmp (stores in $storedir)" >&2
else
	trap cleanup EXIT
fi

log() { echo "bench: $*" >&2; }

# --- tools ---------------------------------------------------------------
timebin=/usr/bin/time
if [ ! -x "$timebin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	log "installing time (for peak RSS)"
	apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; } || true
fi
[ -x "$timebin" ] || { log "no /usr/bin/time: peak RSS will be unknown"; timebin=; }
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
	log "PERF=1 but perf is not installed; not profiling"
	PERF=0
fi

# --- build -----------------------------------------------------------------
log "building golive"
(cd "$repo" && go build -o "$tmp/golive" ./cmd/golive)
golive=$tmp/golive

# --- plan ----------------------------------------------------------------
plan=$tmp/plan/golive.yaml
mkdir -p "$tmp/plan/hosts"
{
	echo "golive: 1"
	echo "name: bench-engine"
	echo "description: engine overhead benchmark ($N local hosts x $STEPS steps of true)"
	echo "targets:"
	echo "  defaults: {transport: local}"
	echo "  hosts:"
	for ((i = 1; i <= N; i++)); do
		printf '    h%05d: {dir: hosts/h%05d}\n' "$i" "$i"
	done
	echo "stages:"
	echo "  - name: all"
	echo "    on: all"
	echo "    strategy: {max_failed: 0}"
	echo "    steps:"
	for ((s = 1; s <= STEPS; s++)); do
		echo "      - {name: s$s, run: \"true\", backout: \"true\"}"
	done
} >"$plan"
for ((i = 1; i <= N; i++)); do printf '%s/plan/hosts/h%05d\n' "$tmp" "$i"; done | xargs mkdir -p
"$golive" validate "$plan" >"$tmp/validate.log" 2>&1 || { cat "$tmp/validate.log" >&2; exit 1; }

# --- measurement helpers -------------------------------------------------
now() { echo "$EPOCHREALTIME"; }             # seconds, microsecond resolution
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# measure NAME CMD...: runs CMD (stdout+stderr to $tmp/NAME.log), sets
# WALL (s) and RSS (KB, or "?"). Fails the script when CMD fails.
measure() {
	local name=$1 t0 t1 rc=0
	shift
	t0=$(now)
	if [ -n "$timebin" ]; then
		"$timebin" -f '%e %M %U %S' -o "$tmp/$name.time" "$@" >"$tmp/$name.log" 2>&1 || rc=$?
	else
		"$@" >"$tmp/$name.log" 2>&1 || rc=$?
	fi
	t1=$(now)
	if [ "$rc" != 0 ]; then
		log "$name failed (exit $rc); last lines of its output:"
		tail -n 20 "$tmp/$name.log" >&2
		exit 1
	fi
	WALL=$(sub "$t1" "$t0")
	RSS="?" CPU="?"
	if [ -n "$timebin" ]; then
		RSS=$(tail -n 1 "$tmp/$name.time" | awk '{ print $2 }')
		CPU=$(tail -n 1 "$tmp/$name.time" | awk '{ printf "%.2f", $3 + $4 }')
	fi
}

count_events() { # STORE -> number of journal events
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$1" 'SELECT count(*) FROM events'
	else
		"$golive" logs last -f "$plan" --store "$1" 2>/dev/null | wc -l | tr -d ' '
	fi
}

# --- runs ----------------------------------------------------------------
total=$((N * STEPS))
rows=() detail=()

# breakdown STORE: from the journal's own timestamps, averaged over host-steps:
# the step's process as golive timed it (spawn to reaped), the rest of the time
# between the step's "started" and "finished" events (the "started" commit,
# including the wait for the store's write lock, plus exec set-up), and the gap
# from a step's "finished" to the host's next "started" (the "finished" commit
# and its wait). Then the span from the first step started to the last finished.
breakdown() {
	if ! command -v sqlite3 >/dev/null; then
		echo "? | ? | ? | ?"
		return
	fi
	sqlite3 -separator ' | ' "$1" "
WITH s AS (
  SELECT host, step,
    max(CASE WHEN action = 'started' THEN time_us END) AS st,
    max(CASE WHEN action = 'finished' THEN time_us END) AS fi,
    max(CASE WHEN action = 'finished' THEN duration_ns END) / 1000.0 AS du
  FROM events WHERE kind = 'step' GROUP BY host, step),
g AS (SELECT st - lag(fi) OVER (PARTITION BY host ORDER BY step) AS gap FROM s)
SELECT printf('%.2f', avg(du) / 1000),
  printf('%.2f', avg(fi - st - du) / 1000),
  (SELECT printf('%.2f', avg(gap) / 1000) FROM g WHERE gap IS NOT NULL),
  printf('%.2f', (max(fi) - min(st)) / 1e6)
FROM s"
}
for P in $PARALLEL; do
	log "baseline: $total x sh -c true, xargs -P $P"
	measure "baseline-p$P" sh -c "seq $total | xargs -P $P -n 1 sh -c true"
	base=$WALL

	store=$storedir/golive-bench-p$P.db
	rm -f "$store" "$store-wal" "$store-shm"
	cmd=("$golive" run "$plan" -r 1 --parallel "$P" --store "$store")
	if [ "$PERF" = 1 ]; then
		cmd=(perf record -q -F 1999 -g -o "$tmp/perf-p$P.data" -- "${cmd[@]}")
	fi
	log "golive run --parallel $P ($N hosts x $STEPS steps)"
	measure "golive-p$P" "${cmd[@]}"
	wall=$WALL rss=$RSS cpu=$CPU
	events=$(count_events "$store")
	overhead=$(awk -v w="$wall" -v b="$base" -v n="$total" 'BEGIN { printf "%.3f", (w - b) * 1000 / n }')
	eps=$(awk -v e="$events" -v w="$wall" 'BEGIN { printf "%.0f", e / w }')
	rssmb="?"
	[ "$rss" = "?" ] || rssmb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
	rows+=("| $P | $wall | $base | $overhead | $events | $eps | $rssmb |")
	detail+=("| $P | $cpu | $(breakdown "$store") |")
	if [ "$PERF" = 1 ]; then
		# Inclusive time of golive's own functions (the perf session also
		# follows the sh children; --comm keeps golive's threads only).
		perf report -i "$tmp/perf-p$P.data" --stdio --children --comm golive --sort symbol -g none 2>/dev/null |
			grep -E '^ +[0-9]' | grep -v '\[k\]' |
			grep -E 'golive-dev/golive|database/sql|modernc.org/sqlite\.|_sqlite3Prepare|_sqlite3OsSync|_sqlite3VdbeExec|os/exec|os\.StartProcess' |
			awk '{ $NF = ""; $(NF-1) = ""; print }' | head -n 40 >"$tmp/perf-p$P.txt" || true
		log "perf: golive CPU, inclusive, --parallel $P (full data: perf report -i $tmp/perf-p$P.data, with KEEP=1):"
		cat "$tmp/perf-p$P.txt" >&2
	fi
done

# --- report --------------------------------------------------------------
echo
echo "golive engine overhead: $N local hosts x $STEPS steps (\`true\`), one batch; $(nproc) CPUs, $(uname -sr)"
echo
echo "| P | wall s | baseline s | overhead ms/host-step | journal events | events/s | peak RSS MB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "aims (issue 12, at 5,000 hosts x 5 steps): overhead < 1 ms per host-step, peak RSS < 300 MB"
echo
echo "where the time goes (journal timestamps; ms are averages per host-step):"
echo
echo "| P | golive CPU s (user+sys, incl. children) | step process ms | rest of step ms | gap to next step ms | steps span s |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${detail[@]}"
echo
echo "stores: $storedir$([ "$PERF" = 1 ] && echo '; PERF=1: wall times include perf overhead')"
