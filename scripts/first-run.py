#!/usr/bin/env python3
"""The setup's first container, through berthd's Docker API on its socket (the berth CLI is
not there yet): loads busybox:latest from an archive if berthd lacks it, then runs
`sh -c 'echo hello ...'` in a new container, prints its output and removes it.

    scripts/first-run.py SOCKET BUSYBOX.tar
"""
import http.client, json, socket, sys

sock_path, archive = sys.argv[1], sys.argv[2]

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock_path)

def call(method, path, body=None, raw=False):
    c = Conn("berth")
    headers = {"Content-Type": "application/x-tar" if raw else "application/json"}
    c.request(method, path, body=body if raw or body is None else json.dumps(body), headers=headers)
    r = c.getresponse(); data = r.read()
    if r.status >= 400:
        sys.exit(f"first-run: {method} {path}: {r.status} {data.decode(errors='replace').strip()}")
    return data

if b"busybox:latest" not in call("GET", "/images/json"):
    with open(archive, "rb") as f:
        print(call("POST", "/images/load", f.read(), raw=True).decode().strip())
cmd = ["sh", "-c", "echo hello from a berth container: $(hostname), pid $$, $(id)"]
cid = json.loads(call("POST", "/containers/create", {"Image": "busybox", "Cmd": cmd, "HostConfig": {"NetworkMode": "none"}}))["Id"]
call("POST", f"/containers/{cid}/start")
code = json.loads(call("POST", f"/containers/{cid}/wait"))["StatusCode"]
logs = call("GET", f"/containers/{cid}/logs?stdout=1&stderr=1")
out = b""
while len(logs) >= 8:  # Docker's multiplexed frames: 8-byte header, then the payload
    n = int.from_bytes(logs[4:8], "big"); out += logs[8:8 + n]; logs = logs[8 + n:]
sys.stdout.write(out.decode(errors="replace"))
call("DELETE", f"/containers/{cid}")
sys.exit(code)
