#!/usr/bin/env python3
"""webhook_client.py - the HTTP client side of tests/webhook_http.sh.

Signs like Twilio (HMAC-SHA1 over the public URL + sorted name/value pairs,
base64) with python's hmac module, so the test needs no Twilio library.

  request  URL [--method M] [--ctype CT] [--body TEXT] [--token T]
           [--public-url U] [--sig good|bad|none] [--fields JSON]
           [--cafile F] [--header K:V]...
      one request; prints a JSON line {status, headers, body}
  slowloris HOST PORT PATH NSLOW NFAST TOKEN PUBLIC_URL
      NSLOW connections send a request a byte at a time (one byte every
      0.2 s) while NFAST signed requests are made on their own connections,
      all at once (a 503 is retried after 1 s, up to 10 times, as Twilio
      retries); prints {"answered": N, "statuses": {...}} for the fast
      ones, every answer counted (the slow ones are closed at the end)
"""
import base64
import hashlib
import hmac
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse


def sign(token, url, fields):
    data = url + "".join(k + v for k, v in sorted(fields))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def raw_request(host, port, method, path, headers, body, cafile=None,
                timeout=20):
    s = socket.create_connection((host, port), timeout=timeout)
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        s = ctx.wrap_socket(s, server_hostname=host)
    head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n" % (
        method, path, host, port)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    if body is not None:
        head += "Content-Length: %d\r\n" % len(body)
    s.sendall(head.encode() + b"\r\n" + (body or b""))
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest.decode("utf-8", "replace")


def cmd_request(argv):
    url = argv[0]
    opts = {"--method": "POST",
            "--ctype": "application/x-www-form-urlencoded",
            "--sig": "good", "--token": "", "--public-url": None,
            "--body": None, "--fields": None, "--cafile": None}
    extra = []
    i = 1
    while i < len(argv):
        if argv[i] == "--header":
            k, _, v = argv[i + 1].partition(":")
            extra.append((k, v))
        else:
            opts[argv[i]] = argv[i + 1]
        i += 2
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    fields = json.loads(opts["--fields"]) if opts["--fields"] else []
    fields = [(k, v) for k, v in fields]
    body = opts["--body"]
    if body is None:
        body = urllib.parse.urlencode(fields)
    headers = []
    if opts["--ctype"]:
        headers.append(("Content-Type", opts["--ctype"]))
    pub = opts["--public-url"] or url
    if opts["--sig"] == "good":
        headers.append(("X-Twilio-Signature",
                        sign(opts["--token"], pub, fields)))
    elif opts["--sig"] == "bad":
        headers.append(("X-Twilio-Signature",
                        sign(opts["--token"] + "x", pub, fields)))
    headers += extra
    status, hdrs, text = raw_request(
        u.hostname, u.port, opts["--method"], path, headers,
        body.encode() if opts["--method"] != "GET" else None,
        cafile=opts["--cafile"])
    print(json.dumps({"status": status, "headers": hdrs, "body": text}))


def cmd_slowloris(argv):
    host, port, path = argv[0], int(argv[1]), argv[2]
    nslow, nfast = int(argv[3]), int(argv[4])
    token, pub = argv[5], argv[6]
    slow = []
    for _ in range(nslow):
        s = socket.create_connection((host, port), timeout=30)
        slow.append(s)
    req = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
           "x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\n" % path
           ).encode()
    stop = threading.Event()

    def dribble():
        pos = 0
        while not stop.is_set() and pos < len(req):
            for s in slow:
                try:
                    s.send(req[pos:pos + 1])
                except OSError:
                    pass
            pos += 1
            stop.wait(0.2)

    t = threading.Thread(target=dribble)
    t.start()
    time.sleep(0.5)  # the slow ones are in, mid-request
    statuses = {}
    lock = threading.Lock()

    def fast(i):
        fields = [("MessageSid", "SM%032x" % (0x5100 + i)),
                  ("From", "+14155550100"), ("To", "+15005550006"),
                  ("Body", "fast %d" % i)]
        body = urllib.parse.urlencode(fields).encode()
        # A 503 (Retry-After) is the bounded job queue shedding load, an
        # answer and not a stall: retry it as Twilio retries, a few times.
        # Under valgrind the workers are slow enough that 192 requests at
        # once overflow the queue; every answer is still counted.
        for attempt in range(10):
            try:
                st, _, _ = raw_request(host, port, "POST", path, [
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("X-Twilio-Signature", sign(token, pub, fields))], body)
            except OSError as e:
                st = "error:%s" % e.__class__.__name__
            with lock:
                statuses[str(st)] = statuses.get(str(st), 0) + 1
            if st != 503:
                break
            time.sleep(1)

    threads = [threading.Thread(target=fast, args=(i,))
               for i in range(nfast)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    t.join()
    for s in slow:
        s.close()
    print(json.dumps({"answered": statuses.get("200", 0),
                      "statuses": statuses}))


if __name__ == "__main__":
    {"request": cmd_request, "slowloris": cmd_slowloris}[sys.argv[1]](
        sys.argv[2:])
