#!/usr/bin/env bash
# Local test bed for lxdstar: real LXD and Incus daemons on loopback only.
#
#   tests/testbed/testbed.sh up [main|all|fault|incus]     start + initialise (idempotent)
#   tests/testbed/testbed.sh down [main|all|fault|incus]   stop the daemons this script started
#   tests/testbed/testbed.sh status                        which daemons answer
#   tests/testbed/testbed.sh watch                         for make test: report (and restart) a daemon that stops answering
#
# Layout (see shared/TESTBED.md; every tool and test on the machine relies on it):
#
#   name    LXD_DIR         HTTPS address     debug (pprof)     role
#   main    /var/lib/lxd    127.0.0.1:8443    127.0.0.1:8450    everything single-server
#   second  /var/lib/lxd2   127.0.0.1:8444    127.0.0.1:8451    copy / move / image copy target
#   node1   /var/lib/lxd3   127.0.0.3:8443    127.0.0.3:8450    cluster bootstrap member
#   node2   /var/lib/lxd4   127.0.0.4:8443    127.0.0.4:8450    cluster joining member
#   fault   /var/lib/lxd5   127.0.0.1:8445    127.0.0.1:8452    fault injection: tests kill -9 and restart it
#   incus   /var/lib/incus  127.0.0.1:8446    127.0.0.1:8453    Incus 6.0: the suite runs here too
#
# The debug address (core.debug_address) serves the daemon's Go pprof
# handlers: when a daemon stops answering its API, `watch` saves its
# goroutines from there, which is how a hang inside LXD or Incus gets
# diagnosed.
#
# Trust password (LXD only; Incus has none, it trusts by token):
# $LXDSTAR_TRUST_PASSWORD or "s3cret". Storage pool "default" (dir), default
# profile with a root disk only (never a NIC), image alias "busybox" on every
# server (the cluster's members share one).
#
# LXD 5.0 comes from Debian 12; Incus 6.0 from bookworm-backports, on the
# mirror the machine's own Debian sources name (no other host is contacted).
#
# The fault daemon exists so that the fault-injection tests can kill a real
# daemon in the middle of an operation without disturbing any other test;
# they restart it with `up fault`. Nothing else uses it.
#
# PID 1 is not systemd here, so the daemons are started by hand, fully
# detached, with their pids recorded so that `down` stops only what we started.
# LXD_DIR contents are kept across `down` so a later `up` takes seconds.
set -euo pipefail
# With pipefail, a pipe into a reader that quits early (head, grep -q) fails
# when the writer gets SIGPIPE: test strings with [[ ]] instead.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TRUST_PASSWORD=${LXDSTAR_TRUST_PASSWORD:-s3cret}
RUN_DIR=/run/lxdstar-testbed            # <name>.pid
LOG_DIR=/var/log/lxdstar-testbed        # <name>.log (LXD's log), <name>.out (stdout/stderr)
CACHE_DIR=/var/cache/lxdstar-testbed    # busybox-<hash>.tar.gz, built once
IMAGE_ALIAS=busybox
OFFLINE_PROXY=http://127.0.0.1:9 # discard port, nothing listens: see start_daemon
PACKAGES=(lxd lxd-client busybox-static iptables python3-pylxd
	tmux bsdutils curl time) # the last four: REPL, pty and benchmark tests

INCUS_PACKAGES=(incus-base incus-client) # from bookworm-backports; "incus" would pull QEMU
INCUSD=/usr/libexec/incus/incusd          # not on PATH
BACKPORTS_SOURCES=/etc/apt/sources.list.d/lxdstar-bookworm-backports.sources

ALL_NAMES=(main second node1 node2 fault incus)
# LXDDIR is the daemon's state directory: LXD_DIR for LXD, INCUS_DIR for Incus.
declare -A LXDDIR=([main]=/var/lib/lxd [second]=/var/lib/lxd2 [node1]=/var/lib/lxd3 [node2]=/var/lib/lxd4
	[fault]=/var/lib/lxd5 [incus]=/var/lib/incus)
declare -A ADDR=([main]=127.0.0.1:8443 [second]=127.0.0.1:8444 [node1]=127.0.0.3:8443 [node2]=127.0.0.4:8443
	[fault]=127.0.0.1:8445 [incus]=127.0.0.1:8446)
