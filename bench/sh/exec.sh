#!/bin/sh
# Workload 3 (exec) with the lxc CLI: `lxc exec INSTANCE -- CMD` N times in a
# shell loop (each call's stdout goes straight to ours), then
# "exec-ok <calls that exited 0>".
# usage: exec.sh INSTANCE N CMD...
set -u
name=$1 n=$2
shift 2
ok=0 i=0
while [ "$i" -lt "$n" ]; do
	if lxc exec "$name" -- "$@"; then ok=$((ok + 1)); fi
	i=$((i + 1))
done
echo "exec-ok $ok"
