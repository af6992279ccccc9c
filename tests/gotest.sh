#!/usr/bin/env bash
# Runs `go test "$@"` for `make test`, keeping its whole output in a log and,
# when the run fails, printing at the very end what failed: which tests, the
# tests still running when a timeout struck, and how the test bed's daemons
# are. CI keeps only the tail of a run's output, where a timeout's goroutine
# dump would otherwise hide all of that.
#
#   LXDSTAR_TEST_LOG   where the whole output goes (default /tmp/lxdstar-test.log;
#                      the test-bed watch's report in $LXDSTAR_TEST_LOG.watch)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log=${LXDSTAR_TEST_LOG:-/tmp/lxdstar-test.log}
watchlog=$log.watch
: >"$log"
: >"$watchlog"
# A test-bed daemon that hangs is reported, its goroutines saved, and
# restarted (testbed.sh watch), rather than holding every test until the
# timeout.
tests/testbed/testbed.sh watch >>"$watchlog" 2>&1 &
watcher=$!
"${GO:-go}" test "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
# Shown whether or not the tests passed: a hang inside LXD or Incus is news.
# Each saved goroutine dump is summed up (stacks by their top frames, most
# common first), so that even a CI log that keeps only its tail shows where
# the daemon hung.
if [[ -s $watchlog ]]; then
	echo "---- test-bed watch ----"
	cat "$watchlog"
	for dump in $(sed -n 's/.*goroutines in \([^ ]*\) .*/\1/p' "$watchlog"); do
		[[ -s $dump ]] || continue
		echo "---- $dump, by top frames ----"
		awk 'BEGIN { RS = "" } {
			n = split($0, line, "\n"); key = line[1]; sub(/^goroutine [0-9]+ /, "", key); sub(/, [0-9]+ minutes/, "", key)
			for (i = 2; i <= n && c < 5; i++) if (line[i] !~ /^\t/) { f = line[i]; sub(/ in goroutine [0-9]+$/, "", f); if (match(f, /\([^(]*$/)) f = substr(f, 1, RSTART - 1); key = key " < " f; c++ }
			c = 0; print key
		}' "$dump" | sort | uniq -c | sort -rn | head -25 | cut -c1-300
	done
fi
((rc == 0)) && exit 0

{
	echo
	echo "======== make test failed (exit $rc); whole output in $log ========"
	grep -E -e '^[[:space:]]*--- FAIL' -e '^(FAIL|panic:)' -e 'DATA RACE' "$log" | head -60
	# A timeout names the tests still running, with how long each ran.
	awk '/^[[:space:]]*running tests:/ { p = 1; print; next } p && /^[[:space:]]+Test/ { print; next } { p = 0 }' "$log"
	echo "---- test bed ----"
	tests/testbed/testbed.sh status 2>&1
	for f in /var/log/lxdstar-testbed/*.log; do
		[[ -r $f ]] || continue
		echo "---- last lines of $f ----"
		tail -5 "$f"
	done
} 2>&1
exit "$rc"