declare -A DEBUG_ADDR=([main]=127.0.0.1:8450 [second]=127.0.0.1:8451 [node1]=127.0.0.3:8450 [node2]=127.0.0.4:8450
	[fault]=127.0.0.1:8452 [incus]=127.0.0.1:8453)

T0=$(date +%s.%N)

say() { printf 'testbed: %s\n' "$*"; }
die() { printf 'testbed: ERROR: %s\n' "$*" >&2; exit 1; }
# Seconds since $1 (default: script start), one decimal.
since() { awk -v a="${1:-$T0}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

is_incus() { [[ $1 == incus ]]; }
dir_var() { if is_incus "$1"; then echo INCUS_DIR; else echo LXD_DIR; fi; }

# The client (lxc / incus) against one daemon of the layout, through the
# unix socket in its state directory.
lxcd() {
	local n=$1
	shift
	if is_incus "$n"; then INCUS_DIR=${LXDDIR[$n]} incus "$@"; else LXD_DIR=${LXDDIR[$n]} lxc "$@"; fi
}
# The daemon's own admin commands: `lxd X` is `incus admin X` on Incus.
lxdd() {
	local n=$1
	shift
	if is_incus "$n"; then INCUS_DIR=${LXDDIR[$n]} incus admin "$@"; else LXD_DIR=${LXDDIR[$n]} lxd "$@"; fi
}

pidfile() { echo "$RUN_DIR/$1.pid"; }
logfile() { echo "$LOG_DIR/$1.log"; }

# Does the daemon answer on its unix socket, with its API ready? Bounded by a
# timeout: a cluster member waiting for its peers can accept the connection
# without answering.
answers() {
	if is_incus "$1"; then
		command -v incus >/dev/null && INCUS_DIR=${LXDDIR[$1]} timeout 5 incus query /1.0 >/dev/null 2>&1
	else
		LXD_DIR=${LXDDIR[$1]} timeout 5 lxc query /1.0 >/dev/null 2>&1
	fi
}

# The pid of the daemon this script started for $1, if it is still that
# process (pids get reused after a reboot, so compare the command line, which
# holds the daemon's own log file path).
our_pid() {
	local f pid
	f=$(pidfile "$1")
	[[ -r $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	[[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"--logfile $(logfile "$1")"* ]] || return 1
	echo "$pid"
}

# Initialised = has the "default" pool (for node2: has joined the cluster,
# before which it has no pool at all).
initialised() { lxcd "$1" query /1.0/storage-pools/default >/dev/null 2>&1; }
has_image() { lxcd "$1" query "/1.0/images/aliases/$IMAGE_ALIAS" >/dev/null 2>&1; }
has_debug() { [[ $(lxcd "$1" config get core.debug_address 2>/dev/null) == "${DEBUG_ADDR[$1]}" ]]; }
# core.debug_address is a member's own key, so this also serves node2.
ensure_debug() { has_debug "$1" || lxcd "$1" config set core.debug_address "${DEBUG_ADDR[$1]}"; }

# ---------------------------------------------------------------- packages

ensure_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *'ok installed'* ]] || missing+=("$p")
	done
	command -v lxd >/dev/null && command -v lxc >/dev/null && command -v busybox >/dev/null &&
		((${#missing[@]} == 0)) && return 0
	local t
	t=$(date +%s.%N)
	say "installing ${missing[*]:-${PACKAGES[*]}} (apt)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q "${PACKAGES[@]}" </dev/null >"/tmp/lxdstar-testbed-apt.log" 2>&1 ||
		{ tail -20 /tmp/lxdstar-testbed-apt.log >&2; die "apt-get install failed"; }
	say "packages installed ($(since "$t"))"
}

# Incus 6.0 comes from bookworm-backports, added on the mirror of the
# machine's own Debian sources (the first URIs: line of debian.sources), so
# the test bed reaches no host the machine was not already set up to use.
# Returns 0 when it added the suite (apt's lists then need an update).
add_backports() {
	[[ -s $BACKPORTS_SOURCES ]] && return 1
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	uri=${uri%%$'\n'*}
	[[ -n $uri ]] || die "no URIs: line in /etc/apt/sources.list.d/debian.sources to take the bookworm-backports mirror from"
	cat >"$BACKPORTS_SOURCES.tmp" <<EOF
# Added by lxdstar's tests/testbed/testbed.sh: Incus 6.0 for the test bed.
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	mv "$BACKPORTS_SOURCES.tmp" "$BACKPORTS_SOURCES"
	say "added bookworm-backports ($uri) in $BACKPORTS_SOURCES"
}

incus_installed() {
	local p
	[[ -x $INCUSD ]] && command -v incus >/dev/null || return 1
	for p in "${INCUS_PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *'ok installed'* ]] || return 1
	done
}

ensure_incus_packages() {
	incus_installed && return 0
	local t
	t=$(date +%s.%N)
	export DEBIAN_FRONTEND=noninteractive
	# ensure_packages' update already saw the new suite, unless it had nothing to install.
	[[ $(apt-cache policy incus-base 2>/dev/null) == *bookworm-backports* ]] || apt-get update -q >/dev/null
	say "installing ${INCUS_PACKAGES[*]} from bookworm-backports (apt)"
	apt-get install -y -q -t bookworm-backports "${INCUS_PACKAGES[@]}" </dev/null >"/tmp/lxdstar-testbed-apt-incus.log" 2>&1 ||
		{ tail -20 /tmp/lxdstar-testbed-apt-incus.log >&2; die "apt-get install of Incus failed"; }
	incus_installed || die "$INCUSD or the incus client missing after installing ${INCUS_PACKAGES[*]}"
	say "Incus installed: $(incus --version 2>/dev/null) ($(since "$t"))"
}

# ----------------------------------------------------------------- daemons

# Start the daemon for $1 fully detached: own session (setsid), SIGHUP ignored
# (nohup), stdin from /dev/null, stdout/stderr to a file and every other
# inherited fd closed, so that `make` or a CI step that started it does not
# wait on it. The wrapper writes its own pid, then execs lxd or incusd (same
# pid). It runs in /: the daemon outlives the checkout that started it (a CI
# clone is deleted afterwards), and the daemons' helpers (rsync) fail in a
# vanished cwd. The proxy variables point at a closed loopback port: the
# daemons' own background fetches (LXD's instance types from
# images.linuxcontainers.org) then fail on loopback instead of sending DNS
# queries off the machine; loopback addresses are never proxied, so copies
# between the test bed's daemons are unaffected.
start_daemon() {
	local n=$1 log
	log=$(logfile "$n")
	mkdir -p "$RUN_DIR" "$LOG_DIR" "${LXDDIR[$n]}"
	say "starting $n ($(dir_var "$n")=${LXDDIR[$n]}, log $log)"
	# shellcheck disable=SC2016 # expanded by the wrapper shell, not here
	env "$(dir_var "$n")=${LXDDIR[$n]}" HTTPS_PROXY=$OFFLINE_PROXY HTTP_PROXY=$OFFLINE_PROXY \
		https_proxy=$OFFLINE_PROXY http_proxy=$OFFLINE_PROXY NO_PROXY=127.0.0.0/8,localhost no_proxy=127.0.0.0/8,localhost \
		setsid nohup bash -c '
		for fd in /proc/$$/fd/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
		done 2>/dev/null
		echo $$ >"$1"
		cd / && exec "$3" --group root --logfile "$2"
	' lxd-wrapper "$(pidfile "$n")" "$log" "$(daemon_binary "$n")" </dev/null >>"$LOG_DIR/$n.out" 2>&1 &
}

daemon_binary() { if is_incus "$1"; then echo "$INCUSD"; else echo lxd; fi; }

# Make sure every named daemon runs and is ready. All are started first and
# waited for afterwards: a restarted cluster member only gets its database
# back once its peer runs too.
ensure_running() {
	local n t waiting=()
	t=$(date +%s.%N)
	for n in "$@"; do
		if answers "$n"; then continue; fi
		if our_pid "$n" >/dev/null; then
			say "$n: our daemon (pid $(our_pid "$n")) is running but not ready yet"
		else
			start_daemon "$n"
		fi
		waiting+=("$n")
	done
	((${#waiting[@]})) || return 0
	for n in "${waiting[@]}"; do
		if ! lxdd "$n" waitready --timeout 90; then
			tail -20 "$(logfile "$n")" >&2 || true
			die "$n did not become ready; see $(logfile "$n") and $LOG_DIR/$n.out"
		fi
	done
	say "ready: ${waiting[*]} ($(since "$t"))"
}

# ------------------------------------------------------------- initialising

# Single-quoted YAML scalar.
yq() { printf "'%s'" "${1//\'/\'\'}"; }

# Preseed of a standalone daemon, or (with $2 = cluster) of the cluster's
# bootstrap member. In LXD 5.0 core.https_address is per member and
# cluster.https_address defaults to it when clustering is enabled, so the
# bootstrap preseed only needs core.https_address.
# Incus has no trust passwords: it trusts clients by token or certificate.
preseed_server() {
	local password="  core.trust_password: $(yq "$TRUST_PASSWORD")"
	is_incus "$1" && password="  # no core.trust_password: Incus has none"
	cat <<EOF
config:
  core.https_address: ${ADDR[$1]}
$password
  images.auto_update_interval: "0"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  description: lxdstar test bed (root disk only, no network)
  devices:
    root: {path: /, pool: default, type: disk}
EOF
	if [[ ${2:-} == cluster ]]; then
		cat <<EOF
cluster:
  server_name: $1
  enabled: true
EOF
	fi
}

# Preseed of a member joining node1's cluster. The cluster-wide config (trust
# password, image updates), pool and profile come from the cluster; only the
# member's own pool source is given (empty = LXD's default directory).
preseed_join() {
	cat <<EOF
cluster:
  enabled: true
  server_name: $1
  server_address: ${ADDR[$1]}
  cluster_address: ${ADDR[node1]}
  cluster_password: $(yq "$TRUST_PASSWORD")
  cluster_certificate: |
$(sed 's/^/    /' "${LXDDIR[node1]}/cluster.crt")
  member_config:
  - entity: storage-pool
    name: default
    key: source
    value: ""
EOF
}

ensure_init() {
	local n=$1 t
	initialised "$n" && return 0
	t=$(date +%s.%N)
	case $n in
	main | second | fault | incus) preseed_server "$n" | lxdd "$n" init --preseed ;;
	node1) preseed_server "$n" cluster | lxdd "$n" init --preseed ;;
	node2)
		[[ -r ${LXDDIR[node1]}/cluster.crt ]] || die "node1 has no cluster.crt; is it initialised?"
		preseed_join "$n" | lxdd "$n" init --preseed
		;;
	esac
	initialised "$n" || die "$n: preseed applied but pool 'default' is missing"
	say "$n initialised ($(since "$t"))"
}

# ------------------------------------------------------------------- image

# Sets IMAGE_TARBALL to the busybox image, built once per (busybox binary,
# init script, builder code) and cached outside the repository.
IMAGE_TARBALL=
image_tarball() {
	local bb arch key out build t
	bb=$(readlink -f "$(command -v busybox)")
	ldd "$bb" >/dev/null 2>&1 && die "$bb is dynamically linked; install busybox-static"
	arch=$(uname -m)
	key=$({ sha256sum "$bb" "$HERE/busybox-init.sh"; sed -n '/^build_rootfs()/,/^}/p' "$0"; echo "$arch"; } |
		sha256sum | cut -c1-12)
	out=$CACHE_DIR/busybox-$key.tar.gz
	IMAGE_TARBALL=$out
	[[ -s $out ]] && return 0
	t=$(date +%s.%N)
	mkdir -p "$CACHE_DIR"
	build=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
	build_rootfs "$bb" "$arch" "$build"
	# Unified image: metadata.yaml + rootfs/ in one tarball, owned by root.
	tar -C "$build" --numeric-owner --owner=0 --group=0 --sort=name -czf "$out.tmp" metadata.yaml rootfs
	mv "$out.tmp" "$out"
	rm -rf "$build"
	say "built image $out ($(du -h "$out" | cut -f1), $(since "$t"))"
}

build_rootfs() {
	local bb=$1 arch=$2 d=$3 r=$3/rootfs p
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/tmp}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 0700 "$r/root"
	install -m 0755 "$bb" "$r/bin/busybox"
	# One symlink per applet, at the path busybox itself reports.
	while read -r p; do
		[[ $p == bin/busybox ]] && continue
		mkdir -p "$r/$(dirname "$p")"
		ln -sf /bin/busybox "$r/$p"
	done < <("$bb" --list-full)
	rm -f "$r/sbin/init"
	install -m 0755 "$HERE/busybox-init.sh" "$r/sbin/init"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$r/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
	printf '%s\n' '127.0.0.1 localhost' >"$r/etc/hosts"
	local version
	# awk reads to the end: with pipefail, `| head -1` failed the script
	# whenever busybox was still writing when head quit (SIGPIPE, exit 141).
	version=$("$bb" 2>&1 | awk 'NR == 1 { print $2 }')
	cat >"$d/metadata.yaml" <<EOF
architecture: $arch
creation_date: $(date +%s)
properties:
  architecture: $arch
  description: busybox $version (lxdstar test bed)
  os: busybox
  release: "$version"
EOF
}

ensure_image() {
	local n=$1 tarball=$2 fp t
	has_image "$n" && return 0
	t=$(date +%s.%N)
	fp=$(sha256sum "$tarball" | cut -d' ' -f1)
	if lxcd "$n" query "/1.0/images/$fp" >/dev/null 2>&1; then
		# Same image already there (alias was deleted): just name it again.
		lxcd "$n" image alias create "$IMAGE_ALIAS" "$fp"
	else
		lxcd "$n" image import "$tarball" --alias "$IMAGE_ALIAS" >/dev/null
	fi
	say "$n: image '$IMAGE_ALIAS' imported ($(since "$t"))"
}

# ------------------------------------------------------------------ summary

image_fp() { lxcd "$1" query "/1.0/images/aliases/$IMAGE_ALIAS" 2>/dev/null | sed -n 's/.*"target": "\(.*\)".*/\1/p'; }

summary() {
	local n
	for n in "$@"; do
		[[ $n == node2 ]] && continue # shares node1's images
		printf '  %-6s socket %-28s https %-15s image %s %.12s\n' "$n" "${LXDDIR[$n]}/unix.socket" \
			"${ADDR[$n]}" "$IMAGE_ALIAS" "$(image_fp "$n")"
	done
	if [[ " $* " == *" node1 "* ]]; then
		printf '  %-6s socket %-28s https %-15s member of node1'"'"'s cluster\n' node2 \
			"${LXDDIR[node2]}/unix.socket" "${ADDR[node2]}"
	fi
}

# ----------------------------------------------------------------- commands

# Sets NAMES to the daemons of set $1 (main, all or fault).
NAMES=()
names_for() {
	case ${1:-main} in
	main) NAMES=(main) ;;
	all) NAMES=("${ALL_NAMES[@]}") ;;
	fault) NAMES=(fault) ;;
	incus) NAMES=(incus) ;;
	*) die "unknown set '$1' (want main, all, fault or incus)" ;;
	esac
}

