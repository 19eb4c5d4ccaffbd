#!/usr/bin/env python3
"""webhook_bench.py - `make bench-webhook`: signed SMS_RECEIVED webhooks per
second end to end (signature, match, publish to a host that enqueues,
TwiML), the connector beside two peers doing the same work, in the same run.

Contenders (each validates X-Twilio-Signature against the same public URL and
token, matches `Order Number (?<orderNumber>.+)`, builds the event as JSON,
hands it to an in-process queue and answers TwiML "Your reference number is
N"):
  connector  tests/bench/webhook-host (webhook_host.c): twilio.so through
             libconnhost, subscribed to SMS_RECEIVED, with a host whose
             publish puts the event on a bounded in-process queue that one
             thread empties, exactly what the peers do (the issue's
             workload: "publish to a host that enqueues"); the 5x target is
             read on this row;
  connector-serve  `connector-host serve twilio.so --triggers FILE` with one
             trigger (the product's runtime: publish enqueues the event and
             a worker then runs the trigger's action, send_sms with dryRun,
             which renders and validates an SMS per event: more work than
             the peers do, so shown beside, never against the target);
  connector-listen  `connector-host listen` (publish prints the event, to
             /dev/null here; BENCH_WEBHOOK_HOST=all only);
  express    tests/bench/webhook_peer_express.js: express + npm `twilio`'s
             webhook() validator (pinned versions, installed into
             BENCH_NPM_CACHE/webhook outside the repository);
  flask      tests/bench/webhook_peer_flask.py: Flask + python3-twilio's
             RequestValidator under gunicorn, 2 workers x 4 threads.

Load: wrk with tests/bench/webhook.lua replaying one file of distinct
pre-signed requests (`twilio-sandbox inbound --load N`, or
tests/bench/webhook_requests.py when the sandbox has no load mode; the file
is verified with hmac and, for a sample, python3-twilio before use).

Method: every contender is checked first (a valid request gets the echo, a
tampered signature gets 403). Then REPS rounds; in each round every
contender is started fresh, warmed up (BENCH_WEBHOOK_WARMUP s at 32
connections), measured at 32 connections (throughput, p50/p99) for
BENCH_WEBHOOK_SECONDS in BENCH_WEBHOOK_SLICES slices (5) alternated between
the contenders in ABBA order, so that all of them span the same stretch of
time, then at 4 connections (p50/p99) for BENCH_WEBHOOK_SECONDS one after
the other, in an order rotated per round; then all are stopped. Ratios are
taken within a round (connector / faster peer of that round), then the
median of the rounds. With 2+ CPUs the contender
and wrk are pinned to different CPUs with taskset (wrk gets the first CPU,
the contender the others); wrk runs one thread. Then the connector alone:
RSS after 200,000 and after 1,000,000 webhooks at 32 connections, with
TWILIO_INBOUND_DEDUPE_TTL_MS low so the dedupe store's size is bounded, at
a fixed offered load (webhook.lua's WRK_DELAY_MS: each connection waits a
few ms before each request, about 60 % of the measured rate): the store
holds rate x TTL entries, so at full speed RSS followed the machine's
rate from one point to the next, where the target asks whether memory
grows with the number of webhooks.

Dedupe never short-circuits: the file holds BENCH_WEBHOOK_REQUESTS distinct
MessageSids (default 200,000), each run in a process starts where the last
stopped, and the connector's TTL (TWILIO_INBOUND_DEDUPE_TTL_MS, 1000 ms) is
below the time one pass over the file takes at the measured rate (checked
after each run, noted when not).

Writes --out/webhook/: results.jsonl (every run, one JSON line) and
summary.md (tables: every run, medians, targets). Never part of
`make check`; benchmarks never gate anything. Every server binds 127.0.0.1
port 0 (port files), every wait is bounded, everything started is stopped at
the end (its process group), also on failure or Ctrl-C. Missing peers are
skipped with a note; a missing wrk is an error (apt-get install wrk).

Knobs (environment): BENCH_REPS (5), BENCH_WEBHOOK_SECONDS (10),
BENCH_WEBHOOK_SLICES (5), BENCH_WEBHOOK_WARMUP (3),
BENCH_WEBHOOK_REQUESTS (200000), BENCH_WEBHOOK_RSS (1: the RSS run; 0
skips it), BENCH_WEBHOOK_ONLY (comma list of contenders),
BENCH_WEBHOOK_HOST (both: connector and connector-serve, the default |
host: connector only | all: connector-listen too),
BENCH_NPM_CACHE, BENCH_QUICK=1 (one short
round, to check the machinery).
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

TOKEN = "bench-webhook-token"
PUBLIC_URL = "https://hooks.example.com/twilio/sms"
PATH = "/twilio/sms"
FROM = "+15005550010"
TO = "+15005550006"
ACCOUNT = "AC00000000000000000000000000000000"
PATTERN = "Order Number (?<orderNumber>.+)"
ECHO = "Your reference number is ${orderNumber}"
ECHO_ERROR = "Sorry, we could not take your order number; please try again."
NPM_PINS = ["twilio@5.8.2", "express@4.21.2"]
PY = "/usr/bin/python3"
TTL_MIN_MS = 1000

started = []  # Popen objects, each the leader of its own process group


def log(msg):
    print("bench-webhook: " + msg, file=sys.stderr, flush=True)


def stop_group(p, timeout=10):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(5)
    # workers a dead leader left behind
    for pid in session_pids(p.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def stop_all():
    for p in started:
        stop_group(p, 5)


def session_pids(sid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # field 6: session id
            pids.append(int(d))
    return pids


def cpu_seconds(sid):
    """user+system CPU of every live process in session SID."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in session_pids(sid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_port(path, p, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                txt = f.read().strip()
            if txt.isdigit():
                return int(txt)
        if p.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def wait_listening(cfg, p, seconds=60):
    """The port written in CFG's TWILIO_WEBHOOK_LISTEN, once it accepts."""
    with open(cfg) as f:
        port = int(re.search(r"TWILIO_WEBHOOK_LISTEN=127\.0\.0\.1:(\d+)",
                             f.read()).group(1))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return None
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return port
        except OSError:
            time.sleep(0.05)
    return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- contenders

