#!/bin/sh
# Workload 7 (big file) with curl on the raw API: the file streamed up in
# the body of POST /1.0/instances/INSTANCE/files?path=DST (without curl's
# "Expect: 100-continue" round trip), then down from a GET of the same into
# LOCAL. Prints "bigfile-ok".
# usage: bigfile_curl.sh SOCKET INSTANCE SRC DST LOCAL
set -eu
socket=$1 name=$2 src=$3 dst=$4 local=$5
url="http://x/1.0/instances/$name/files?path=$dst"
curl -sSf --unix-socket "$socket" -X POST -H 'Expect:' -T "$src" -o /dev/null "$url"
curl -sSf --unix-socket "$socket" -o "$local" "$url"
echo bigfile-ok
