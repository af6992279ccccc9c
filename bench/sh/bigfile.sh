#!/bin/sh
# Workload 7 (big file) with the server's CLI: `CLI --quiet file push SRC
# INSTANCE/DST`, then `CLI --quiet file pull INSTANCE/DST LOCAL`. Prints
# "bigfile-ok". CLI is lxc or incus.
# usage: bigfile.sh CLI INSTANCE SRC DST LOCAL
set -eu
cli=$1 name=$2 src=$3 dst=$4 local=$5
"$cli" --quiet file push "$src" "$name$dst"
"$cli" --quiet file pull "$name$dst" "$local"
echo bigfile-ok
