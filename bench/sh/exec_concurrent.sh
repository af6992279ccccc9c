#!/bin/sh
# Workload 4 (concurrent exec) with the server's CLI: `CLI exec PREFIXi --
# CMD &` for i in 00 … N-1, then wait; prints the commands' stdout (in
# order), then "conc-ok <commands that exited 0>".
# usage: exec_concurrent.sh CLI PREFIX N TMPDIR CMD...
set -u
cli=$1 prefix=$2 n=$3 tmp=$4
shift 4
i=0
while [ "$i" -lt "$n" ]; do
	c=$(printf '%02d' "$i")
	( "$cli" exec "$prefix$c" -- "$@" >"$tmp/out.$c" && echo ok >"$tmp/ok.$c" ) &
	i=$((i + 1))
done
wait
ok=0 i=0
while [ "$i" -lt "$n" ]; do
	c=$(printf '%02d' "$i")
	cat "$tmp/out.$c"
	if [ -f "$tmp/ok.$c" ]; then ok=$((ok + 1)); fi
	rm -f "$tmp/out.$c" "$tmp/ok.$c"
	i=$((i + 1))
done
echo "conc-ok $ok"
