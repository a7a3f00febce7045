#!/usr/bin/env bash
# Real-SSH rollout benchmark: golive against a hand-written parallel ssh
# script and Ansible, on the same fleet of N local sshd hosts (bench/fleet.sh),
# for each N in NS, deploying a fresh release to clean hosts and then an
# upgrade over it. Every tool does the same workload per host, in 4 batches of
# 25%: upload a ~5 MB artifact, verify its sha256 on the host, unpack it,
# switch the `current` symlink atomically, restart the demo server
# (examples/quickstart/app) on ADDR:8080, and poll http://ADDR:8080/health
# until it answers `ok VERSION`.
#
#   bench/ssh.sh                      # NS="10 50"
#   NS="10" bench/ssh.sh              # one fleet size
#   TOOLS="golive ssh" bench/ssh.sh   # leave a tool out (golive, floor, ssh, ansible)
#   GOLIVE_OLD=/tmp/golive-main TOOLS="golive-old golive floor" bench/ssh.sh
#                                     # also a second golive binary (say, built from main)
#   OLD_PREPARE=1 GOLIVE_OLD=... TOOLS="golive-old golive" bench/ssh.sh  # golive-old with prepare: true too
#   ROUNDS=3 bench/ssh.sh             # every tool 3 times, interleaved; the table shows medians
#   PREPARE=0 bench/ssh.sh            # golive's upload and unpack without prepare: true
#   TOOLS="golive-noprep golive" ...  # golive-noprep: this golive, its plan without prepare: true
#   HOST_CPU=0.2 bench/ssh.sh         # each host limited to 0.2 CPU (cgroup v1 cpu or v2 cpu.max)
#   ARTIFACT_MB=20 bench/ssh.sh       # bigger artifact (MiB; padded with random bytes)
#   STORE_DIR=/dev/shm bench/ssh.sh   # golive's store on tmpfs: no fsync cost
#   HEALTH_INTERVAL=1s bench/ssh.sh   # golive's health check interval (default 100ms)
#   GOLIVE=/path/to/golive bench/ssh.sh  # use this golive binary instead of building one
#   KEEP=1 bench/ssh.sh               # keep the temp dir: plan, playbook, logs, stores
#   FLEET=/tmp/f NS=50 bench/ssh.sh   # use the fleet up in state dir /tmp/f, leave it up
#                                     # (FLEET_STATE=/tmp/f bench/fleet.sh up 50)
#   TOOLS=golive-fail FAIL_HOST=h060 bench/ssh.sh
#                                     # golive whose restart fails on one host: how fast it
#                                     # stops and whether every touched host is backed out
#
# Needs root (the fleet), Go, curl, ssh, and installs ansible and time with
# apt-get when they are missing. See bench/README.md for the columns.
set -euo pipefail

NS=${NS:-"10 50"}
TOOLS=${TOOLS:-"golive floor ssh ansible"}
ROUNDS=${ROUNDS:-1}                 # rounds of all the tools, interleaved; medians are reported
PREPARE=${PREPARE:-1}               # golive (not golive-old): upload and unpack are prepare: true
OLD_PREPARE=${OLD_PREPARE:-0}       # golive-old too (a build that knows prepare: true)
HOST_CPU=${HOST_CPU:-}              # CPUs each host may use (its sshd and all it starts); "" = no limit
ARTIFACT_MB=${ARTIFACT_MB:-5}
KEEP=${KEEP:-0}
STORE_DIR=${STORE_DIR:-}            # where golive's state store goes (default: the temp dir)
HEALTH_INTERVAL=${HEALTH_INTERVAL:-100ms} # golive's health check interval
FAIL_HOST=${FAIL_HOST:-}            # golive-fail: the host whose restart step fails (default: the first of batch 2)
BATCH_PCT=25
HEALTH_TIMEOUT=60 # seconds a host may take to answer /health

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golive-bench-ssh.XXXXXX")
# A state dir of our own, so this fleet does not clash with one brought up by
# hand (bench/fleet.sh keeps one background fleet per state dir). With
# FLEET=DIR, the fleet already up in state dir DIR (bench/fleet.sh up N with
# FLEET_STATE=DIR) is used, for every N in NS it has, and left up.
FLEET_REUSE=${FLEET:-}
export FLEET_STATE=${FLEET_REUSE:-$tmp/fleet}

log() { echo "bench: $(date +%T) $*" >&2; }

fleet_down() {
	[ -z "$FLEET_REUSE" ] || return 0
	"$repo/bench/fleet.sh" down >/dev/null 2>&1 || log "fleet.sh down failed; see $FLEET_STATE/log"
}
cleanup() {
	local rc=$?
	stop_masters 2>/dev/null || true
	fleet_down
	hostcpu_remove
	host_cgroups_remove
	if [ -n "$STORE_DIR" ]; then
		for N in $NS; do rm -f "$STORE_DIR/golive-bench-ssh-$$-"*"n$N.db"{,-wal,-shm}; done
	fi
	if [ "$KEEP" = 1 ]; then
		log "keeping $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------
[ "$(id -u)" = 0 ] || { log "needs root (network namespaces for the fleet)"; exit 1; }
apt_install() { # PACKAGE...
	command -v apt-get >/dev/null || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}
[ -x /usr/bin/time ] || { log "installing time"; apt_install time || true; }
timebin=/usr/bin/time
[ -x "$timebin" ] || { log "no /usr/bin/time: peak RSS will be ?"; timebin=; }
case " $TOOLS " in *" ansible "*)
	command -v ansible-playbook >/dev/null || { log "installing ansible (apt-get)"; apt_install ansible || { log "cannot install ansible"; exit 1; }; }
