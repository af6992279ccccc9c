#!/bin/sh
# Workload 4 (lifecycle fan-out) with the lxc CLI, in a shell loop: for each
# of N containers PREFIX-0 ... PREFIX-<N-1>: lxc init IMAGE, lxc start,
# lxc stop --force (pylxd's and lxdstar's stop default), lxc delete, all
# with --quiet (no progress output: lxdstar and pylxd draw none either).
# Stops at the first failure. Prints "lifecycle-ok <N> <N> <N>" when done.
# usage: lifecycle.sh PREFIX N IMAGE
set -eu
prefix=$1 n=$2 image=$3
i=0
while [ "$i" -lt "$n" ]; do
	lxc --quiet init "$image" "$prefix-$i" >/dev/null
	lxc --quiet start "$prefix-$i"
	lxc --quiet stop --force "$prefix-$i"
	lxc --quiet delete "$prefix-$i"
	i=$((i + 1))
done
echo "lifecycle-ok $n $n $n"
