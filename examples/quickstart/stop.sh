#!/bin/sh
# stop.sh: stop the quickstart's demo servers (one per host directory).
# Safe to run at any time: hosts that are not running are skipped.
set -eu
cd "$(dirname "$0")"

# running PID: the process exists and is not a zombie (exited, not yet reaped).
running() { kill -0 "$1" 2>/dev/null && ! grep -qs '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }

for h in hosts/h1 hosts/h2 hosts/h3; do
	[ -f "$h/app.pid" ] || continue
	pid=$(cat "$h/app.pid")
	if running "$pid"; then
		kill -TERM "$pid"
		i=0
		while running "$pid" && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if running "$pid"; then kill -KILL "$pid"; fi
		echo "stopped ${h#hosts/} (pid $pid)"
	fi
	rm -f "$h/app.pid"
done