esac
for t in curl ssh sha256sum tar; do
	command -v "$t" >/dev/null || { log "missing $t"; exit 1; }
done

# --- build: golive, the demo, two releases ----------------------------------
log "building golive and the demo app"
if [ -n "${GOLIVE:-}" ]; then
	golive=$GOLIVE # a prebuilt (say, patched) golive
else
	(cd "$repo" && go build -o "$tmp/golive" ./cmd/golive)
	golive=$tmp/golive
fi
golive_old=${GOLIVE_OLD:-}
case " $TOOLS " in *" golive-old "*)
	[ -n "$golive_old" ] || { log "TOOLS has golive-old: set GOLIVE_OLD to its binary"; exit 1; }
esac
mkdir -p "$tmp/dist" "$tmp/build"
(cd "$repo/examples/quickstart" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/build/demo" ./app)
VERSIONS=(1.0.0 2.0.0)
declare -A SUM
for v in "${VERSIONS[@]}"; do
	d=$tmp/build/$v
	mkdir -p "$d"
	cp "$tmp/build/demo" "$d/demo"
	printf '%s\n' "$v" >"$d/VERSION"
	# Pad the tarball with incompressible bytes up to ARTIFACT_MB, so the
	# upload matters (the demo alone packs to ~2.5 MB).
	tar -czf "$d.tar.gz" -C "$d" demo VERSION
	pad=$((ARTIFACT_MB * 1048576 - $(stat -c %s "$d.tar.gz")))
	head -c "$((pad > 0 ? pad : 0))" /dev/urandom >"$d/pad"
	tar -czf "$tmp/dist/demo-$v.tar.gz" -C "$d" demo VERSION pad
	(cd "$tmp/dist" && sha256sum "demo-$v.tar.gz") >>"$tmp/dist/SHA256SUMS"
	SUM[$v]=$(awk -v n="demo-$v.tar.gz" '$2 == n { print $1 }' "$tmp/dist/SHA256SUMS")
done
artifact_bytes=$(stat -c %s "$tmp/dist/demo-1.0.0.tar.gz")
log "artifacts: $(ls "$tmp/dist" | grep -c tar.gz) x $artifact_bytes bytes"

# --- the per-host scripts, shared by all three tools --------------------------
# Each runs in /srv/app on the host. @V@ is the version, @ADDR@ the host's
# address, @SUM@ the artifact's sha256.
APP=/srv/app
UNPACK='set -eu
v="@V@"
mkdir -p "releases/$v"
tar -xzf "releases/$v.tar.gz" -C "releases/$v"
test -x "releases/$v/demo"'
SWITCH='set -eu
v="@V@"
test -x "releases/$v/demo"
ln -sfn "releases/$v" current.tmp
mv -T current.tmp current'
# Stops the server app.pid names (TERM, KILL after 5 s) and starts current/demo
# detached (setsid + nohup, output to app.log, so the step ends at once).
RESTART='set -eu
running() { kill -0 "$1" 2>/dev/null && ! grep -qs "^[0-9]* ([^)]*) Z" "/proc/$1/stat"; }
if [ -f app.pid ]; then
  pid=$(cat app.pid)
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true # it may have exited meanwhile
    i=0
    while running "$pid" && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f app.pid
fi
nohup setsid ./current/demo -addr "@ADDR@:8080" >>app.log 2>&1 </dev/null &
echo $! >app.pid'
VERIFY='set -eu
echo "@SUM@  releases/@V@.tar.gz" | sha256sum -c --quiet'

# sub TEMPLATE V ADDR: the template with @V@, @ADDR@ and @SUM@ replaced.
sub() {
	local s=$1
	s=${s//@V@/$2}
	s=${s//@ADDR@/$3}
	s=${s//@SUM@/${SUM[$2]:-@SUM@}}
	printf '%s' "$s"
}
indent() { sed "s/^/$1/"; }

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

# --- per-host CPU limits (HOST_CPU) -----------------------------------------
# Each host gets a cgroup of its own with a CPU quota; its sshd is moved into
# it (the sessions and everything they start inherit it), and the floor's
# shells join it before they enter the host's namespaces.
CG_ROOT=""
HOST_CG=()
host_cgroups_setup() {
	HOST_CG=()
	[ -n "$HOST_CPU" ] || return 0
	local quota period=100000 i pid cg
	quota=$(awk -v c="$HOST_CPU" 'BEGIN { printf "%d", c * 100000 }')
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		CG_ROOT=/sys/fs/cgroup/golive-bench-$$
		mkdir -p "$CG_ROOT"
		echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
		echo +cpu >"$CG_ROOT/cgroup.subtree_control"
	elif [ -d /sys/fs/cgroup/cpu ]; then
		CG_ROOT=/sys/fs/cgroup/cpu/golive-bench-$$
		mkdir -p "$CG_ROOT"
	else
		log "HOST_CPU: no cgroup cpu controller"; exit 1
	fi
	i=0
	for pid in "${SSHD_PIDS[@]}"; do
		cg=$CG_ROOT/h$i
		mkdir -p "$cg"
		if [ -f "$cg/cpu.max" ]; then echo "$quota $period" >"$cg/cpu.max"; else
			echo "$period" >"$cg/cpu.cfs_period_us"; echo "$quota" >"$cg/cpu.cfs_quota_us"; fi
		echo "$pid" >"$cg/cgroup.procs"
		HOST_CG+=("$cg")
		i=$((i + 1))
	done
	log "each host limited to $HOST_CPU CPU ($CG_ROOT)"
}
host_cgroups_remove() {
	[ -n "$CG_ROOT" ] && [ -d "$CG_ROOT" ] || return 0
	local cg p
	for cg in "$CG_ROOT"/h*; do
		[ -d "$cg" ] || continue
		# Whatever still runs there goes back to the root group first.
		while read -r p; do echo "$p" >"$(dirname "$CG_ROOT")/cgroup.procs" 2>/dev/null || true; done <"$cg/cgroup.procs"
		rmdir "$cg" 2>/dev/null || true
	done
	rmdir "$CG_ROOT" 2>/dev/null || true
	CG_ROOT=""
}

# --- host-side CPU (every run) ----------------------------------------------
# The fleet's sshds go into one accounting cgroup of their own (cgroup v2
# cpu.stat, or v1 cpuacct), so everything their sessions start is counted
# (sshd's logins and channels, shells, sftp-server, the steps' programs,
# the demo servers), and so do the floor's shells (they join it before they
# enter a host). HOSTCPU is the group's CPU seconds during a tool's run.
# With HOST_CPU on cgroup v2, the hosts' own groups are under CG_ROOT and
# CG_ROOT's cpu.stat counts them all.
HOSTCPU_CG="" HOSTCPU_FILE=""
hostcpu_setup() {
	HOSTCPU_CG="" HOSTCPU_FILE=""
	local pid
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		if [ -n "$CG_ROOT" ]; then HOSTCPU_FILE=$CG_ROOT/cpu.stat; return 0; fi
		HOSTCPU_CG=/sys/fs/cgroup/golive-bench-$$-hosts
		HOSTCPU_FILE=$HOSTCPU_CG/cpu.stat
	elif [ -d /sys/fs/cgroup/cpuacct ]; then
		if [ -n "$CG_ROOT" ] && [ "$(realpath /sys/fs/cgroup/cpuacct)" = "$(realpath /sys/fs/cgroup/cpu)" ]; then
			HOSTCPU_FILE=$CG_ROOT/cpuacct.usage # cpu and cpuacct mounted together: the hosts' groups count
			return 0
		fi
		HOSTCPU_CG=/sys/fs/cgroup/cpuacct/golive-bench-$$-hosts
		HOSTCPU_FILE=$HOSTCPU_CG/cpuacct.usage
	elif [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then
		HOSTCPU_CG=/sys/fs/cgroup/unified/golive-bench-$$-hosts
		HOSTCPU_FILE=$HOSTCPU_CG/cpu.stat
	else
		log "no cgroup to count the hosts' CPU in: host CPU will be ?"
		return 0
	fi
	mkdir -p "$HOSTCPU_CG" || { HOSTCPU_CG="" HOSTCPU_FILE=""; return 0; }
	for pid in "${SSHD_PIDS[@]}"; do echo "$pid" >"$HOSTCPU_CG/cgroup.procs"; done
}
hostcpu_remove() {
	[ -n "$HOSTCPU_CG" ] && [ -d "$HOSTCPU_CG" ] || return 0
	local p
	while read -r p; do echo "$p" >"$(dirname "$HOSTCPU_CG")/cgroup.procs" 2>/dev/null || true; done <"$HOSTCPU_CG/cgroup.procs"
	rmdir "$HOSTCPU_CG" 2>/dev/null || true
	HOSTCPU_CG="" HOSTCPU_FILE=""
}
# hostcpu_now: the hosts' CPU so far, in microseconds ("" when not counted).
hostcpu_now() {
	case $HOSTCPU_FILE in
	"") ;;
	*/cpuacct.usage) echo $(($(cat "$HOSTCPU_FILE") / 1000)) ;;
	*) awk '$1 == "usage_usec" { print $2 }' "$HOSTCPU_FILE" ;;
	esac
}
# usecs A B: (A - B) microseconds in seconds, or ? when either is missing.
usecs() {
	if [ -z "$1" ] || [ -z "$2" ]; then echo "?"; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a - b) / 1e6 }'
}

