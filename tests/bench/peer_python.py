#!/usr/bin/env python3
"""peer_python.py - benchmark peer: Twilio's official Python helper library.

Sends N messages through python3-twilio (Debian) to a Twilio-compatible
server (the sandbox) with K worker threads sharing one Client, and prints
one JSON line in the same shape as raw-curl:
  {"client":"python-twilio","inflight":K,"messages":N,"ok":..,"failed":..,
   "seconds":..,"msg_per_s":..,"cpu_s":..,"max_rss_kib":..}

The library's requests.Session keeps connections alive; its default pool
holds 10 connections, so the adapter is re-mounted with K (what a user
tuning it for throughput would do). TLS: --cacert (the test CA).
Run by tests/bench/run_bench.py under `make bench`; never by `make check`.
"""
import argparse
import json
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

for var in ("TWILIO_EDGE", "TWILIO_REGION"):
    os.environ.pop(var, None)

from requests.adapters import HTTPAdapter  # noqa: E402
from twilio.rest import Client  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--account", default="AC00000000000000000000000000000000")
    ap.add_argument("--token", default=os.environ.get("RAW_CURL_TOKEN",
                                                      "sandbox-token"))
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--inflight", type=int, default=16)
    ap.add_argument("--cacert")
    ap.add_argument("--from", dest="sender", default="+15005550006")
    ap.add_argument("--body", default="Your order 42 has shipped.")
    a = ap.parse_args()

    client = Client(a.account, a.token)
    client.api.base_url = a.url
    session = client.http_client.session
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=a.inflight)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if a.cacert:
        session.verify = a.cacert

    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0, "next": 0}

    def worker():
        while True:
            with lock:
                i = counts["next"]
                if i >= a.messages:
                    return
                counts["next"] = i + 1
            try:
                m = client.messages.create(to="+1415%07d" % (i % 10000000),
                                           from_=a.sender, body=a.body)
                good = m.sid.startswith("SM")
            except Exception as e:  # a failure is counted, not fatal
                if not counts["failed"]:
                    print("python-twilio: first failure: %s" % e,
                          file=sys.stderr)
                good = False
            with lock:
                counts["ok" if good else "failed"] += 1

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=a.inflight) as pool:
        for _ in range(a.inflight):
            pool.submit(worker)
    secs = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "client": "python-twilio", "inflight": a.inflight,
        "messages": a.messages, "ok": counts["ok"],
        "failed": counts["failed"], "seconds": round(secs, 4),
        "msg_per_s": round(counts["ok"] / secs, 1) if secs > 0 else 0,
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 4),
        "max_rss_kib": ru.ru_maxrss}))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
