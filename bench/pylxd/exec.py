"""Workload 3 (exec) with pylxd 2.2.10: container.execute(CMD) N times in a
row. Prints the concatenated stdout of the calls, then "exec-ok <calls that
exited 0>".

usage: python3 exec.py INSTANCE N CMD...
"""
import sys

import pylxd

name, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
container = pylxd.Client().containers.get(name)
outs = []
ok = 0
for _ in range(n):
    result = container.execute(cmd)
    if result.exit_code == 0:
        ok += 1
    outs.append(result.stdout)
sys.stdout.write("".join(outs))
print("exec-ok %d" % ok)
