#!/usr/bin/env bash
# A fleet of local hosts (network namespaces with their own sshd, /srv and
# empty /root; see internal/fleet) for humans and benchmarks. Needs root.
#
#   eval "$(bench/fleet.sh up 10)"   # start 10 hosts in the background, print
#                                    # FLEET_HOSTS, FLEET_KEY, FLEET_KNOWN_HOSTS, ...
#   $FLEET_SSH ${FLEET_HOSTS%% *} hostname
#   bench/fleet.sh env               # print the variables again
#   bench/fleet.sh down              # tear it down (kills only its own sshds)
#   FG=1 bench/fleet.sh up 3         # in the foreground until Ctrl-C
#   bench/fleet.sh cleanup [AGE]     # tear down fleets of killed runs (default 10m)
#
# State (pid, env, log, built binary) is in $FLEET_STATE (default
# ${TMPDIR:-/tmp}/golive-fleet-sh): one background fleet per state dir.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${FLEET_STATE:-${TMPDIR:-/tmp}/golive-fleet-sh}
bin=$state/fleetctl
log() { echo "fleet.sh: $*" >&2; }

build() {
	mkdir -p "$state"
	(cd "$repo" && go build -o "$bin" ./internal/fleet/cmd/fleetctl)
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# running prints the background fleetctl's pid if it is alive.
running() {
	[ -f "$state/pid" ] || return 1
	local pid
	pid=$(cat "$state/pid")
	[ -r "/proc/$pid/status" ] || return 1
	# A zombie is gone.
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" && return 1
	# Still our fleetctl (not a reused pid)?
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "^$bin up" || return 1
	echo "$pid"
}

cmd=${1:-}
case "$cmd" in
up)
	n=${2:-3}
	shift $(($# < 2 ? $# : 2))
	build
	if [ "${FG:-0}" = 1 ]; then
		exec "$bin" up -n "$n" "$@"
	fi
	if pid=$(running); then
		log "a fleet is already up (fleetctl pid $pid): bench/fleet.sh down first"
		exit 1
	fi
	rm -f "$state/env" "$state/pid"
	nohup "$bin" up -n "$n" -env "$state/env" "$@" >"$state/log" 2>&1 </dev/null &
	echo $! >"$state/pid"
	while [ ! -s "$state/env" ]; do
		# alive, not running: right after the fork the child may not have
		# exec'd fleetctl yet, so its command line is still this script's.
		if ! alive "$(cat "$state/pid")"; then
			log "fleetctl failed:"
			cat "$state/log" >&2
			exit 1
		fi
		sleep 0.1
	done
	grep '^fleetctl:' "$state/log" >&2 || true
	cat "$state/env"
	;;
env)
	[ -s "$state/env" ] || { log "no fleet up"; exit 1; }
	cat "$state/env"
	;;
down)
	if ! pid=$(running); then
		log "no fleet up"
		exit 0
	fi
	kill -TERM "$pid"
	for _ in $(seq 600); do
		running >/dev/null || break
		sleep 0.1
	done
	if running >/dev/null; then
		log "fleetctl $pid did not exit; see $state/log"
		exit 1
	fi
	grep '^fleetctl:' "$state/log" >&2 || true
	rm -f "$state/pid" "$state/env"
	;;
cleanup)
	build
	"$bin" cleanup -older "${2:-10m}"
	;;
*)
	sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
