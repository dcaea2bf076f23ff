#!/usr/bin/env python3
"""ws_read.py URL SECONDS [TOKEN] — opens a websocket (RFC 6455, plain ws://),
prints each text message received within SECONDS, one per line. With TOKEN
the upgrade carries `Authorization: Bearer TOKEN`. Exit 0 when the upgrade
was accepted (101), 1 otherwise (the status line goes to stderr)."""
import base64, os, socket, sys, time, urllib.parse

url, secs = sys.argv[1], float(sys.argv[2])
token = sys.argv[3] if len(sys.argv) > 3 else ""
u = urllib.parse.urlparse(url)
s = socket.create_connection((u.hostname, u.port or 80), timeout=secs)
key = base64.b64encode(os.urandom(16)).decode()
path = u.path + ("?" + u.query if u.query else "")
req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, u.hostname, u.port, key))
if token:
    req += "Authorization: Bearer %s\r\n" % token
s.sendall((req + "\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
head, _, rest = buf.partition(b"\r\n\r\n")
status = head.split(b"\r\n")[0].decode(errors="replace")
if " 101 " not in status + " ":
    print(status, file=sys.stderr)
    sys.exit(1)
deadline = time.time() + secs
buf = rest
while time.time() < deadline:
    while len(buf) >= 2:
        op, ln = buf[0] & 15, buf[1] & 127
        off = 2
        if ln == 126:
            if len(buf) < 4: break
            ln, off = int.from_bytes(buf[2:4], "big"), 4
        elif ln == 127:
            if len(buf) < 10: break
            ln, off = int.from_bytes(buf[2:10], "big"), 10
        if len(buf) < off + ln: break
        payload, buf = buf[off:off + ln], buf[off + ln:]
        if op == 1:
            print(payload.decode(errors="replace"), flush=True)
        elif op == 8:
            sys.exit(0)
    s.settimeout(max(0.05, deadline - time.time()))
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    buf += chunk
sys.exit(0)
