"""Workload 4 (lifecycle fan-out) with pylxd 2.2.10, sequential: for each of
N containers PREFIX-0 ... PREFIX-<N-1>, create it from IMAGE, start, stop and
delete it, waiting for each step. Prints "lifecycle-ok <created> <seen
Running> <seen Stopped>".

usage: python3 lifecycle.py PREFIX N IMAGE
"""
import sys

import pylxd

prefix, n, image = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = pylxd.Client()
created = running = stopped = 0
for i in range(n):
    c = client.containers.create(
        {"name": "%s-%d" % (prefix, i), "source": {"type": "image", "alias": image}},
        wait=True)
    created += 1
    c.start(wait=True)  # pylxd re-reads the container after a waited state change
    if c.status == "Running":
        running += 1
    c.stop(wait=True)
    if c.status == "Stopped":
        stopped += 1
    c.delete(wait=True)
print("lifecycle-ok", created, running, stopped)
