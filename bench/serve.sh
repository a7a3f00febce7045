#!/usr/bin/env bash
# golive serve under load: one run of N local hosts (one step each, all in
# one batch) started over the API and watched by C SSE clients, while W
# workers GET /api/v1/runs/{id}. Prints the server's peak RSS, the event
# delivery latency (receipt by a client minus the event's journal time)
# p50/p99/max over every event of every client, and GET /api/v1/runs/{id}
# answered per second during the run.
#
#   bench/serve.sh                  # N=500 C=200 W=4
#   N=100 C=50 bench/serve.sh
#   KEEP=1 bench/serve.sh           # keep the temp dir (plan, log, store)
#   GOLIVE=/tmp/golive-old bench/serve.sh   # this binary instead of building one
#   SERVEBENCH=/tmp/servebench bench/serve.sh  # this client instead of building it
#   CLIENT_SHARES=128 bench/serve.sh  # variant: the clients in their own CPU
#       cgroup of that weight (root; cgroup v1 cpu.shares, default 1024, or v2
#       cpu.weight, default 100, given as SHARES*100/1024): when the cores are
#       busy they yield to the server and its steps, and use what is idle
set -euo pipefail

N=${N:-500}
C=${C:-200}
W=${W:-4}
KEEP=${KEEP:-0}
CLIENT_SHARES=${CLIENT_SHARES:-}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golive-serve-bench.XXXXXX")
pid=
cg=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [ -n "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
	[ "$KEEP" = 1 ] && echo "bench: keeping $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${GOLIVE:-}" ]; then cp "$GOLIVE" "$tmp/golive"; else (cd "$repo" && go build -o "$tmp/golive" ./cmd/golive); fi
if [ -n "${SERVEBENCH:-}" ]; then cp "$SERVEBENCH" "$tmp/servebench"; else (cd "$repo" && go build -o "$tmp/servebench" ./bench/servebench); fi

mkdir -p "$tmp/plan/hosts"
{
	echo "golive: 1"
	echo "name: bench"
	echo "targets:"
	echo "  defaults: {transport: local}"
	echo "  hosts:"
	for i in $(seq 1 "$N"); do
		mkdir -p "$tmp/plan/hosts/h$i"
		echo "    h$i: {dir: $tmp/plan/hosts/h$i}"
	done
	echo "stages:"
	echo "  - name: all"
	echo "    on: all"
	echo "    gate: {approvals: 1}" # held until every client watches: servebench approves
	echo "    steps:"
	echo "      - {name: switch, run: 'echo \$GOLIVE_RELEASE > current', backout: 'rm -f current'}"
	echo "    health:"
	echo "      - run: test -f current"
} >"$tmp/plan/golive.yaml"

token=$("$tmp/golive" token new bench --role admin 2>/dev/null)
secret=$(printf '%s\n' "$token" | sed -n 's/^token: //p')
printf 'tokens:\n%s\n' "$(printf '%s\n' "$token" | sed -n '/^  - name:/,$p')" >"$tmp/tokens.yaml"

port=$((20000 + RANDOM % 20000))
"$tmp/golive" serve --addr "127.0.0.1:$port" --tokens "$tmp/tokens.yaml" "$tmp/plan" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 1 300); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

client=()
if [ -n "$CLIENT_SHARES" ]; then
	if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.shares ]; then
		cg=/sys/fs/cgroup/cpu/golive-serve-bench-$$
		mkdir "$cg"
		echo "$CLIENT_SHARES" >"$cg/cpu.shares"
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		cg=/sys/fs/cgroup/golive-serve-bench-$$
		mkdir "$cg"
		echo $((CLIENT_SHARES * 100 / 1024 > 0 ? CLIENT_SHARES * 100 / 1024 : 1)) >"$cg/cpu.weight"
	else
		echo "bench: CLIENT_SHARES needs a cgroup cpu controller" >&2
		exit 1
	fi
	# The client moves itself into the cgroup, then becomes servebench.
	client=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg")
fi
line=$("${client[@]}" "$tmp/servebench" -url "http://127.0.0.1:$port" -token "$secret" -plan bench -clients "$C" -workers "$W")
rss=$(awk '/VmHWM/ {print $2 " " $3}' "/proc/$pid/status")
# CPU seconds of the server itself and of its children (the step
# processes it reaped): fields 14+15 and 16+17 of /proc/PID/stat.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "server_cpu=%.2fs steps_cpu=%.2fs", ($12+$13)/hz, ($14+$15)/hz}' "/proc/$pid/stat")
echo "N=$N C=$C W=$W${CLIENT_SHARES:+ client_shares=$CLIENT_SHARES} server_peak_rss=$rss $cpu load1=$(cut -d' ' -f1 /proc/loadavg) $line"