class Contender:
    """One server process (group) started fresh for each round."""

    def __init__(self, name, argv, env, cpus, tmp, port_file,
                 port_from_config=None):
        self.name = name
        self.port_from_config = port_from_config
        self.argv = argv
        self.env = env
        self.cpus = cpus
        self.tmp = tmp
        self.port_file = port_file
        self.p = None
        self.err = None
        self.sent = 0  # requests sent to this process (next file offset)

    def start(self):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        argv = self.argv
        if self.cpus:
            argv = ["taskset", "-c", self.cpus] + argv
        self.err_path = os.path.join(self.tmp, self.name + ".err")
        self.err = open(self.err_path, "wb")
        # stdin a pipe held open: `connector-host listen` runs until its
        # standard input ends; stdout (listen prints every event there) to
        # /dev/null
        self.p = subprocess.Popen(argv, env=self.env,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL
                                  if self.port_from_config else self.err,
                                  stderr=self.err,
                                  start_new_session=True)
        started.append(self.p)
        if self.port_from_config:
            port = wait_listening(self.port_from_config, self.p)
        else:
            port = wait_port(self.port_file, self.p)
        if not port:
            self.stop()
            raise RuntimeError("%s did not start: %s" % (
                self.name, tail(self.err_path)))
        self.url = "http://127.0.0.1:%d%s" % (port, PATH)
        self.sent = 0
        return self

    def stop(self):
        if self.p:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            stop_group(self.p)
        if self.err:
            self.err.close()
            self.err = None

    def cpu(self):
        return cpu_seconds(self.p.pid)

    def rss(self):
        # the server itself: the leader, or, for gunicorn, the sum of the
        # session (master and workers)
        return sum(rss_kib(pid) for pid in session_pids(self.p.pid))


