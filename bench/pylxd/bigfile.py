"""Workload 7 (big file) with pylxd 2.2.10, which has no streaming calls:
container.files.put(DST, data of SRC), then container.files.get(DST)
written to LOCAL. Prints "bigfile-ok".

usage: python3 bigfile.py INSTANCE SRC DST LOCAL
"""
import sys

import pylxd

name, src, dst, local = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
container = pylxd.Client().containers.get(name)
with open(src, "rb") as f:
    container.files.put(dst, f.read())
with open(local, "wb") as f:
    f.write(container.files.get(dst))
print("bigfile-ok")