# --- fleet helpers --------------------------------------------------------
SSH=() # the fleet's ssh command, as an array
fssh() { "${SSH[@]}" "$@"; }

# reset_hosts: stop the demo server (by its pid file only) and remove /srv/app
# on every host, in parallel; then check that nothing answers on :8080.
reset_hosts() {
	# From the controller, through each host's /srv (FLEET_SRV_DIRS): the
	# hosts share the controller's pid namespace. 1,000 ssh logins at once
	# time out in their banner exchange on a loaded 2-core machine.
	local d pid
	for d in $FLEET_SRV_DIRS; do
		[ -f "$d/app/app.pid" ] || { rm -rf "$d/app"; continue; }
		pid=$(cat "$d/app/app.pid")
		case "$pid" in '' | *[!0-9]*) ;; *) kill -TERM "$pid" 2>/dev/null || true ;; esac
	done
	for d in $FLEET_SRV_DIRS; do
		if [ -f "$d/app/app.pid" ]; then
			pid=$(cat "$d/app/app.pid")
			case "$pid" in '' | *[!0-9]*) ;; *)
				i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
				kill -KILL "$pid" 2>/dev/null || true ;;
			esac
		fi
		rm -rf "$d/app"
	done
	for a in $FLEET_HOSTS; do
		if curl -s --max-time 1 "http://$a:8080/health" >/dev/null 2>&1; then
			log "reset: $a:8080 still answers"
			exit 1
		fi
	done
}

