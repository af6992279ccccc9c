"""Workload 2 (list) with a raw Python client: http.client over LXD's unix
socket and json, no library. One GET /1.0/instances?recursion=1, then each
instance's config is read. Prints "list-ok <instances named PREFIX*> <those
whose config holds volatile.base_image> <instances listed>".

usage: python3 list_raw.py PREFIX   (the socket is $LXD_DIR/unix.socket)
"""
import http.client
import json
import os
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("lxd")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


prefix = sys.argv[1]
conn = UnixConnection(os.path.join(os.environ.get("LXD_DIR", "/var/lib/lxd"), "unix.socket"))
conn.request("GET", "/1.0/instances?recursion=1")
instances = json.loads(conn.getresponse().read())["metadata"]
matched = with_config = 0
for inst in instances:
    config = inst["config"]
    if inst["name"].startswith(prefix):
        matched += 1
        if "volatile.base_image" in config:
            with_config += 1
print("list-ok", matched, with_config, len(instances))
