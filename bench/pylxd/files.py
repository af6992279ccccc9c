"""Workload 5 (files) with pylxd 2.2.10: N times, container.files.put(DST,
data of SRC) then container.files.get(DST). Prints "files-ok <round trips
that returned the same bytes> <size>".

usage: python3 files.py INSTANCE N SRC DST
"""
import sys

import pylxd

name, n, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
container = pylxd.Client().containers.get(name)
with open(src, "rb") as f:
    data = f.read()
ok = 0
for _ in range(n):
    container.files.put(dst, data)
    if container.files.get(dst) == data:
        ok += 1
print("files-ok", ok, len(data))
