#!/bin/sh
# Workload 5 (files) with the lxc CLI: N times, `lxc --quiet file push SRC
# INSTANCE/DST` then `lxc --quiet file pull INSTANCE/DST TMP` (--quiet: no
# progress output, as lxdstar and pylxd draw none); the last copy pulled is
# compared with SRC (one cmp, not one per round trip). Prints
# "files-ok <N or 0> <size>".
# usage: files.sh INSTANCE N SRC DST TMP
set -eu
name=$1 n=$2 src=$3 dst=$4 tmp=$5
i=0
while [ "$i" -lt "$n" ]; do
	lxc --quiet file push "$src" "$name$dst"
	lxc --quiet file pull "$name$dst" "$tmp"
	i=$((i + 1))
done
ok=0
if cmp -s "$src" "$tmp"; then ok=$n; fi
echo "files-ok $ok $(wc -c <"$src")"