def tail(path, n=600):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def post(url, sig, body, timeout=10):
    rq = urllib.request.Request(url, data=body.encode(), method="POST",
                                headers={"X-Twilio-Signature": sig,
                                         "Content-Type":
                                         "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(rq, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


# --------------------------------------------------------------------- bench

class Bench:
    def __init__(self, a):
        self.a = a
        self.b = os.path.abspath(a.builddir)
        self.s = os.path.abspath(a.srcdir)
        self.out = os.path.join(os.path.abspath(a.out), "webhook")
        os.makedirs(self.out, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="bench-webhook.", dir=self.out)
        self.results = open(os.path.join(self.out, "results.jsonl"), "w")
        self.notes = []
        self.env = dict(os.environ)
        for v in ("TWILIO_EDGE", "TWILIO_REGION", "http_proxy",
                  "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                  "no_proxy", "NO_PROXY"):
            self.env.pop(v, None)
        self.host = os.path.join(self.b, "host-api/connector-host")
        self.whost = os.path.join(self.b, "tests/bench/webhook-host")
        self.plugin = os.path.join(self.b, "plugin/.libs/twilio.so")
        self.sandbox = os.path.join(self.b, "tests/sandbox/twilio-sandbox")
        self.quick = os.environ.get("BENCH_QUICK") == "1"
        self.reps = 1 if self.quick else int(os.environ.get("BENCH_REPS",
                                                            "5"))
        self.seconds = 3 if self.quick else int(os.environ.get(
            "BENCH_WEBHOOK_SECONDS", "10"))
        self.slices = 1 if self.quick else max(1, int(os.environ.get(
            "BENCH_WEBHOOK_SLICES", "5")))
        self.warmup = 1 if self.quick else int(os.environ.get(
            "BENCH_WEBHOOK_WARMUP", "3"))
        self.nreq = int(os.environ.get("BENCH_WEBHOOK_REQUESTS",
                                       "20000" if self.quick else "200000"))
        self.do_rss = os.environ.get("BENCH_WEBHOOK_RSS", "1") == "1"
        self.host_mode = os.environ.get("BENCH_WEBHOOK_HOST", "both")
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2:
            self.wrk_cpus = str(cpus[0])
            self.srv_cpus = ",".join(str(c) for c in cpus[1:])
        else:
            self.wrk_cpus = self.srv_cpus = None
        self.wrk = shutil.which("wrk")
        self.lua = os.path.join(self.s, "tests/bench/webhook.lua")

    def note(self, msg):
        log(msg)
        self.notes.append(msg)

    def record(self, obj):
        obj.setdefault("loadavg_1m", round(os.getloadavg()[0], 2))
        obj.setdefault("time", time.strftime("%H:%M:%S", time.gmtime()))
        self.results.write(json.dumps(obj, sort_keys=True) + "\n")
        self.results.flush()

    # --- the request file

    def requests_file(self):
        path = os.path.join(self.tmp, "requests.txt")
        how = None
        if os.access(self.sandbox, os.X_OK):
            r = subprocess.run(
                [self.sandbox, "inbound", "--load", str(self.nreq), "--out",
                 path, "--url", PUBLIC_URL, "--token", TOKEN, "--from", FROM,
                 "--to", TO, "--body-template", "Order Number %d"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
            if r.returncode == 0 and os.path.getsize(path) > 0:
                how = "twilio-sandbox inbound --load"
            else:
                log("twilio-sandbox inbound --load unavailable (%s): using "
                    "webhook_requests.py" % r.stderr.decode(
                        errors="replace").strip()[-200:])
        gen = os.path.join(self.s, "tests/bench/webhook_requests.py")
        py = PY if os.access(PY, os.X_OK) else sys.executable
        if not how:
            subprocess.run([py, gen, "--load", str(self.nreq), "--out", path,
                            "--url", PUBLIC_URL, "--token", TOKEN,
                            "--from", FROM, "--to", TO], check=True,
                           timeout=600)
            how = "tests/bench/webhook_requests.py"
        # the cross-check: every line with hmac, a sample with python3-twilio
        r = subprocess.run([py, gen, "--verify", path, "--url", PUBLIC_URL,
                            "--token", TOKEN, "--check", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=600)
        if r.returncode:
            raise RuntimeError("the request file does not verify: %s"
                               % r.stderr.decode(errors="replace"))
        with open(path) as f:
            self.first = f.readline().rstrip("\n").split("\t", 1)
        self.req_path = path
        self.req_how = how
        log("%d requests from %s, verified" % (self.nreq, how))

    # --- contenders

    def node_modules(self):
        node = shutil.which("node")
        if not node:
            self.note("node not found: express peer skipped")
            return None
        cache = os.path.join(os.environ.get("BENCH_NPM_CACHE",
                                            os.path.expanduser(
                                                "~/.cache/"
                                                "twilio-connector-bench")),
                             "webhook")
        want = {p.rsplit("@", 1)[0]: p.rsplit("@", 1)[1] for p in NPM_PINS}

        def have():
            for name, ver in want.items():
                try:
                    with open(os.path.join(cache, "node_modules", name,
                                           "package.json")) as f:
                        if json.load(f).get("version") != ver:
                            return False
                except (OSError, ValueError):
                    return False
            return True

        if not have() and shutil.which("npm"):
            log("installing %s into %s" % (" ".join(NPM_PINS), cache))
            os.makedirs(cache, exist_ok=True)
            subprocess.call(["npm", "install", "--no-audit", "--no-fund",
                             "--prefix", cache] + NPM_PINS,
                            stdout=subprocess.DEVNULL, timeout=600)
        if not have():
            self.note("npm %s not installed in %s: express peer skipped"
                      % (" ".join(NPM_PINS), cache))
            return None
        self.node_version = subprocess.run(
            [node, "--version"], stdout=subprocess.PIPE,
            text=True).stdout.strip()
        return node, cache

    def connector_config(self, ttl_ms, port=0):
        path = os.path.join(self.tmp, "connector.%d.%d.conf" % (ttl_ms, port))
        with open(path, "w") as f:
            f.write("\n".join([
                "TWILIO_ACCOUNT=" + ACCOUNT,
                "TWILIO_TOKEN=" + TOKEN,
                # never called: no action runs; a loopback address anyway
                "TWILIO_BASE_URL=http://127.0.0.1:9",
                "TWILIO_WEBHOOK_LISTEN=127.0.0.1:%d" % port,
                "TWILIO_WEBHOOK_PATH=" + PATH,
                "TWILIO_WEBHOOK_PUBLIC_URL=" + PUBLIC_URL,
                "TWILIO_INBOUND_DEDUPE_TTL_MS=%d" % ttl_ms,
            ]) + "\n")
        return path

    def connector(self, ttl_ms, mode):
        """connector-serve: `connector-host serve` with one trigger whose
        action is send_sms with dryRun (serve requires an action: the event
        is enqueued by publish and a worker renders and validates the SMS
        without sending it); connector-listen: `connector-host listen`, which
        prints every event inside publish (stdout to /dev/null)."""
        if not (os.access(self.host, os.X_OK) and os.path.exists(
                self.plugin)):
            self.note("connector-host or twilio.so not built: connector "
                      "skipped")
            return None
        port_file = os.path.join(self.tmp, "connector-%s.port" % mode)
        params = {"pattern": PATTERN, "echo": ECHO, "echoError": ECHO_ERROR}
        if mode == "host":
            if not os.access(self.whost, os.X_OK):
                self.note("tests/bench/webhook-host not built (make "
                          "check_PROGRAMS): connector skipped")
                return None
            cfg = self.connector_config(ttl_ms)
            argv = [self.whost, self.plugin, "--config", cfg,
                    "--params", json.dumps(params), "--port-file",
                    port_file]
            return Contender("connector", argv, self.env, self.srv_cpus,
                             self.tmp, port_file)
        if mode == "listen":
            # listen has no --port-file, and names the port only in an info
            # line, while info would also log a line per message: so the
            # port is one the kernel just gave out (bound to port 0 and
            # released), written where the contender reads it. A race with
            # another process taking it is possible and shows as a failed
            # start, never as a wrong figure.
            cfg = self.connector_config(ttl_ms, free_port())
            argv = [self.host, "listen", self.plugin, "SMS_RECEIVED",
                    "--config", cfg, "--params", json.dumps(params),
                    "--log-level", "warn"]
            return Contender("connector-listen", argv, self.env,
                             self.srv_cpus, self.tmp, port_file,
                             port_from_config=cfg)
        cfg = self.connector_config(ttl_ms)
        trig = os.path.join(self.tmp, "triggers.json")
        with open(trig, "w") as f:
            json.dump({"triggers": [{
                "name": "order-number", "event": "SMS_RECEIVED",
                "params": params, "action": "send_sms",
                "inputs": {"smsFrom": TO, "smsTo": ["+15005550011"],
                           "smsBody": "New order ${matchGroups.orderNumber}"
                                      " from ${from}",
                           "dryRun": True}}]}, f)
        argv = [self.host, "serve", self.plugin, "--config", cfg,
                "--triggers", trig, "--port-file", port_file,
                "--log-level", "warn"]
        return Contender("connector-serve", argv, self.env, self.srv_cpus,
                         self.tmp, port_file)

    def contenders(self, ttl_ms):
        only = [x for x in os.environ.get("BENCH_WEBHOOK_ONLY", "").split(",")
                if x]
        out = []
        if not only or "connector" in only:
            c = self.connector(ttl_ms, "host")
            if c:
                out.append(c)
        if (not only and self.host_mode in ("both", "all")) or \
                "connector-serve" in only:
            c = self.connector(ttl_ms, "serve")
            if c:
                out.append(c)
        if (not only and self.host_mode == "all") or \
                "connector-listen" in only:
            c = self.connector(ttl_ms, "listen")
            if c:
                out.append(c)
        if not only or "express" in only:
            nm = self.node_modules()
            if nm:
                out.append(Contender(
                    "express",
                    [nm[0], os.path.join(self.s,
                                         "tests/bench/webhook_peer_express.js"),
                     "--port-file", os.path.join(self.tmp, "express.port"),
                     "--public-url", PUBLIC_URL, "--token", TOKEN,
                     "--path", PATH, "--module", nm[1]],
                    dict(self.env, NODE_ENV="production"), self.srv_cpus,
                    self.tmp, os.path.join(self.tmp, "express.port")))
        if not only or "flask" in only:
            ok = os.access(PY, os.X_OK) and subprocess.call(
                [PY, "-c", "import flask, gunicorn, twilio.request_validator"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
            if ok:
                out.append(Contender(
                    "flask",
                    [PY, os.path.join(self.s,
                                      "tests/bench/webhook_peer_flask.py"),
                     "--port-file", os.path.join(self.tmp, "flask.port"),
                     "--public-url", PUBLIC_URL, "--token", TOKEN,
                     "--path", PATH, "--workers", "2", "--threads", "4"],
                    self.env, self.srv_cpus, self.tmp,
                    os.path.join(self.tmp, "flask.port")))
            else:
                self.note("python3-flask, gunicorn or python3-twilio missing "
                          "(apt-get install python3-flask gunicorn "
                          "python3-twilio): flask peer skipped")
        return out

    def check(self, c):
        """A valid request gets the echo as TwiML; a tampered signature 403."""
        sig, body = self.first
        order = urllib.parse.parse_qs(body)["Body"][0].split(
            "Order Number ", 1)[1]
        st, ct, data = post(c.url, sig, body)
        text = data.decode("utf-8", "replace")
        if st != 200 or "text/xml" not in ct or \
                "<Message>Your reference number is %s</Message>" % order \
                not in text:
            raise RuntimeError("%s: a valid webhook got %d %s %r"
                               % (c.name, st, ct, text[:300]))
        bad = ("A" if sig[0] != "A" else "B") + sig[1:]
        st, _, data = post(c.url, bad, body)
        if st != 403:
            raise RuntimeError("%s: a bad signature got %d, not 403"
                               % (c.name, st))

    # --- wrk

    def wrk_run(self, c, conns, seconds, phase, rnd, delay_ms=0, extra=None):
        argv = [self.wrk, "-t1", "-c%d" % conns, "-d%ds" % seconds,
                "--latency", "--timeout", "10s", "-s", self.lua, c.url]
        if self.wrk_cpus:
            argv = ["taskset", "-c", self.wrk_cpus] + argv
        env = dict(self.env, REQUESTS_FILE=self.req_path, WRK_THREADS="1",
                   REQUESTS_START=str(c.sent % self.nreq))
        if delay_ms:
            env["WRK_DELAY_MS"] = str(delay_ms)
        cpu0 = c.cpu()
        r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           timeout=seconds + 120)
        cpu1 = c.cpu()
        m = re.search(r"^WRKJSON (.*)$", r.stdout, re.M)
        if r.returncode or not m:
            raise RuntimeError("wrk against %s failed: %s %s" % (
                c.name, r.stdout[-500:], r.stderr[-500:]))
        w = json.loads(m.group(1))
        c.sent += w["requests"]
        errors = sum(w["errors"].values())
        res = {"kind": "run", "round": rnd, "phase": phase,
               "contender": c.name, "connections": conns,
               "seconds": w["duration_us"] / 1e6, "requests": w["requests"],
               "errors": w["errors"],
               "req_per_s": round(w["requests"] / (w["duration_us"] / 1e6), 1),
               "p50_ms": w["latency_us"]["p50"] / 1000.0,
               "p99_ms": w["latency_us"]["p99"] / 1000.0,
               "max_ms": w["latency_us"]["max"] / 1000.0,
               "cpu_us_per_req": round((cpu1 - cpu0) * 1e6 /
                                       max(1, w["requests"]), 1),
               "rss_kib": c.rss()}
        res.update(extra or {})
        self.record(res)
        if errors:
            self.note("%s round %d %s c=%d: errors %s" % (
                c.name, rnd, phase, conns, w["errors"]))
        log("%-9s round %d %-6s c=%-2d %8.0f req/s p50 %.2f ms p99 %.2f ms"
            " (%s us CPU/req, load %.1f)" % (
                c.name, rnd, phase, conns, res["req_per_s"], res["p50_ms"],
                res["p99_ms"], res["cpu_us_per_req"], os.getloadavg()[0]))
        return res

    def dedupe_margin(self, c, res, ttl_ms):
        """Dedupe never short-circuits when one pass over the file takes
        longer than the TTL: a line comes back as a NEW message. Noted when
        it does not hold for a connector run."""
        if not c.name.startswith("connector") or res["req_per_s"] <= 0:
            return
        pass_ms = self.nreq / res["req_per_s"] * 1000.0
        if pass_ms <= ttl_ms:
            self.note("%s round %d %s: one pass over the file (%.0f ms) is "
                      "shorter than the dedupe TTL (%d ms): some requests "
                      "were duplicates; raise BENCH_WEBHOOK_REQUESTS"
                      % (c.name, res["round"], res["phase"], pass_ms,
                         ttl_ms))

    def throughput(self, ttl_ms):
        cs = self.contenders(ttl_ms)
        if not cs:
            raise RuntimeError("no contender can run")
        runs = []
        for c in cs:  # check each once, before anything is measured
            c.start()
            try:
                self.check(c)
            finally:
                c.stop()
        for rnd in range(1, self.reps + 1):
            order = cs[(rnd - 1) % len(cs):] + cs[:(rnd - 1) % len(cs)]
            try:
                for c in order:  # all started fresh, idle until driven
                    c.start()
                for c in order:
                    self.wrk_run(c, 32, self.warmup, "warmup", rnd)
                runs += self.interleaved(order, rnd, ttl_ms)
                for c in order:
                    r = self.wrk_run(c, 4, self.seconds, "c4", rnd)
                    self.dedupe_margin(c, r, ttl_ms)
                    runs.append(r)
            finally:
                for c in order:
                    c.stop()
                for c in order:
                    self.check_refused(c, rnd)
        return cs, runs

    def interleaved(self, order, rnd, ttl_ms):
        """The 32-connection point of a round, taken in SLICES slices of
        SECONDS / SLICES each, the contenders alternated slice by slice in
        ABBA order (A B C, C B A, A B C, ...): each contender's figure then
        spans the same stretch of the round as the others', so a drift of
        the shared machine's speed during the round (measured: the same
        binary's CPU per request moved by a quarter within minutes) falls
        on all of them alike, where whole points one after the other
        compared moments up to a minute apart. Each slice is one wrk run
        (its own connections); the round's point sums the slices:
        req/s = requests / seconds over all of them, CPU per request the
        same way, p50 and p99 the median of the slices'. Every slice is
        recorded (phase "c32-slice")."""
        got = {c.name: [] for c in order}
        per = max(1, int(round(self.seconds / float(self.slices))))
        for k in range(self.slices):
            for c in (order if k % 2 == 0 else order[::-1]):
                r = self.wrk_run(c, 32, per, "c32-slice", rnd,
                                 extra={"slice": k + 1})
                got[c.name].append(r)
        out = []
        for c in order:
            sl = got[c.name]
            n = sum(r["requests"] for r in sl)
            secs = sum(r["seconds"] for r in sl)
            cpu = sum(r["cpu_us_per_req"] * r["requests"] for r in sl)
            errors = {}
            for r in sl:
                for k, v in r["errors"].items():
                    errors[k] = errors.get(k, 0) + v
            res = {"kind": "run", "round": rnd, "phase": "c32",
                   "contender": c.name, "connections": 32,
                   "slices": len(sl), "seconds": round(secs, 3),
                   "requests": n, "errors": errors,
                   "req_per_s": round(n / secs, 1) if secs else 0.0,
                   "p50_ms": median([r["p50_ms"] for r in sl]),
                   "p99_ms": median([r["p99_ms"] for r in sl]),
                   "max_ms": max(r["max_ms"] for r in sl),
                   "cpu_us_per_req": round(cpu / max(1, n), 1),
                   "slice_req_per_s": [r["req_per_s"] for r in sl],
                   "rss_kib": c.rss()}
            self.record(res)
            log("%-9s round %d c32    %8.0f req/s over %d slices (%s)" % (
                c.name, rnd, res["req_per_s"], len(sl),
                ", ".join("%.0f" % x for x in res["slice_req_per_s"])))
            self.dedupe_margin(c, res, ttl_ms)
            out.append(res)
        return out

    def check_refused(self, c, rnd):
        """Events the connector's host refused (a full queue) did less work
        than the others (no result stored, echoError instead of the echo):
        counted from the host's stderr and noted, so that a figure that
        includes them is never quoted as the full path."""
        if not c.name.startswith("connector"):
            return
        try:
            with open(c.err_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return
        m = re.search(r"webhook_host: (\d+) events, (\d+) refused"
                      r"(?:, (\d+) waited)?", text)
        n = int(m.group(2)) if m else text.count('"msg":"event refused"')
        if m and m.group(3) is not None:
            log("%s round %d: %s of %s events waited for room in the "
                "host's queue" % (c.name, rnd, m.group(3), m.group(1)))
        if n:
            self.note("%s round %d: %d events refused by the host (queue "
                      "full): that round's figures include their cheaper "
                      "path" % (c.name, rnd, n))
        else:
            log("%s round %d: no event refused by the host" % (c.name, rnd))

    def rss_run(self, rate):
        """The connector alone: RSS after 200,000 and 1,000,000 webhooks."""
        # a fixed offered load about 60 % of the measured rate: 32
        # connections each waiting DELAY ms before a request offer at most
        # 32000 / DELAY req/s, so the store (rate x TTL entries) is the same
        # size at every point whatever the machine does meanwhile
        conns = 32
        delay = max(1, int(math.ceil(conns * 1000.0 / (0.6 * max(rate, 1.0)))))
        paced = conns * 1000.0 / delay
        # one pass over the file must take longer than the TTL, so that a
        # line comes back only after its claim expired (a NEW message again)
        pass_ms = self.nreq / paced * 1000.0
        ttl = int(max(TTL_MIN_MS, min(5000, pass_ms / 2)))
        c = self.connector(ttl, "host")
        if not c:
            return None
        if pass_ms / 2 < TTL_MIN_MS:
            self.note("RSS run: one pass over %d requests takes %.0f ms at "
                      "%.0f req/s, under 2x the minimum TTL: raise "
                      "BENCH_WEBHOOK_REQUESTS" % (self.nreq, pass_ms, paced))
        log("RSS run: %d connections, %d ms before each request (at most "
            "%.0f req/s; measured rate %.0f), TTL %d ms" % (
                conns, delay, paced, rate, ttl))
        c.start()
        points = []
        try:
            self.check(c)
            c.sent = 1
            total = 0
            # points ~50,000 webhooks apart at the paced rate: one lands
            # within 10 % of 200,000 (the first chunk of 100,000 at full
            # speed could miss it)
            chunk = max(1, int(50000 / paced))
            targets = [200000, 1000000]
            t0 = time.monotonic()
            while total < targets[-1] and time.monotonic() - t0 < 1800:
                w = self.wrk_run(c, conns, chunk, "rss", 0, delay)
                total += w["requests"]
                points.append({"webhooks": total, "rss_kib": c.rss(),
                               "req_per_s": w["req_per_s"]})
            self.record({"kind": "rss", "ttl_ms": ttl, "delay_ms": delay,
                         "points": points})
        finally:
            c.stop()
            self.check_refused(c, 0)
        # the point nearest each target (a chunk ends at 199,764 as well
        # as at 200,236: the first point past it could be 100,000 later)
        at = {}
        for t in targets:
            near = [p for p in points if abs(p["webhooks"] - t) <= t * 0.1]
            at[t] = min(near, key=lambda p: abs(p["webhooks"] - t)) \
                if near else None
        return {"ttl_ms": ttl, "delay_ms": delay, "points": points, "at": at}

    # --- summary

    def summarise(self, cs, runs, rss):
        names = [c.name for c in cs]
        rounds = sorted({r["round"] for r in runs})
        by = {(r["contender"], r["round"], r["phase"]): r for r in runs}
        L = []
        cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' "
                              "/proc/cpuinfo | cut -d: -f2"],
                             stdout=subprocess.PIPE, text=True).stdout.strip()
        L.append("Machine: %s, %d CPUs, %s; kernel %s. wrk %s." % (
            cpu, os.cpu_count(), "%d MiB" % (os.sysconf("SC_PAGE_SIZE") *
                                             os.sysconf("SC_PHYS_PAGES") //
                                             2**20),
            platform.release(), wrk_version()))
        L.append("Pinning: %s." % (
            "wrk (1 thread) on CPU %s, the contender on CPU %s (taskset)"
            % (self.wrk_cpus, self.srv_cpus) if self.wrk_cpus
            else "none (1 CPU)"))
        L.append("Requests: %d distinct pre-signed webhooks from %s; "
                 "%d rounds, contenders in rotated order, all started "
                 "fresh each round, %d s warm-up each, %d s per point (at "
                 "32 connections in %d slices alternated ABBA between the "
                 "contenders)." % (
                     self.nreq, self.req_how, self.reps, self.warmup,
                     self.seconds, self.slices))
        loads = [r.get("loadavg_1m") for r in runs]
        if loads:
            L.append("Load average (1 min) at the end of the runs: %.1f to "
                     "%.1f (median %.1f) on %d CPUs." % (
                         min(loads), max(loads), median(loads),
                         os.cpu_count()))
        L.append("")
        for phase, title in (("c32", "32 connections"),
                             ("c4", "4 connections")):
            L.append("#### %s: every run (req/s; p50 / p99 ms; CPU us/req)"
                     % title)
            L.append("")
            L.append("| round | " + " | ".join(names) + " |")
            L.append("|---" * (len(names) + 1) + "|")
            for rnd in rounds:
                cells = []
                for n in names:
                    r = by.get((n, rnd, phase))
                    cells.append("%.0f; %.2f / %.2f; %.0f" % (
                        r["req_per_s"], r["p50_ms"], r["p99_ms"],
                        r["cpu_us_per_req"]) if r else "-")
                L.append("| %d | %s |" % (rnd, " | ".join(cells)))
            cells = []
            for n in names:
                rs = [by[(n, x, phase)] for x in rounds
                      if (n, x, phase) in by]
                cells.append("**%.0f; %.2f / %.2f; %.0f**" % (
                    median([r["req_per_s"] for r in rs]),
                    median([r["p50_ms"] for r in rs]),
                    median([r["p99_ms"] for r in rs]),
                    median([r["cpu_us_per_req"] for r in rs])) if rs
                    else "-")
            L.append("| median | %s |" % " | ".join(cells))
            L.append("")
        targets = []
        peers = [n for n in names if not n.startswith("connector")]
        for cn in [n for n in names if n.startswith("connector")]:
            ratio_runs = []
            for rnd in rounds:
                cr = by.get((cn, rnd, "c32"))
                prs = [by[(n, rnd, "c32")] for n in peers
                       if (n, rnd, "c32") in by]
                if cr and prs:
                    best = max(prs, key=lambda r: r["req_per_s"])
                    ratio_runs.append((rnd, cr["req_per_s"] /
                                       best["req_per_s"], best["contender"]))
            if not ratio_runs:
                continue
            med = median([r[1] for r in ratio_runs])
            L.append("%s / faster peer at 32 connections, per round: "
                     % cn + ", ".join("%d: %.2fx (%s)" % r
                                      for r in ratio_runs) +
                     "; median %.2fx." % med)
            L.append("")
            if cn == "connector":
                targets.append((">= 5x the faster peer at 32 connections, "
                                "%s (median of the per-round ratios)" % cn,
                                "%.2fx" % med, med >= 5))
        if "connector" in names:
            p99 = median([by[("connector", x, "c4")]["p99_ms"]
                          for x in rounds if ("connector", x, "c4") in by])
            if p99 is not None:
                targets.append(("p99 <= 5 ms at 4 connections (median)",
                                "%.2f ms" % p99, p99 <= 5))
        if rss:
            a, b = rss["at"].get(200000), rss["at"].get(1000000)
            L.append("RSS run (connector alone, 32 connections, each "
                     "waiting %d ms before a request, "
                     "TWILIO_INBOUND_DEDUPE_TTL_MS=%d): " % (
                         rss["delay_ms"], rss["ttl_ms"]) +
                     ", ".join("%d: %d KiB (%.0f req/s)" % (
                         p["webhooks"], p["rss_kib"], p["req_per_s"])
                               for p in rss["points"]) + ".")
            L.append("")
            if a and b:
                growth = (b["rss_kib"] - a["rss_kib"]) / a["rss_kib"] * 100
                targets.append((
                    "RSS after 1,000,000 within 5 % of after 200,000",
                    "%d -> %d KiB (%+.1f %%; at %d and %d webhooks)" % (
                        a["rss_kib"], b["rss_kib"], growth, a["webhooks"],
                        b["webhooks"]), abs(growth) <= 5))
        if targets:
            L.append("| target | measured | met |")
            L.append("|---|---|---|")
            for t, m, ok in targets:
                L.append("| %s | %s | %s |" % (t, m, "yes" if ok else "no"))
            L.append("")
        for n in self.notes:
            L.append("Note: " + n)
        return "\n".join(L) + "\n"


def wrk_version():
    r = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    m = re.search(r"wrk (\S+)", r.stdout)
    return m.group(1) if m else "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--out", default="bench-results")
    a = ap.parse_args()
    b = Bench(a)
    if not b.wrk:
        log("wrk not found (apt-get install wrk)")
        return 1
    try:
        b.requests_file()
        ttl = TTL_MIN_MS
        cs, runs = b.throughput(ttl)
        rss = None
        if b.do_rss and any(c.name == "connector" for c in cs):
            rate = median([r["req_per_s"] for r in runs
                           if r["contender"] == "connector" and
                           r["phase"] == "c32"])
            rss = b.rss_run(rate or 10000)
        text = b.summarise(cs, runs, rss)
        with open(os.path.join(b.out, "summary.md"), "w") as f:
            f.write(text)
        print(text)
        log("results in %s" % b.out)
    finally:
        stop_all()
        b.results.close()
        shutil.rmtree(b.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        stop_all()
        sys.exit(1)
