#!/bin/sh
# Workload 6 (files) with the server's CLI: N times, `CLI --quiet file push
# SRC INSTANCE/DST` then `CLI --quiet file pull INSTANCE/DST TMP` (--quiet: no
# progress output, as lxdstar and pylxd draw none); the last copy pulled is
# compared with SRC (one cmp, not one per round trip). Prints
# "files-ok <N or 0> <size>". CLI is lxc or incus.
# usage: files.sh CLI INSTANCE N SRC DST TMP
set -eu
cli=$1 name=$2 n=$3 src=$4 dst=$5 tmp=$6
i=0
while [ "$i" -lt "$n" ]; do
	"$cli" --quiet file push "$src" "$name$dst"
	"$cli" --quiet file pull "$name$dst" "$tmp"
	i=$((i + 1))
done
ok=0
if cmp -s "$src" "$tmp"; then ok=$n; fi
echo "files-ok $ok $(wc -c <"$src")"