# check_hosts V: every host answers /health with `ok V`.
check_hosts() {
	local a bad=0
	for a in $FLEET_HOSTS; do
		if ! curl -fsS --max-time 2 "http://$a:8080/health" 2>/dev/null | grep -qx "ok $1"; then
			log "check: $a does not answer ok $1"
			bad=1
		fi
	done
	return "$bad"
}

# check_none: no host answers on :8080 (every one backed out, or never
# touched).
check_none() {
	local a bad=0
	for a in $FLEET_HOSTS; do
		if curl -s --max-time 1 "http://$a:8080/health" >/dev/null 2>&1; then
			log "check: $a still answers"
			bad=1
		fi
	done
	return "$bad"
}

# batches: prints the hosts, one batch per line, ceil(N * 25%) hosts each
# (golive's rounding; see README).
batch_size() { echo $(((FLEET_N * BATCH_PCT + 99) / 100)); }
batches() {
	local size i=0 line=""
	size=$(batch_size)
	for a in $FLEET_HOSTS; do
		line+="$a "
		i=$((i + 1))
		if [ "$i" = "$size" ]; then
			echo "${line% }"
			line="" i=0
		fi
	done
	[ -z "$line" ] || echo "${line% }"
}

# --- golive ---------------------------------------------------------------
# golive_store N TOOL: the store of TOOL's runs at N hosts (fresh, then upgrade).
golive_store() {
	if [ -n "$STORE_DIR" ]; then
		echo "$STORE_DIR/golive-bench-ssh-$$-$2-n$1.db"
	else
		echo "$tmp/$2-n$1/state.db"
	fi
}

# Backouts of the golive-fail plan, per step (fresh releases only: they
# remove what the step made).
BACKOUT_upload='rm -f "releases/@V@.tar.gz"'
BACKOUT_unpack='rm -rf "releases/@V@"'
BACKOUT_switch='rm -f current'
BACKOUT_restart='if [ -f app.pid ]; then kill -TERM "$(cat app.pid)" 2>/dev/null || true; rm -f app.pid; fi'

write_plan() { # DIR PREPARE(0|1) GOLIVE [FAIL(0|1)]
	local d=$1 i=0 a prep="" fail=${4:-0}
	[ "$2" = 1 ] && prep="prepare: true, "
	mkdir -p "$d/dist"
	cp "$tmp/dist/"* "$d/dist/"
	{
		echo "golive: 1"
		echo "name: bench-ssh"
		echo "description: bench/ssh.sh rollout of the demo app to $FLEET_N fleet hosts"
		echo "release:"
		echo "  artifacts:"
		echo "    app: {path: 'dist/demo-\${{ release.version }}.tar.gz', sha256_file: dist/SHA256SUMS}"
		echo "targets:"
		echo "  defaults: {transport: ssh, user: $FLEET_USER, identity_file: $FLEET_KEY, known_hosts: $FLEET_KNOWN_HOSTS, dir: $APP}"
		echo "  hosts:"
		for a in $FLEET_HOSTS; do
			printf '    h%03d: {address: %s}\n' "$i" "$a"
			i=$((i + 1))
		done
		echo "controls: {integrity: required}"
		echo "stages:"
		echo "  - name: web"
		echo "    on: all"
		echo "    strategy: {batch: $BATCH_PCT%, max_failed: 0}"
		echo "    steps:"
		echo "      - name: upload # streamed and hashed on the way, sha256sum-checked on the host, renamed into place"
		[ -z "$prep" ] || echo "        prepare: true"
		echo "        upload: {artifact: app, to: 'releases/\${{ release.version }}.tar.gz'}"
		[ "$fail" = 0 ] || echo "        backout: '$(sub "$BACKOUT_upload" '${{ release.version }}' '')'"
		for s in unpack switch restart; do
			local body
			case $s in
			unpack) body=$UNPACK ;; switch) body=$SWITCH ;; restart) body=$RESTART ;;
			esac
			if [ "$fail" = 1 ] && [ "$s" = restart ]; then
				body="if [ \"\$GOLIVE_HOST\" = $FAIL_HOST ]; then echo 'bench: failing on purpose' >&2; exit 3; fi
$body"
			fi
			echo "      - name: $s"
			[ "$s" != unpack ] || [ -z "$prep" ] || echo "        prepare: true"
			echo "        run: |"
			sub "$body" '${{ release.version }}' '${{ host.address }}' | indent '          '
			echo
			if [ "$fail" = 1 ]; then
				local bo="BACKOUT_$s"
				echo "        backout: |"
				sub "${!bo}" '${{ release.version }}' '' | indent '          '
				echo
			fi
		done
		echo "    health:"
		echo "      - name: serves the new version"
		echo "        http: {url: 'http://\${{ host.address }}:8080/health', status: 200, contains: 'ok \${{ release.version }}'}"
		echo "        timeout: ${HEALTH_TIMEOUT}s"
		echo "        interval: $HEALTH_INTERVAL"
	} >"$d/golive.yaml"
	"$3" validate "$d/golive.yaml" >"$d/validate.log" 2>&1 || { cat "$d/validate.log" >&2; exit 1; }
}

