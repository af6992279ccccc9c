"""Workload 2 (list) with pylxd 2.2.10: client.containers.all(), then read
each container's .config (pylxd's all() returns name-only objects, so the
first attribute access does one GET per container). Prints "list-ok
<containers named PREFIX*> <those whose config holds volatile.base_image>
<containers listed>".

usage: python3 list.py PREFIX
"""
import sys

import pylxd
import pylxd.exceptions

prefix = sys.argv[1]
client = pylxd.Client()
listed = matched = with_config = 0
for c in client.containers.all():
    try:
        config = c.config
    except pylxd.exceptions.NotFound:
        # Deleted (by someone else) between the list and pylxd's GET of it:
        # the race pylxd's N+1 reads open. Bench instances never vanish.
        continue
    listed += 1
    if c.name.startswith(prefix):
        matched += 1
        if "volatile.base_image" in config:
            with_config += 1
print("list-ok", matched, with_config, listed)