cmd_up() {
	local n
	names_for "${1:-main}"
	local names=("${NAMES[@]}")
	if [[ " ${names[*]} " == *" incus "* ]]; then
		add_backports || true # before ensure_packages, so that one apt-get update serves both
		ensure_packages
		ensure_incus_packages
	else
		ensure_packages
	fi

	# Fast path: everything answers, is initialised and has the image.
	local ok=1
	for n in "${names[@]}"; do
		if answers "$n" && initialised "$n" && has_debug "$n" && { [[ $n == node2 ]] || has_image "$n"; }; then continue; fi
		ok=0
		break
	done
	if ((ok)); then
		say "already up: ${names[*]} (initialised, image '$IMAGE_ALIAS' present), nothing to do ($(since))"
		return 0
	fi

	ensure_running "${names[@]}"
	for n in "${names[@]}"; do
		ensure_init "$n"
		ensure_debug "$n"
	done

	for n in "${names[@]}"; do
		[[ $n == node2 ]] && continue # the cluster shares node1's images
		has_image "$n" && continue
		[[ -n $IMAGE_TARBALL ]] || image_tarball
		ensure_image "$n" "$IMAGE_TARBALL"
	done

	say "up: ${names[*]} ($(since))"
	summary "${names[@]}"
}

# Stop one daemon we started: a clean `lxd shutdown` / `incus admin
# shutdown` (stops its instances)
# bounded by a timeout, then SIGTERM, then SIGKILL.
stop_one() {
	local n=$1 pid i t
	pid=$(our_pid "$n") || return 0
	t=$(date +%s.%N)
	lxdd "$n" shutdown --timeout 60 >/dev/null 2>&1 &
	local sd=$!
	for ((i = 0; i < 700; i++)); do
		[[ -e /proc/$pid ]] || break
		sleep 0.1
	done
	if [[ -e /proc/$pid ]]; then
		say "$n: clean shutdown timed out, sending SIGTERM"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
		[[ -e /proc/$pid ]] && { say "$n: sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
	fi
	kill "$sd" 2>/dev/null || true
	wait "$sd" 2>/dev/null || true
	rm -f "$(pidfile "$n")"
	say "$n stopped ($(since "$t"))"
}

cmd_down() {
	local n t pids=() stopped=() foreign=()
	names_for "${1:-main}"
	local names=("${NAMES[@]}")
	t=$(date +%s.%N)
	for n in "${names[@]}"; do
		if our_pid "$n" >/dev/null; then
			stopped+=("$n")
		else
			rm -f "$(pidfile "$n")" # stale
			answers "$n" && foreign+=("$n")
		fi
	done
	((${#foreign[@]} == 0)) || say "not started by this script, left running: ${foreign[*]}"
	if ((${#stopped[@]} == 0)); then
		say "nothing to stop ($(since "$t"))"
		return 0
	fi
	# Standalone daemons in parallel. node2 before node1: node1 holds the
	# cluster's only database voter, and node2 needs the database to stop its
	# instances (else each stop waits for a 30 s timeout).
	for n in "${stopped[@]}"; do
		[[ $n == node[12] ]] || { stop_one "$n" & pids+=($!); }
	done
	{
		if [[ " ${stopped[*]} " == *" node2 "* ]]; then stop_one node2; fi
		if [[ " ${stopped[*]} " == *" node1 "* ]]; then stop_one node1; fi
	} &
	pids+=($!)
	wait "${pids[@]}"
	say "stopped: ${stopped[*]} ($(since "$t")); data kept in their LXD_DIRs"
}

cmd_status() {
	local n pid state
	for n in "${ALL_NAMES[@]}"; do
		if answers "$n"; then state=up; else state=down; fi
		if pid=$(our_pid "$n"); then
			state="$state (pid $pid, started by testbed)"
		fi
		printf '%-6s %-14s %-15s %s\n' "$n" "${LXDDIR[$n]}" "${ADDR[$n]}" "$state"
	done
}

# Runs beside `make test` (tests/gotest.sh) until killed. Every 20 s it asks
# each daemon (but fault, which tests kill on purpose) for /1.0 straight
# over its socket, allowing 20 s for the answer; one that has not answered
# four times in a row (two to three minutes: far beyond any slowness of a
# loaded machine, which `lxc query`'s start-up alone can push past seconds)
# has hung. Its goroutines are saved from its debug address (the evidence of
# where it hangs), then it is killed and started again, so that the tests
# waiting on it fail with an error instead of holding the whole suite until
# go test's timeout.
api_answers() {
	[[ $(curl -s -m 20 -o /dev/null -w '%{http_code}' --unix-socket "${LXDDIR[$1]}/unix.socket" http://testbed/1.0) == 200 ]]
}
cmd_watch() {
	local n dump
	declare -A misses=()
	while sleep "${WATCH_EVERY:-20}"; do
		for n in main second node1 node2 incus; do
			our_pid "$n" >/dev/null || continue
			if api_answers "$n"; then
				misses[$n]=0
				continue
			fi
			misses[$n]=$((${misses[$n]:-0} + 1))
			((misses[$n] >= ${WATCH_MISSES:-4})) || continue
			dump=$LOG_DIR/$n-hung-$(date +%Y%m%dT%H%M%S).goroutines
			curl -s -m 20 -o "$dump" "http://${DEBUG_ADDR[$n]}/debug/pprof/goroutine?debug=2" || true
			say "WATCH: $n has not answered its API for ${misses[$n]} checks (at $(date -u +%H:%M:%S)); goroutines in $dump ($(grep -c '^goroutine ' "$dump" 2>/dev/null || echo no) of them); restarting it"
			kill -KILL "$(our_pid "$n")" 2>/dev/null || true
			sleep 1
			(ensure_running "$n") || say "WATCH: $n did not come back"
			misses[$n]=0
		done
	done
}

case ${1:-} in
up) cmd_up "${2:-main}" ;;
down) cmd_down "${2:-main}" ;;
status) cmd_status ;;
watch) cmd_watch ;;
*)
	echo "usage: $0 up [main|all|fault|incus] | down [main|all|fault|incus] | status | watch" >&2
	exit 2
	;;
esac
