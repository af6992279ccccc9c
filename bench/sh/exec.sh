#!/bin/sh
# Workload 3 (exec) with the server's CLI: `CLI exec INSTANCE -- CMD` N times
# in a shell loop (each call's stdout goes straight to ours), then
# "exec-ok <calls that exited 0>". CLI is lxc or incus.
# usage: exec.sh CLI INSTANCE N CMD...
set -u
cli=$1 name=$2 n=$3
shift 3
ok=0 i=0
while [ "$i" -lt "$n" ]; do
	if "$cli" exec "$name" -- "$@"; then ok=$((ok + 1)); fi
	i=$((i + 1))
done
echo "exec-ok $ok"