run_golive() { # N SCENARIO VERSION [TOOL]
	local tool=${4:-golive} bin=$golive prep=$PREPARE fail=0
	case $tool in
	golive-old) bin=$golive_old prep=$OLD_PREPARE ;;
	golive-noprep) prep=0 ;; # this golive without prepare: true
	golive-fail) fail=1 ;;
	esac
	local d=$tmp/$tool-n$1 rc=0 t0 t1 store
	[ -f "$d/golive.yaml" ] || write_plan "$d" "$prep" "$bin" "$fail"
	local timecmd=()
	[ -z "$timebin" ] || timecmd=("$timebin" -f '%e %M %U %S' -o "$d/$2.time")
	t0=$(now)
	store=$(golive_store "$1" "$tool")
	"${timecmd[@]}" "$bin" run "$d/golive.yaml" -r "$3" --parallel "$1" --store "$store" >"$d/$2.log" 2>&1 || rc=$?
	t1=$(now)
	if [ "$fail" = 1 ]; then
		[ "$rc" = 1 ] || { log "golive-fail $2: exit $rc, want 1 (the run failed):"; tail -n 30 "$d/$2.log" >&2; exit 1; }
	else
		[ "$rc" = 0 ] || { log "golive $2 failed (exit $rc):"; tail -n 30 "$d/$2.log" >&2; exit 1; }
	fi
	WALL=$(secs "$t1" "$t0")
	RSS="?" CPU="?"
	if [ -n "$timebin" ]; then
		RSS=$(tail -n 1 "$d/$2.time" | awk '{ printf "%.1f", $2 / 1024 }')
		CPU=$(tail -n 1 "$d/$2.time" | awk '{ printf "%.2f", $3 + $4 }')
	fi
}

# golive_breakdown N SCENARIO: from the last run's journal, averaged over
# hosts (ms): connecting (from the host's start to its first step's start,
# plus the upload step's span minus the upload's own duration: depending on
# the version, golive dials before the first step or inside it), the upload
# (SFTP + fsync + sha256sum on the host + rename), the spans of the other
# steps (started to finished event), the health check, the host from start to
# end; and each batch's span (s).
golive_breakdown() { # N SCENARIO TOOL
	local db
	db=$(golive_store "$1" "$3")
	command -v sqlite3 >/dev/null || { echo "$2 | ? | ? | ? | ? | ? | ? | ? | ?"; return; }
	sqlite3 -separator ' | ' "$db" "
WITH e AS (SELECT * FROM events WHERE run_id = (SELECT id FROM runs ORDER BY created_us DESC LIMIT 1)),
s AS (SELECT host, step,
        max(CASE WHEN action = 'started' THEN time_us END) AS st,
        max(CASE WHEN action = 'finished' THEN time_us END) AS fi,
        max(CASE WHEN action = 'finished' THEN duration_ns END) AS du
      FROM e WHERE kind = 'step' GROUP BY host, step),
h AS (SELECT host, min(time_us) AS hs, max(time_us) AS he FROM e WHERE kind = 'host' GROUP BY host),
b AS (SELECT batch, (max(time_us) - min(time_us)) / 1e6 AS sec FROM e WHERE kind = 'batch' GROUP BY batch)
SELECT '$3 $2',
  printf('%.0f', (SELECT avg((s.st - h.hs) / 1e3 + (s.fi - s.st) / 1e3 - s.du / 1e6) FROM s JOIN h USING (host) WHERE s.step = 'upload')),
  printf('%.0f', (SELECT avg(du / 1e6) FROM s WHERE step = 'upload')),
  printf('%.0f', (SELECT avg((fi - st) / 1e3) FROM s WHERE step = 'unpack')),
  printf('%.0f', (SELECT avg((fi - st) / 1e3) FROM s WHERE step = 'switch')),
  printf('%.0f', (SELECT avg((fi - st) / 1e3) FROM s WHERE step = 'restart')),
  printf('%.0f / %.0f', (SELECT avg(duration_ns / 1e6) FROM e WHERE kind = 'check' AND action = 'passed'),
                        (SELECT max(duration_ns / 1e6) FROM e WHERE kind = 'check' AND action = 'passed')),
  printf('%.0f', (SELECT avg((he - hs) / 1e3) FROM h)),
  (SELECT group_concat(printf('%.2f', sec), ' + ') FROM (SELECT sec FROM b ORDER BY batch))"
}

# fail_breakdown N: from the last golive-fail run's journal: when the
# failing host's restart failed, how long until all forward work had
# stopped (the last event that ends a step or check, or says a remote
# process group was stopped, before the first backout event; see
# bench/README.md, "golive-fail") and
# until the backout was done, how many hosts were touched (a step
# started) and how many of them had every started step backed out.
fail_breakdown() { # N
	local db
	db=$(golive_store "$1" golive-fail)
	command -v sqlite3 >/dev/null || { echo "? | ? | ? | ? | ?"; return; }
	sqlite3 -separator ' | ' "$db" "
WITH e AS (SELECT * FROM events WHERE run_id = (SELECT id FROM runs ORDER BY created_us DESC LIMIT 1)),
f AS (SELECT min(time_us) AS t FROM e WHERE kind = 'step' AND action = 'failed'),
b AS (SELECT min(time_us) AS t FROM e WHERE action IN ('backout_started', 'backed_out', 'backout_failed', 'not_backed_out')),
fw AS (SELECT max(time_us) AS t FROM e WHERE kind IN ('step', 'check') AND time_us < (SELECT t FROM b)
       AND (action IN ('finished', 'failed', 'terminated', 'passed', 'timed_out') OR (action = 'remote_stopped' AND message LIKE 'stopped %'))),
st AS (SELECT DISTINCT host, step FROM e WHERE kind = 'step' AND action = 'started'),
bo AS (SELECT DISTINCT host, step FROM e WHERE kind = 'step' AND action = 'backed_out'),
th AS (SELECT DISTINCT host FROM st),
ok AS (SELECT host FROM th WHERE NOT EXISTS (SELECT 1 FROM st WHERE st.host = th.host AND NOT EXISTS (SELECT 1 FROM bo WHERE bo.host = st.host AND bo.step = st.step)))
SELECT (SELECT host FROM e WHERE kind = 'step' AND action = 'failed' ORDER BY time_us LIMIT 1),
  printf('%.0f', ((SELECT t FROM fw) - (SELECT t FROM f)) / 1e3),
  printf('%.2f', ((SELECT max(time_us) FROM e) - (SELECT t FROM f)) / 1e6),
  (SELECT count(*) FROM th),
  (SELECT count(*) FROM ok)"
}

