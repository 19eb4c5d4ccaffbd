#!/usr/bin/env python3
"""run_bench.py - `make bench`: the connector's throughput, CPU and memory
against the local Twilio sandbox, beside a raw libcurl baseline and
Twilio's official Python and Node.js helper libraries.

What it runs (every point REPS times, interleaved, the median reported):
  - throughput at 1, 16, 64 and 256 requests in flight, plain HTTP and TLS:
      raw-curl       tests/bench/raw-curl (the libcurl multi baseline)
      raw-curl-readfn  the same with the body sent through a read callback,
                     as DESIGN 5 prescribes: what that choice costs (the
                     connector sends the body with the headers, like raw-curl)
      connector-lib  connhost-bench: N recipients through libconnhost (no
                     CLI) in calls of 1,000 (the default TWILIO_MAX_RECIPIENTS),
                     enough calls in flight to keep K requests busy; timed
                     first invoke -> last completion
      connector-lib-one-call  the same as ONE call of N recipients
      connector-1    connector-host invoke --batch, ONE call with N recipients
                     (TWILIO_MAX_CONCURRENCY=K)
      connector-n    connector-host invoke --batch, N calls of one recipient,
                     K calls in flight (--concurrency K, TWILIO_MAX_CONCURRENCY=K)
      python-twilio  python3-twilio (Debian), a pool of K threads
      node-twilio    npm twilio, K promises in flight
    CPU per message: user+sys of the client process (wait4 rusage).
  - memory with 100,000 recipients waiting (a sandbox that answers slowly,
    TWILIO_MAX_CONCURRENCY=16): RSS growth per waiting recipient, against
    the same instance with 1,000 waiting;
  - RSS over a long run (a million messages, or as many as fit in
    --soak-seconds at the measured rate), sampled twice a second.

Writes to --out: results.jsonl (every run and every summary as one JSON
line), summary.md (the tables), throughput.dat and, through gnuplot,
the PNG given by --png (docs/throughput.png).

Never part of `make check`. Needs a plain (non-ASan) build for figures that
mean anything; python3-twilio and node/npm are optional (their peers are
skipped with a note). The npm package goes into a cache directory outside
the repository (BENCH_NPM_CACHE, default ~/.cache/twilio-connector-bench).
Every server it starts binds 127.0.0.1 port 0 and is stopped at the end;
every wait is bounded.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ACCOUNT = "AC00000000000000000000000000000000"
TOKEN = "sandbox-token"
FROM = "+15005550006"
BODY = "Your order 42 has shipped."
TEMPLATE = "Your order ${order} has shipped."
INFLIGHT = [1, 16, 64, 256]
PEER_INFLIGHT = [1, 4, 16, 64, 256]

children = []


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def kill_children():
    for p in children:
        if p.returncode is None:
            try:
                p.kill()
            except OSError:
                pass


def number(i):
    return "+1415%07d" % (i % 10000000)


# ---------------------------------------------------------------- processes

class Run:
    """One child process: wall time, rusage, exit status, RSS samples."""

    def __init__(self, cmd, env=None, stdin=None, stdout=None, timeout=600,
                 sample_rss=False, feeder=None):
        self.cmd = cmd
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdin=stdin or subprocess.DEVNULL,
                             stdout=stdout or subprocess.PIPE,
                             stderr=subprocess.PIPE)
        children.append(p)
        self.rss = []  # (seconds since start, KiB)
        result = {}

        def reap():
            _, status, ru = os.wait4(p.pid, 0)
            result["t"] = time.monotonic()
            result["status"] = status
            result["ru"] = ru

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        if feeder:
            threading.Thread(target=feeder, args=(p,), daemon=True).start()
        out = []
        if not stdout:
            threading.Thread(target=lambda: out.append(p.stdout.read()),
                             daemon=True).start()
        err = []
        threading.Thread(target=lambda: err.append(p.stderr.read()),
                         daemon=True).start()
        deadline = t0 + timeout
        while waiter.is_alive() and time.monotonic() < deadline:
            if sample_rss:
                kib = rss_kib(p.pid)
                if kib:
                    self.rss.append((time.monotonic() - t0, kib))
                waiter.join(0.5)
            else:
                waiter.join(min(1.0, max(0.0, deadline - time.monotonic())))
        self.timed_out = waiter.is_alive()
        if self.timed_out:
            p.kill()
            waiter.join(10)
        p.returncode = os.waitstatus_to_exitcode(result.get("status", 9))
        self.code = p.returncode
        self.wall = result.get("t", time.monotonic()) - t0
        ru = result.get("ru")
        self.cpu = (ru.ru_utime + ru.ru_stime) if ru else 0.0
        self.maxrss = ru.ru_maxrss if ru else 0
        for _ in range(100):
            if (stdout or out) and err:
                break
            time.sleep(0.05)
        self.stdout = out[0].decode("utf-8", "replace") if out else ""
        self.stderr = err[0].decode("utf-8", "replace") if err else ""


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sandbox:
    def __init__(self, exe, tmp, tls=None, faults=(), threads=None):
        self.tmp = tmp
        port_file = os.path.join(tmp, "sandbox.%d.port" % os.getpid())
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [exe, "--listen", "127.0.0.1", "--port", "0",
               "--port-file", port_file]
        if threads:
            cmd += ["--threads", str(threads)]
        if tls:
            cmd += ["--tls-cert", tls["cert"], "--tls-key", tls["key"]]
        for f in faults:
            cmd += ["--fault", f]
        self.err = open(os.path.join(tmp, "sandbox.err"), "ab")
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        children.append(self.p)
        port = None
        for _ in range(200):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    txt = f.read().strip()
                if txt.isdigit():
                    port = int(txt)
                    break
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        if not port:
            self.stop()
            raise RuntimeError("twilio-sandbox did not start (see %s)"
                               % self.err.name)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self.err.close()


# ------------------------------------------------------------------ clients

class Bench:
    def __init__(self, a):
        self.a = a
        self.b = os.path.abspath(a.builddir)
        self.s = os.path.abspath(a.srcdir)
        self.out = os.path.abspath(a.out)
        os.makedirs(self.out, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="bench.", dir=self.out)
        self.results = open(os.path.join(self.out, "results.jsonl"), "w")
        self.sandbox = os.path.join(self.b, "tests/sandbox/twilio-sandbox")
        self.host = os.path.join(self.b, "host-api/connector-host")
        self.plugin = os.path.join(self.b, "plugin/.libs/twilio.so")
        self.raw = os.path.join(self.b, "tests/bench/raw-curl")
        self.driver = os.path.join(self.b, "tests/bench/connhost-bench")
        self.notes = []
        self.loads = []
        self.env = dict(os.environ)
        for v in ("TWILIO_EDGE", "TWILIO_REGION", "http_proxy",
                  "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            self.env.pop(v, None)
        self.env["CONNHOST_COPY_DIR"] = self.tmp
        self.python = self.find_python()
        self.node, self.node_module = self.find_node()
        self.tls = None
        self.transport = "http"

    def record(self, obj):
        obj.setdefault("loadavg_1m", round(os.getloadavg()[0], 2))
        self.loads.append(obj["loadavg_1m"])
        self.results.write(json.dumps(obj, sort_keys=True) + "\n")
        self.results.flush()

    def note(self, msg):
        log(msg)
        self.notes.append(msg)

    def find_python(self):
        for py in ("/usr/bin/python3", os.environ.get("PYTHON3", ""),
                   shutil.which("python3") or ""):
            if py and os.access(py, os.X_OK) and subprocess.call(
                    [py, "-c", "import twilio.rest"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL) == 0:
                return py
        self.note("python3-twilio not found (apt-get install python3-twilio):"
                  " python peer skipped")
        return None

    def find_node(self):
        node = os.environ.get("NODE") or shutil.which("node")
        if not node:
            self.note("node not found: node peer skipped")
            return None, None
        cache = os.environ.get("BENCH_NPM_CACHE", os.path.expanduser(
            "~/.cache/twilio-connector-bench"))
        mod = os.path.join(cache, "node_modules", "twilio")
        if not os.path.isdir(mod) and shutil.which("npm"):
            log("installing npm twilio into %s" % cache)
            os.makedirs(cache, exist_ok=True)
            subprocess.call(["npm", "install", "--no-audit", "--no-fund",
                             "--prefix", cache, "twilio@6"],
                            stdout=subprocess.DEVNULL)
        if not os.path.isdir(mod):
            self.note("npm twilio not installed: node peer skipped")
            return None, None
        return node, mod

    def make_tls(self):
        d = os.path.join(self.tmp, "ca")
        os.makedirs(d, exist_ok=True)
        script = os.path.join(self.s, "tests/sandbox/make-test-ca.sh")
        r = subprocess.run(["sh", script, d], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        files = {"ca": os.path.join(d, "ca.pem"),
                 "cert": os.path.join(d, "server.pem"),
                 "key": os.path.join(d, "server.key")}
        if r.returncode or not all(os.path.exists(f)
                                   for f in files.values()):
            self.note("make-test-ca.sh failed (%s): TLS skipped"
                      % r.stderr.decode(errors="replace").strip()[-200:])
            return None
        return files

    # --- one run of each client; each returns a dict (msg_per_s, cpu...)

    def run_raw(self, url, k, n, upload="postfields"):
        cmd = [self.raw, "--url", url, "--messages", str(n),
               "--inflight", str(k), "--account", ACCOUNT, "--body", BODY,
               "--from", FROM, "--upload", upload]
        if url.startswith("https"):
            cmd += ["--cacert", self.tls["ca"]]
        env = dict(self.env, RAW_CURL_TOKEN=TOKEN)
        r = Run(cmd, env=env, timeout=300)
        ok = 0
        try:
            ok = json.loads(r.stdout.strip().splitlines()[-1])["ok"]
        except (ValueError, IndexError, KeyError):
            pass
        return self.finish("raw-curl" if upload == "postfields"
                           else "raw-curl-readfn", r, k, n, ok)

    def config(self, url, k, extra=None):
        path = os.path.join(self.tmp, "config.%d" % k)
        lines = ["TWILIO_ACCOUNT=" + ACCOUNT, "TWILIO_TOKEN=" + TOKEN,
                 "TWILIO_BASE_URL=" + url,
                 "TWILIO_MAX_CONCURRENCY=%d" % k,
                 "TWILIO_MAX_RECIPIENTS=100000",
                 "TWILIO_QUEUE_CAPACITY=100000"]
        if url.startswith("https"):
            lines.append("TWILIO_CA_BUNDLE=" + self.tls["ca"])
        for key, val in (extra or {}).items():
            lines.append("%s=%s" % (key, val))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def host_cmd(self, cfg, concurrency):
        return [self.host, "invoke", self.plugin, "send_sms", "--config", cfg,
                "--batch", "-", "--concurrency", str(concurrency),
                "--deadline-ms", "900000", "--log-level", "error"]

    def run_connector(self, url, k, n, shape):
        cfg = self.config(url, k)
        batch = os.path.join(self.tmp, "batch.%s.%d" % (shape, n))
        if not os.path.exists(batch):
            with open(batch, "w") as f:
                if shape == "one-call":
                    f.write(json.dumps({
                        "inputs": {"smsFrom": FROM, "smsBody": TEMPLATE,
                                   "smsTo": [number(i) for i in range(n)]},
                        "vars": {"order": 42}}) + "\n")
                else:
                    for i in range(n):
                        f.write(json.dumps({
                            "inputs": {"smsFrom": FROM, "smsBody": TEMPLATE,
                                       "smsTo": [number(i)]},
                            "vars": {"order": 42}}) + "\n")
        calls = 1 if shape == "one-call" else k
        out = open(os.path.join(self.tmp, "host.out"), "wb")
        with open(batch, "rb") as stdin:
            r = Run(self.host_cmd(cfg, calls), env=self.env, stdin=stdin,
                    stdout=out, timeout=600)
        out.close()
        ok, errors = count_outputs(out.name)
        if errors:
            self.note("connector %s K=%d: %d errors (first: %s)"
                      % (shape, k, errors[0], errors[1][:300]))
        return self.finish("connector-" + shape, r, k, n, ok)

    def run_connector_lib(self, url, k, n, per_call=1000):
        """The connector without the CLI: connhost-bench sends N recipients
        through libconnhost in calls of PER_CALL (1,000: the default
        TWILIO_MAX_RECIPIENTS), with enough calls in flight to keep K
        requests busy; PER_CALL=N is ONE call of N. Timed from the first
        invoke to the last completion, CPU over the same span (plugin load
        excluded)."""
        cfg = self.config(url, k)
        per_call = min(per_call, n)
        calls = 1 if per_call == n else max(2, k // per_call + 2)
        r = Run([self.driver, self.plugin, "--config", cfg, "--mode", "soak",
                 "--messages", str(n), "--per-call", str(per_call),
                 "--calls-in-flight", str(calls), "--sample-ms", "1000"],
                env=self.env, timeout=600)
        try:
            own = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            own = {"ok": 0}
        name = "connector-lib-one-call" if per_call == n else "connector-lib"
        res = self.finish(name, r, k, n, own.get("ok", 0))
        if own.get("seconds"):
            res["seconds"] = own["seconds"]
            res["msg_per_s"] = own["msg_per_s"]
            res["cpu_s"] = own["cpu_s"]
            res["cpu_us_per_msg"] = round(own["cpu_s"] * 1e6 / own["ok"], 1) \
                if own["ok"] else None
        return res

    def run_python(self, url, k, n):
        cmd = [self.python, os.path.join(self.s, "tests/bench/peer_python.py"),
               "--url", url, "--messages", str(n), "--inflight", str(k),
               "--account", ACCOUNT, "--body", BODY, "--from", FROM]
        if url.startswith("https"):
            cmd += ["--cacert", self.tls["ca"]]
        return self.run_peer("python-twilio", cmd, dict(self.env), k, n)

    def run_node(self, url, k, n):
        cmd = [self.node, os.path.join(self.s, "tests/bench/peer_node.js"),
               "--url", url, "--messages", str(n), "--inflight", str(k),
               "--account", ACCOUNT, "--body", BODY, "--from", FROM,
               "--module", self.node_module]
        env = dict(self.env)
        if url.startswith("https"):
            env["TWILIO_CA_BUNDLE"] = self.tls["ca"]
        return self.run_peer("node-twilio", cmd, env, k, n)

    def run_peer(self, name, cmd, env, k, n):
        env["RAW_CURL_TOKEN"] = TOKEN
        r = Run(cmd, env=env, timeout=300)
        try:
            own = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            own = {"ok": 0, "seconds": r.wall}
        res = self.finish(name, r, k, n, own.get("ok", 0))
        # The libraries' import time is not held against them: their
        # throughput is timed inside the process, around the send loop.
        if own.get("seconds"):
            res["seconds"] = own["seconds"]
            res["msg_per_s"] = round(res["ok"] / own["seconds"], 1)
        return res

    def finish(self, client, r, k, n, ok):
        res = {"client": client, "inflight": k, "messages": n, "ok": ok,
               "exit": r.code, "seconds": round(r.wall, 4),
               "msg_per_s": round(ok / r.wall, 1) if r.wall > 0 else 0,
               "cpu_s": round(r.cpu, 4),
               "cpu_us_per_msg": round(r.cpu * 1e6 / ok, 1) if ok else None,
               "max_rss_kib": r.maxrss}
        if r.timed_out or r.code or ok != n:
            self.note("%s %s K=%d: exit %s, %d of %d ok%s; stderr: %s"
                      % (client, self.transport, k, r.code, ok, n,
                         " (timed out)" if r.timed_out else "",
                         r.stderr.strip()[-300:]))
        return res

    # ------------------------------------------------------------ the runs

    def throughput(self):
        a = self.a
        transports = ["http"] + (["tls"] if self.tls else [])
        # Size the runs from a short calibration: about --run-seconds each.
        sb = Sandbox(self.sandbox, self.tmp, threads=a.sandbox_threads)
        cal = self.run_raw(sb.url, 16, 2000)
        sb.stop()
        rate = max(cal["msg_per_s"], 500)
        n = int(min(max(rate * a.run_seconds, 2000), 100000)) // 1000 * 1000
        n_py = max(500, min(n, 1000 if a.quick else 2500))
        n_node = max(500, min(n, 1000 if a.quick else 3000))
        log("calibration: raw-curl %.0f msg/s at K=16; N=%d (python %d, "
            "node %d)" % (rate, n, n_py, n_node))
        self.sizes = {"connector": n, "raw": n, "python": n_py, "node": n_node}
        runs = []
        for rep in range(a.reps):
            for t in transports:
                self.transport = t
                sb = Sandbox(self.sandbox, self.tmp,
                             tls=self.tls if t == "tls" else None,
                             threads=a.sandbox_threads)
                try:
                    for k in INFLIGHT:
                        mine = [self.run_raw,
                                lambda u, kk, nn: self.run_raw(
                                    u, kk, nn, "readfn")]
                        if self.connector:
                            mine += [self.run_connector_lib,
                                lambda u, kk, nn: self.run_connector_lib(
                                    u, kk, nn, nn),
                                lambda u, kk, nn: self.run_connector(
                                    u, kk, nn, "one-call"),
                                lambda u, kk, nn: self.run_connector(
                                    u, kk, nn, "many-calls")]
                        for fn in mine:
                            res = fn(sb.url, k, n)
                            res.update(transport=t, rep=rep,
                                       bench="throughput")
                            self.record(res)
                            runs.append(res)
                            log("%-24s %-4s K=%-3d %8.0f msg/s %6.1f us/msg"
                                % (res["client"], t, k, res["msg_per_s"],
                                   res["cpu_us_per_msg"] or 0))
                        for fn, ks, cnt, on in (
                                (self.run_python, PEER_INFLIGHT, n_py,
                                 self.python),
                                (self.run_node, PEER_INFLIGHT, n_node,
                                 self.node)):
                            if not on or k not in ks:
                                continue
                            res = fn(sb.url, k, cnt)
                            res.update(transport=t, rep=rep,
                                       bench="throughput")
                            self.record(res)
                            runs.append(res)
                            log("%-24s %-4s K=%-3d %8.0f msg/s" % (
                                res["client"], t, k, res["msg_per_s"]))
                    # the peers' extra point (K=4)
                    for fn, on in ((self.run_python, self.python),
                                   (self.run_node, self.node)):
                        for k in PEER_INFLIGHT:
                            if not on or k in INFLIGHT:
                                continue
                            cnt = n_py if fn == self.run_python else n_node
                            res = fn(sb.url, k, cnt)
                            res.update(transport=t, rep=rep,
                                       bench="throughput")
                            self.record(res)
                            runs.append(res)
                            log("%-24s %-4s K=%-3d %8.0f msg/s" % (
                                res["client"], t, k, res["msg_per_s"]))
                finally:
                    sb.stop()
        return runs

    def waiting_memory(self):
        """RSS per waiting recipient: one call of 100,000 recipients (and
        one of 1,000) queued behind a sandbox that holds every answer for
        two minutes, TWILIO_MAX_CONCURRENCY=16; measured by connhost-bench
        (connector-host --batch lines hold at most 1 MiB)."""
        a = self.a
        out = {}
        big = 10000 if a.quick else 100000
        for count in (1000, big):
            sb = Sandbox(self.sandbox, self.tmp,
                         faults=["latency:ms=120000"],
                         threads=a.sandbox_threads)
            try:
                cfg = self.config(sb.url, 16, {
                    "TWILIO_REQUEST_TIMEOUT_MS": "600000"})
                r = Run([self.driver, self.plugin, "--config", cfg,
                         "--mode", "waiting", "--messages", str(count),
                         "--hold-ms", "20000"], env=self.env, timeout=120)
            finally:
                sb.stop()
            try:
                out[count] = json.loads(r.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                self.note("waiting memory with %d recipients failed: exit "
                          "%s, %s" % (count, r.code, r.stderr.strip()[-300:]))
                return None
            if out[count].get("completed_early"):
                self.note("waiting memory: the call with %d recipients "
                          "completed before the measurement" % count)
        span = (big - 1000)
        res = {"bench": "waiting-memory", "recipients_small": 1000,
               "recipients_big": big, "max_concurrency": 16,
               "target_bytes": 2048, "small": out[1000], "big": out[big],
               "bytes_per_waiting_recipient": round(
                   (out[big]["rss_kib_waiting"] -
                    out[1000]["rss_kib_waiting"]) * 1024.0 / span, 1),
               "bytes_per_waiting_recipient_trimmed": round(
                   (out[big]["rss_kib_waiting_trimmed"] -
                    out[1000]["rss_kib_waiting_trimmed"]) * 1024.0 / span,
                   1),
               "bytes_per_recipient_vs_idle": round(
                   (out[big]["rss_kib_waiting"] - out[big]["rss_kib_idle"])
                   * 1024.0 / big, 1)}
        self.record(res)
        log("waiting memory: %.0f bytes per waiting recipient"
            % res["bytes_per_waiting_recipient"])
        return res

    def soak_run(self, total, per_call, quiet=False):
        sb = Sandbox(self.sandbox, self.tmp, threads=self.a.sandbox_threads)
        try:
            cfg = self.config(sb.url, 64)
            r = Run([self.driver, self.plugin, "--config", cfg, "--mode",
                     "soak", "--messages", str(total), "--per-call",
                     str(per_call), "--calls-in-flight", "4",
                     "--sample-ms", "500"], env=self.env,
                    timeout=self.a.soak_seconds * 4 + 120)
        finally:
            sb.stop()
        try:
            own = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.note("long run of %d failed: exit %s, %s" % (
                total, r.code, r.stderr.strip()[-300:]))
            return None
        own["_run"] = r
        return own

    def soak(self, rate):
        """RSS sampled over a long run: up to a million messages in calls of
        1,000 recipients, 4 calls and 64 requests in flight, generated on
        the fly by connhost-bench."""
        a = self.a
        per_call = 1000
        cal = self.soak_run(20000, per_call, quiet=True)
        if cal and cal.get("msg_per_s"):
            rate = cal["msg_per_s"]
        fit = int(rate * a.soak_seconds) // per_call * per_call
        total = max(per_call * 10, min(1000000, fit))
        log("long run: %d messages (driver at %.0f msg/s)" % (total, rate))
        own = self.soak_run(total, per_call)
        if not own:
            return None
        r = own.pop("_run")
        rss = [(t, k) for t, k in own.pop("samples")]
        res = dict(own, bench="soak", max_concurrency=64,
                   cpu_us_per_msg=round(own["cpu_s"] * 1e6 / own["ok"], 1)
                   if own["ok"] else None, exit=r.code)
        if len(rss) >= 10:
            def med(part):
                return statistics.median(k for _, k in part)
            n = len(rss)
            w = max(1, n // 20)
            res["rss_kib_at_10pct"] = med(rss[n // 10: n // 10 + w])
            res["rss_kib_at_50pct"] = med(rss[n // 2: n // 2 + w])
            res["rss_kib_at_end"] = med(rss[n - w:])
            res["rss_kib_max"] = max(k for _, k in rss)
            res["rss_slope_kib_per_min_2nd_half"] = round(
                slope(rss[n // 2:]) * 60, 1)
            res["rss_samples"] = [[round(t, 1), k]
                                  for t, k in rss[::max(1, n // 60)]]
        if own["failed"] or own["ok"] != total:
            self.note("soak: %d of %d ok, %d failed" % (
                own["ok"], total, own["failed"]))
        self.record(res)
        log("soak: %d messages in %.0f s, RSS %s -> %s KiB" % (
            own["ok"], own["seconds"], res.get("rss_kib_at_10pct"),
            res.get("rss_kib_at_end")))
        return res


def slope(points):
    if len(points) < 2:
        return 0.0
    mx = statistics.mean(t for t, _ in points)
    my = statistics.mean(k for _, k in points)
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (k - my) for t, k in points) / den if den else 0.0


def count_outputs(path):
    """Count recipients with a sid in connector-host's batch output; return
    (ok, (error_count, first_error_text) or None)."""
    ok = 0
    bad = 0
    first = ""
    with open(path, "rb") as f:
        for line in f:
            ok += line.count(b'"sid":"SM') + line.count(b'"sid": "SM')
            if b'"twilioError":null' not in line and \
                    b'"twilioError": null' not in line:
                bad += 1
                first = first or line.decode(errors="replace")
    return ok, ((bad, first) if bad else None)


# ------------------------------------------------------------------ summary

def median_of(runs, client, transport, k, key="msg_per_s"):
    v = [r[key] for r in runs if r["client"] == client and
         r["transport"] == transport and r["inflight"] == k and
         r.get(key) is not None]
    return statistics.median(v) if v else None


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    curl = subprocess.run(["curl", "--version"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout.decode(
                              errors="replace").splitlines()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_mib": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "curl": curl[0] if curl else "",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def summarise(bench, runs, mem, soak, m):
    a = bench.a
    lines = []
    w = lines.append
    clients = ["connector-lib", "connector-lib-one-call", "connector-one-call",
               "connector-many-calls", "raw-curl", "raw-curl-readfn",
               "python-twilio", "node-twilio"]
    transports = sorted({r["transport"] for r in runs},
                        key=lambda t: t != "http")
    w("Machine: %s, %d cores, %d MiB; kernel %s; %s." % (
        m["cpu"], m["cores"], m["mem_mib"], m["kernel"], m["curl"]))
    w("Run: %s; %d repetitions per point (median); messages per run: "
      "connector and raw-curl %d, python %d, node %d; sandbox threads %s." % (
          m["date"], a.reps, bench.sizes["connector"],
          bench.sizes["python"], bench.sizes["node"],
          a.sandbox_threads or "default"))
    if bench.loads:
        w("Load average (1 min) while measuring: %.1f to %.1f (median %.1f) "
          "on %d cores: other work shared the machine." % (
              min(bench.loads), max(bench.loads),
              statistics.median(bench.loads), m["cores"]))
    w("")
    for t in transports:
        w("### Throughput over %s (messages/s, median)" % t.upper())
        w("")
        w("| in flight | " + " | ".join(clients) +
          " | lib/raw | lib1/raw | cli/raw | lib/raw-readfn "
          "| CPU/msg lib (us) | CPU/msg lib1 (us) | CPU/msg cli (us) "
          "| CPU/msg raw (us) | CPU lib/raw | CPU lib1/raw | CPU cli/raw |")
        w("|" + "---|" * (len(clients) + 12))
        ks = sorted({r["inflight"] for r in runs if r["transport"] == t})
        for k in ks:
            row = [str(k)]
            for c in clients:
                v = median_of(runs, c, t, k)
                row.append("%.0f" % v if v is not None else "-")
            lib = median_of(runs, "connector-lib", t, k)
            lib1 = median_of(runs, "connector-lib-one-call", t, k)
            conn = median_of(runs, "connector-one-call", t, k)
            raw = median_of(runs, "raw-curl", t, k)
            rrf = median_of(runs, "raw-curl-readfn", t, k)
            row.append("%.2f" % (lib / raw) if lib and raw else "-")
            row.append("%.2f" % (lib1 / raw) if lib1 and raw else "-")
            row.append("%.2f" % (conn / raw) if conn and raw else "-")
            row.append("%.2f" % (lib / rrf) if lib and rrf else "-")
            cl = median_of(runs, "connector-lib", t, k, "cpu_us_per_msg")
            c1 = median_of(runs, "connector-lib-one-call", t, k,
                           "cpu_us_per_msg")
            cc = median_of(runs, "connector-one-call", t, k, "cpu_us_per_msg")
            cr = median_of(runs, "raw-curl", t, k, "cpu_us_per_msg")
            row.append("%.1f" % cl if cl else "-")
            row.append("%.1f" % c1 if c1 else "-")
            row.append("%.1f" % cc if cc else "-")
            row.append("%.1f" % cr if cr else "-")
            row.append("%.2f" % (cl / cr) if cl and cr else "-")
            row.append("%.2f" % (c1 / cr) if c1 and cr else "-")
            row.append("%.2f" % (cc / cr) if cc and cr else "-")
            w("| " + " | ".join(row) + " |")
        w("")
    # targets
    targets = []
    for t in transports:
        best = {}
        for c in clients:
            vals = [(median_of(runs, c, t, k), k) for k in
                    sorted({r["inflight"] for r in runs
                            if r["client"] == c and r["transport"] == t})]
            vals = [v for v in vals if v[0] is not None]
            if vals:
                best[c] = max(vals)
        conn = max([best[c] for c in ("connector-lib",
                                      "connector-lib-one-call",
                                      "connector-one-call",
                                      "connector-many-calls") if c in best]
                   or [(0, 0)])
        cli = max([best[c] for c in ("connector-one-call",
                                     "connector-many-calls") if c in best]
                  or [(0, 0)])
        peers = [best[c] for c in ("python-twilio", "node-twilio")
                 if c in best]
        tgt = {"bench": "targets", "transport": t,
               "best": {c: {"msg_per_s": v, "inflight": k}
                        for c, (v, k) in best.items()}}
        if peers and conn[0]:
            fp = max(peers)
            tgt["vs_faster_library"] = round(conn[0] / fp[0], 2)
            tgt["cli_vs_faster_library"] = round(cli[0] / fp[0], 2)
        k_raw = best.get("raw-curl", (0, 0))
        if k_raw[0]:
            tgt["vs_raw_best"] = round(conn[0] / k_raw[0], 3)
        for variant, client in (("lib", "connector-lib"),
                                ("lib1", "connector-lib-one-call"),
                                ("cli", "connector-one-call")):
            per_k = {}
            for k in INFLIGHT:
                c1 = median_of(runs, client, t, k)
                r1 = median_of(runs, "raw-curl", t, k)
                cc = median_of(runs, client, t, k, "cpu_us_per_msg")
                cr = median_of(runs, "raw-curl", t, k, "cpu_us_per_msg")
                if c1 and r1:
                    per_k[k] = {"throughput_ratio": round(c1 / r1, 3),
                                "cpu_ratio": round(cc / cr, 2) if cc and cr
                                else None}
            tgt["per_inflight_" + variant] = per_k
        targets.append(tgt)
        bench.record(tgt)
    w("### Targets (issue 4)")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")
    for tgt in targets:
        t = tgt["transport"].upper()
        if "vs_faster_library" in tgt:
            v, vc = tgt["vs_faster_library"], tgt["cli_vs_faster_library"]
            w("| %s: >= 5x the faster helper library (best vs best) | %.2fx "
              "(connector-host CLI: %.2fx) | %s |" % (
                  t, v, vc, "yes" if v >= 5 else "no"))
        lib, lib1, cli = (tgt["per_inflight_lib"], tgt["per_inflight_lib1"],
                          tgt["per_inflight_cli"])

        def pct(d, k, key):
            v = d.get(k, {}).get(key)
            return "%.0f%%" % (v * 100) if v else "-"

        def times(d, k, key):
            v = d.get(k, {}).get(key)
            return "%.2fx" % v if v else "-"
        for k in sorted(set(lib) | set(cli)):
            v = lib.get(k, {}).get("throughput_ratio")
            w("| %s K=%d: >= 80%% of raw libcurl | %s (one call: %s; CLI: "
              "%s) | %s |" % (t, k, pct(lib, k, "throughput_ratio"),
                              pct(lib1, k, "throughput_ratio"),
                              pct(cli, k, "throughput_ratio"),
                              "yes" if v and v >= 0.8 else "no"))
        for k in sorted(set(lib) | set(cli)):
            v = lib.get(k, {}).get("cpu_ratio")
            w("| %s K=%d: CPU/msg <= 1.3x raw libcurl | %s (one call: %s; "
              "CLI: %s) | %s |" % (t, k, times(lib, k, "cpu_ratio"),
                                   times(lib1, k, "cpu_ratio"),
                                   times(cli, k, "cpu_ratio"),
                                   "yes" if v and v <= 1.3 else "no"))
    if mem:
        v = mem["bytes_per_waiting_recipient"]
        w("| <= 2 KiB per waiting recipient (%d vs %d waiting) | %.0f B | %s |"
          % (mem["recipients_big"], mem["recipients_small"], v,
             "yes" if v <= 2048 else "no"))
    if soak and "rss_kib_at_end" in soak:
        grow = soak["rss_kib_at_end"] - soak["rss_kib_at_10pct"]
        flat = grow <= max(2048, soak["rss_kib_at_10pct"] * 0.05)
        w("| RSS flat over %d messages (10%% -> end) | %d -> %d KiB (%+d KiB;"
          " 2nd-half slope %+.0f KiB/min) | %s |" % (
              soak["ok"], soak["rss_kib_at_10pct"], soak["rss_kib_at_end"],
              grow, soak["rss_slope_kib_per_min_2nd_half"],
              "yes" if flat else "no"))
    w("")
    if mem:
        b, sm = mem["big"], mem["small"]
        w("Waiting memory (connhost-bench, TWILIO_MAX_CONCURRENCY=16, sandbox "
          "latency 120 s): RSS %d KiB idle -> %d KiB with %d recipients "
          "waiting (%d KiB after malloc_trim); %d KiB with %d waiting. Per "
          "waiting recipient: %.0f B (difference of the two runs), %.0f B "
          "after malloc_trim, %.0f B against the idle instance." % (
              b["rss_kib_idle"], b["rss_kib_waiting"], mem["recipients_big"],
              b["rss_kib_waiting_trimmed"], sm["rss_kib_waiting"],
              mem["recipients_small"], mem["bytes_per_waiting_recipient"],
              mem["bytes_per_waiting_recipient_trimmed"],
              mem["bytes_per_recipient_vs_idle"]))
    if soak:
        w("Long run (connhost-bench): %d messages in calls of %d, %d calls "
          "and 64 requests in flight: %d ok in %.0f s (%.0f msg/s, %s us "
          "CPU/msg); RSS KiB at 10%%/50%%/end/max: %s/%s/%s/%s." % (
              soak["messages"], soak["per_call"], soak["calls_in_flight"],
              soak["ok"], soak["seconds"], soak["msg_per_s"],
              soak["cpu_us_per_msg"], soak.get("rss_kib_at_10pct"),
              soak.get("rss_kib_at_50pct"), soak.get("rss_kib_at_end"),
              soak.get("rss_kib_max")))
    if bench.notes:
        w("")
        w("Notes from the run:")
        for n in bench.notes:
            w("- " + n)
    return "\n".join(lines) + "\n"


def plot(bench, runs, png):
    dat = os.path.join(bench.out, "throughput.dat")
    clients = ["connector-lib", "raw-curl", "python-twilio",
               "node-twilio", "raw-curl-readfn", "connector-one-call"]
    with open(dat, "w") as f:
        f.write("# inflight " + " ".join("%s_%s" % (c, t) for t in
                                         ("http", "tls") for c in clients)
                + "\n")
        ks = sorted({r["inflight"] for r in runs})
        for k in ks:
            row = [str(k)]
            for t in ("http", "tls"):
                for c in clients:
                    v = median_of(runs, c, t, k)
                    row.append("%.1f" % v if v is not None else "NaN")
            f.write(" ".join(row) + "\n")
    gp = shutil.which("gnuplot")
    if not gp:
        bench.note("gnuplot not found (apt-get install -y gnuplot-nox): "
                   "no PNG")
        return
    script = os.path.join(bench.s, "tests/bench/throughput.gp")
    r = subprocess.run([gp, "-e", "datafile='%s'; outfile='%s'" % (dat, png),
                        script], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode:
        bench.note("gnuplot failed: " + r.stderr.decode(errors="replace"))
    else:
        log("wrote " + png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=".")
    ap.add_argument("--out", default="bench-results")
    ap.add_argument("--png", default=None)
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get("BENCH_REPS", "3")))
    ap.add_argument("--run-seconds", type=float,
                    default=float(os.environ.get("BENCH_RUN_SECONDS", "2")))
    ap.add_argument("--soak-seconds", type=float,
                    default=float(os.environ.get("BENCH_SOAK_SECONDS",
                                                 "240")))
    ap.add_argument("--sandbox-threads", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    default=bool(os.environ.get("BENCH_QUICK")))
    ap.add_argument("--only", default="throughput,memory,soak")
    a = ap.parse_args()
    if a.quick:
        a.reps = min(a.reps, 1)
        a.run_seconds = min(a.run_seconds, 0.5)
        a.soak_seconds = min(a.soak_seconds, 20)
    bench = Bench(a)
    for exe in (bench.sandbox, bench.raw, bench.driver):
        if not os.access(exe, os.X_OK):
            log("%s not built (run make first)" % exe)
            return 2
    bench.connector = os.access(bench.host, os.X_OK) and \
        os.path.exists(bench.plugin)
    if not bench.connector:
        bench.note("connector-host or plugin/.libs/twilio.so not built: "
                   "only the baseline and the peers were measured")
    try:
        with open(os.path.join(bench.b, "Makefile")) as f:
            if re.search(r"^asan_enabled = yes", f.read(), re.M):
                bench.note("this build has --enable-asan: the figures are "
                           "those of an instrumented build")
    except OSError:
        pass
    m = machine()
    bench.record(dict(m, bench="machine"))
    only = set(a.only.split(","))
    try:
        bench.tls = bench.make_tls()
        runs = bench.throughput() if "throughput" in only else []
        if not runs:
            bench.sizes = {"connector": 0, "raw": 0, "python": 0, "node": 0}
        mem = soak = None
        if bench.connector and "memory" in only:
            mem = bench.waiting_memory()
        if bench.connector and "soak" in only:
            soak = bench.soak(median_of(runs, "connector-one-call", "http",
                                        64) or 5000)
        text = summarise(bench, runs, mem, soak, m)
        with open(os.path.join(bench.out, "summary.md"), "w") as f:
            f.write(text)
        print(text)
        if runs:
            plot(bench, runs, a.png or os.path.join(bench.out,
                                                    "throughput.png"))
    finally:
        kill_children()
        bench.results.close()
        shutil.rmtree(bench.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        kill_children()
        sys.exit(1)