# host_script ADDR VERSION: the shell both the ssh script and the floor run
# on a host (the artifact comes on its stdin).
host_script() {
	local a=$1 v=$2
	printf '%s\n' "set -eu; mkdir -p $APP/releases && cd $APP
cat >releases/$v.tar.gz.tmp
mv -f releases/$v.tar.gz.tmp releases/$v.tar.gz
$(sub "$VERIFY" "$v" "$a")
$(sub "$UNPACK" "$v" "$a")
$(sub "$SWITCH" "$v" "$a")
$(sub "$RESTART" "$v" "$a")"
}
# wait_healthy ADDR VERSION: poll /health every 0.1 s until it answers the version.
wait_healthy() {
	local a=$1 v=$2 t
	t=$(($(date +%s) + HEALTH_TIMEOUT))
	until curl -fsS --max-time 2 "http://$a:8080/health" 2>/dev/null | grep -qx "ok $v"; do
		[ "$(date +%s)" -lt "$t" ] || { echo "$a: health timed out" >&2; return 1; }
		sleep 0.1
	done
}

# --- the hand-written ssh script ----------------------------------------------
# Per host, one ssh connection: the artifact goes on stdin (cat), then
# sha256sum -c, unpack, switch and restart in the same session; then a curl
# loop from the controller until /health answers. Batches are waves of `&` +
# `wait`.
ssh_host() { # ADDR VERSION
	local a=$1 v=$2
	fssh "$a" "$(host_script "$a" "$v")" <"$tmp/dist/demo-$v.tar.gz" || return 1
	wait_healthy "$a" "$v"
}
ssh_deploy() { # VERSION
	local line a pids p fail=0
	while read -r line; do
		pids=()
		for a in $line; do
			ssh_host "$a" "$1" &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p" || fail=1; done
		[ "$fail" = 0 ] || return 1
	done < <(batches)
}
run_ssh() { # N SCENARIO VERSION
	local d=$tmp/ssh-n$1 rc=0 t0 t1
	mkdir -p "$d"
	t0=$(now)
	ssh_deploy "$3" >"$d/$2.log" 2>&1 || rc=$?
	t1=$(now)
	[ "$rc" = 0 ] || { log "ssh script $2 failed:"; tail -n 30 "$d/$2.log" >&2; exit 1; }
	WALL=$(secs "$t1" "$t0")
}

# --- the floor: no transport at all ---------------------------------------------
# The same commands as the ssh script, run inside each host's namespaces
# (nsenter into its sshd's mount, network and UTS namespaces, as sshd's
# children would be) with the artifact copied by `cat` from the
# controller's file: what a rollout costs with no transport.
floor_host() { # INDEX ADDR VERSION
	local pid=${SSHD_PIDS[$1]} a=$2 v=$3 cg=${HOST_CG[$1]:-}
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C \
		sh -c 'for g in "$1" "$2"; do if [ -n "$g" ]; then echo $$ >"$g/cgroup.procs"; fi; done; shift 2; exec "$@"' sh "$cg" "$HOSTCPU_CG" \
		nsenter -t "$pid" -m -n -u -- sh -c "$(host_script "$a" "$v")" <"$tmp/dist/demo-$v.tar.gz" || return 1
	wait_healthy "$a" "$v"
}
floor_deploy() { # VERSION
	local line a pids p fail=0 i=0
	while read -r line; do
		pids=()
		for a in $line; do
			floor_host "$i" "$a" "$1" &
			pids+=($!)
			i=$((i + 1))
		done
		for p in "${pids[@]}"; do wait "$p" || fail=1; done
		[ "$fail" = 0 ] || return 1
	done < <(batches)
}
run_floor() { # N SCENARIO VERSION
	local d=$tmp/floor-n$1 rc=0 t0 t1
	mkdir -p "$d"
	t0=$(now)
	floor_deploy "$3" >"$d/$2.log" 2>&1 || rc=$?
	t1=$(now)
	[ "$rc" = 0 ] || { log "floor $2 failed:"; tail -n 30 "$d/$2.log" >&2; exit 1; }
	WALL=$(secs "$t1" "$t0")
}

# --- ansible ------------------------------------------------------------------
write_ansible() { # DIR
	local d=$1 i=0 a v
	mkdir -p "$d"
	{
		echo "[defaults]"
		echo "inventory = $d/inventory.ini"
		echo "forks = $FLEET_N"
		echo "host_key_checking = True"
		echo "gathering = explicit"
		echo "retry_files_enabled = False"
		echo "interpreter_python = /usr/bin/python3"
		echo "deprecation_warnings = False"
		echo "local_tmp = $d/local-tmp"
		echo "[ssh_connection]"
		echo "pipelining = True"
		# Ansible's default ssh_args plus -C; compression only costs CPU on
		# an incompressible artifact, so it is left out.
		echo "ssh_args = -o ControlMaster=auto -o ControlPersist=60s"
	} >"$d/ansible.cfg"
	{
		echo "[web]"
		for a in $FLEET_HOSTS; do
			printf 'h%03d ansible_host=%s\n' "$i" "$a"
			i=$((i + 1))
		done
		echo "[web:vars]"
		echo "ansible_user=$FLEET_USER"
		echo "ansible_ssh_private_key_file=$FLEET_KEY"
		echo "ansible_ssh_common_args='-F /dev/null -o IdentitiesOnly=yes -o IdentityAgent=none -o UserKnownHostsFile=$FLEET_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s'"
	} >"$d/inventory.ini"
	{
		echo "- name: deploy the demo app"
		echo "  hosts: web"
		echo "  gather_facts: false"
		# The same batches as golive's 25% (rounded up); Ansible's own
		# serial: 25% rounds down and would make 5 batches.
		echo "  serial: $(batch_size)"
		echo "  any_errors_fatal: true"
		echo "  tasks:"
		echo "    - name: releases directory"
		echo "      file: {path: $APP/releases, state: directory}"
		echo "    - name: upload"
		echo "      copy: {src: '$tmp/dist/demo-{{ v }}.tar.gz', dest: '$APP/releases/{{ v }}.tar.gz', mode: '0644'}"
		local name body
		for name in verify unpack switch restart; do
			case $name in
			verify) body=$VERIFY ;; unpack) body=$UNPACK ;; switch) body=$SWITCH ;; restart) body=$RESTART ;;
			esac
			echo "    - name: $name"
			echo "      args: {chdir: $APP}"
			echo "      shell: |"
			# @SUM@ stays for a version that is a template: Ansible looks it up.
			sub "$body" '{{ v }}' '{{ ansible_host }}' | sed 's/@SUM@/{{ sha[v] }}/' | indent '        '
			echo
		done
		echo "    - name: health"
		echo "      uri: {url: 'http://{{ ansible_host }}:8080/health', return_content: true}"
		echo "      register: health"
		echo "      until: health.status == 200 and ('ok ' ~ v) in (health.content | default(''))"
		echo "      retries: $HEALTH_TIMEOUT"
		echo "      delay: 1 # an integer number of seconds"
	} >"$d/deploy.yml"
	{
		echo "sha:"
		for v in "${VERSIONS[@]}"; do echo "  '$v': ${SUM[$v]}"; done
	} >"$d/sums.yml"
}

ANSIBLE_CP=""
stop_masters() { # stop the ControlPersist masters of the last ansible run
	local s
	[ -n "$ANSIBLE_CP" ] && [ -d "$ANSIBLE_CP" ] || return 0
	for s in "$ANSIBLE_CP"/*; do
		[ -S "$s" ] && ssh -o ControlPath="$s" -O exit dummy >/dev/null 2>&1 || true
	done
}
run_ansible() { # N SCENARIO VERSION
	local d=$tmp/ansible-n$1 rc=0 t0 t1
	[ -f "$d/deploy.yml" ] || write_ansible "$d"
	# A control path directory per run, whose masters are stopped after it:
	# each measurement starts without connections, as golive's does.
	ANSIBLE_CP=$d/cp-$2
	mkdir -p "$ANSIBLE_CP"
	t0=$(now)
	ANSIBLE_CONFIG=$d/ansible.cfg ANSIBLE_SSH_CONTROL_PATH_DIR=$ANSIBLE_CP \
		ansible-playbook "$d/deploy.yml" -e "v=$3" -e "@$d/sums.yml" >"$d/$2.log" 2>&1 || rc=$?
	t1=$(now)
	stop_masters
	[ "$rc" = 0 ] || { log "ansible $2 failed (exit $rc):"; tail -n 40 "$d/$2.log" >&2; exit 1; }
	WALL=$(secs "$t1" "$t0")
}

# --- runs -----------------------------------------------------------------
# W[N,SCENARIO,TOOL] is the list of wall times (one per round); R and C the
# peak RSS and CPU of golive's runs, H the hosts' CPU during each run (lists
# too).
declare -A W R C H L
breakdowns=()
fails=()
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_start=$(loadavg)
loads=()
for N in $NS; do
	log "N=$N: bringing up the fleet"
	if [ -n "$FLEET_REUSE" ]; then
		env_out=$("$repo/bench/fleet.sh" env)
	else
		env_out=$("$repo/bench/fleet.sh" up "$N")
	fi
	eval "$env_out"
	read -r -a SSH <<<"$FLEET_SSH"
	read -r -a SSHD_PIDS <<<"$FLEET_SSHD_PIDS"
	[ "$FLEET_N" = "$N" ] || { log "FLEET=$FLEET_REUSE has $FLEET_N hosts, not $N"; exit 1; }
	host_cgroups_setup
	hostcpu_setup
	[ -n "$FAIL_HOST" ] || FAIL_HOST=$(printf 'h%03d' "$(batch_size)")
	for round in $(seq 1 "$ROUNDS"); do
		for tool in $TOOLS; do
			log "N=$N round $round $tool: resetting hosts"
			reset_hosts
			for i in 0 1; do
				[ "$tool" != golive-fail ] || [ "$i" = 0 ] || continue # fresh only
				scen=$([ "$i" = 0 ] && echo fresh || echo upgrade)
				v=${VERSIONS[$i]}
				loads+=("$(loadavg | cut -d' ' -f1)")
				L[$N,$scen,$tool]+="${loads[-1]} "
				log "N=$N round $round $tool $scen ($v), load $(loadavg)"
				hc0=$(hostcpu_now)
				case $tool in
				golive | golive-old | golive-noprep | golive-fail) run_golive "$N" "$scen" "$v" "$tool" ;;
				floor) run_floor "$N" "$scen" "$v" ;;
				ssh) run_ssh "$N" "$scen" "$v" ;;
				ansible) run_ansible "$N" "$scen" "$v" ;;
				*) log "unknown tool $tool"; exit 2 ;;
				esac
				HOSTCPU=$(usecs "$(hostcpu_now)" "$hc0")
				if [ "$tool" = golive-fail ]; then
					check_none || { log "N=$N $tool: a host still serves after the backout"; exit 1; }
					fails+=("| $N | $round | $(fail_breakdown "$N") |")
					reset_hosts
				else
					check_hosts "$v" || { log "N=$N $tool $scen: not every host serves $v"; exit 1; }
				fi
				W[$N,$scen,$tool]+="$WALL " H[$N,$scen,$tool]+="$HOSTCPU "
				log "N=$N round $round $tool $scen: ${WALL}s, hosts' CPU ${HOSTCPU}s"
				case $tool in golive | golive-old | golive-noprep)
					R[$N,$scen,$tool]+="$RSS " C[$N,$scen,$tool]+="$CPU "
					breakdowns+=("| $N | $round | $(golive_breakdown "$N" "$scen" "$tool") |")
				esac
			done
		done
	done
	reset_hosts
	log "N=$N: tearing down the fleet"
	hostcpu_remove
	fleet_down
	host_cgroups_remove
done
load_end=$(loadavg)

# --- report ---------------------------------------------------------------
median() { # VALUES...: their median, or empty when there are none
	[ "$#" -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cell() { # KEY ARRAY: the median of the list, or ?
	local -n arr=$2
	local m
	# shellcheck disable=SC2086
	m=$(median ${arr[$1]:-})
	echo "${m:-?}"
}
ratio() { # A B: A / B, or ? when either is missing
	if [ -z "${1:-}" ] || [ -z "${2:-}" ] || [ "$1" = "?" ] || [ "$2" = "?" ]; then echo "?"; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'
}
echo
echo "golive vs the floor vs ssh script vs Ansible: $(nproc) CPUs, $(uname -sr), artifact $artifact_bytes bytes, batches of $BATCH_PCT% (rounded up), $ROUNDS round(s) interleaved (medians), golive prepare: $([ "$PREPARE" = 1 ] && echo true || echo false), CPU per host: ${HOST_CPU:-unlimited}"
echo "load average (1/5/15 min): $load_start at the start, $load_end at the end; 1-min load before each run: min $(printf '%s\n' "${loads[@]}" | sort -g | head -n 1), median $(median "${loads[@]}"), max $(printf '%s\n' "${loads[@]}" | sort -g | tail -n 1)"
echo
echo "| N | scenario | golive s | golive-noprep s | golive-old s | floor s | ssh-script s | ansible s | golive/floor | golive/ssh | golive/golive-old | ansible/golive | golive peak RSS MB | golive CPU s |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for N in $NS; do
	for scen in fresh upgrade; do
		g=$(cell "$N,$scen,golive" W) o=$(cell "$N,$scen,golive-old" W) f=$(cell "$N,$scen,floor" W)
		s=$(cell "$N,$scen,ssh" W) a=$(cell "$N,$scen,ansible" W)
		echo "| $N | $scen | $g | $(cell "$N,$scen,golive-noprep" W) | $o | $f | $s | $a | $(ratio "$g" "$f") | $(ratio "$g" "$s") | $(ratio "$g" "$o") | $(ratio "$a" "$g") | $(cell "$N,$scen,golive" R) | $(cell "$N,$scen,golive" C) |"
	done
done
echo
echo "CPU seconds per run (medians): the hosts' (everything the fleet's sshds start, and the floor's shells: a cgroup of their own) and golive's own (user + sys); with load, the 1-minute load average before each of the tool's runs:"
echo
echo "| N | scenario | tool | wall s | hosts' CPU s | golive's CPU s | hosts' + golive's CPU s | load |"
echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |"
for N in $NS; do
	for scen in fresh upgrade; do
		for tool in $TOOLS; do
			[ -n "${W[$N,$scen,$tool]:-}" ] || continue
			h=$(cell "$N,$scen,$tool" H) c=$(cell "$N,$scen,$tool" C)
			sum=$(awk -v h="$h" -v c="$c" 'BEGIN { if (h == "?") print "?"; else if (c == "?") print h; else printf "%.2f", h + c }')
			echo "| $N | $scen | $tool | $(cell "$N,$scen,$tool" W) | $h | $c | $sum | ${L[$N,$scen,$tool]:-} |"
		done
	done
done
echo
echo "every run (s), in round order:"
echo
for N in $NS; do
	for scen in fresh upgrade; do
		for tool in $TOOLS; do
			echo "- N=$N $scen $tool: ${W[$N,$scen,$tool]:-}(hosts' CPU ${H[$N,$scen,$tool]:-}s)"
		done
	done
done
if [ "${#breakdowns[@]}" -gt 0 ]; then
	echo
	echo "golive, from its journal (ms are averages per host; check: average / slowest):"
	echo
	echo "| N | round | tool scenario | connect ms | upload ms | unpack ms | switch ms | restart ms | health check ms | host total ms | batch spans s |"
	echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	printf '%s\n' "${breakdowns[@]}"
fi
if [ "${#fails[@]}" -gt 0 ]; then
	echo
	echo "golive-fail (restart fails on $FAIL_HOST; fresh release), from its journal:"
	echo
	echo "| N | round | failed host | failure to all work stopped ms | failure to backout done s | hosts touched | hosts backed out |"
	echo "| ---: | ---: | --- | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${fails[@]}"
fi
echo
echo "aims: golive <= 1.5x the floor and <= 0.7x the ssh script at N=50; >= 20x faster than Ansible"
