#!/usr/bin/env python3
"""ftl_bench.py - `make bench-ftl`: the template engine against Apache
FreeMarker, measured so that the ratio means something
(docs/benchmarks-ftl.md "Method").

  ftl_bench.py --bin BUILD/tests/bench/ftl_bench --srcdir SRC [--asan yes|no]

For each template (sms, reminder) it runs the C engine (tests/bench/
ftl_bench) and FreeMarker (tests/bench/FtlBench.java) alternately, C J C J
..., BENCH_REPS times each (default 3), every process pinned to the same
core (FTL_BENCH_CPU, default 0) with taskset. FreeMarker warms up until five
consecutive one-second windows agree within 2 % (each window printed), then
both measure FTL_BENCH_SECONDS (default 3). Printed: every run, the median of
each engine, the ratio of medians (wall-clock and the rendering thread's CPU
time), whether the outputs are identical (they must be: a difference fails
the bench), and `uptime` before and after (a loaded machine makes the
figures worthless; the load average is printed to say so).

Exit status: 0, or 1 when a run fails, outputs differ or the C and Java
renders disagree. Java missing (javac, java or the jar): C figures only.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

TEMPLATES = ("sms", "reminder")
TARGET = 2.0


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        with open("/proc/loadavg", encoding="ascii") as f:
            return "loadavg " + f.read().strip()


def pinned(cpu, argv):
    if shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)] + argv
    print("bench-ftl: note: taskset not found, the runs are not pinned")
    return argv


def field(line, name):
    m = re.search(r"\b%s=([0-9.]+)" % name, line)
    return float(m.group(1)) if m else None


def run(argv, tag):
    p = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = p.stdout.splitlines()
    for ln in lines:
        print("  " + ln)
    if p.returncode != 0 or not lines:
        sys.stderr.write(p.stderr)
        print("bench-ftl: %s failed (exit %d)" % (tag, p.returncode))
        return None
    last = lines[-1]
    out = last.split(" output=", 1)[1] if " output=" in last else None
    return {"ns": field(last, "ns_per_render"),
            "cpu": field(last, "cpu_ns_per_render"),
            "stable": "warmup=unstable" not in last, "output": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--asan", default="no")
    a = ap.parse_args()
    reps = int(os.environ.get("BENCH_REPS", "3"))
    secs = os.environ.get("FTL_BENCH_SECONDS", "3")
    cpu = os.environ.get("FTL_BENCH_CPU", "0")
    windows = os.environ.get("FTL_BENCH_MAX_WINDOWS", "120")
    jar = os.environ.get("FREEMARKER_JAR", "/usr/share/java/freemarker.jar")
    if a.asan == "yes":
        print("bench-ftl: WARNING: this build has ASan/UBSan: the C figures "
              "are not the engine's; configure without --enable-asan")
    print("bench-ftl: before: " + uptime())
    print("bench-ftl: pinned to CPU %s, %d runs each, %s s measured, "
          "C and Java alternated" % (cpu, reps, secs))
    tmp = None
    java = None
    if shutil.which("javac") and shutil.which("java") and os.path.isfile(jar):
        tmp = tempfile.mkdtemp(prefix="ftlbench.")
        src = os.path.join(a.srcdir, "tests", "bench", "FtlBench.java")
        if subprocess.run(["javac", "-nowarn", "-cp", jar, "-d", tmp, src],
                          check=False).returncode != 0:
            print("bench-ftl: javac failed")
            return 1
        ver = subprocess.run(["java", "-version"], capture_output=True,
                             text=True, check=False).stderr.splitlines()
        print("bench-ftl: " + (ver[0] if ver else "java"))
        java = ["java", "-XX:+UseSerialGC", "-cp", jar + os.pathsep + tmp,
                "FtlBench"]
    else:
        print("bench-ftl: skipping FreeMarker (needs javac, java and %s)"
              % jar)
    bad = 0
    summary = []
    try:
        for t in TEMPLATES:
            res = {"c": [], "j": []}
            outs = set()
            for r in range(1, reps + 1):
                print("bench-ftl: %s run %d: C" % (t, r))
                c = run(pinned(cpu, [a.bin, "-t", t, "-s", secs]), "ftl_bench")
                if not c:
                    return 1
                res["c"].append(c)
                outs.add(c["output"])
                if java:
                    print("bench-ftl: %s run %d: FreeMarker" % (t, r))
                    j = run(pinned(cpu, java + ["-t", t, "-s", secs,
                                                "-w", windows]), "FtlBench")
                    if not j:
                        return 1
                    if not j["stable"]:
                        print("bench-ftl: WARNING: FreeMarker's windows never "
                              "agreed within 2 %: the machine is busy")
                    res["j"].append(j)
                    outs.add(j["output"])
            if len(outs) != 1:
                print("bench-ftl: ERROR: %s: the outputs differ:" % t)
                for o in sorted(outs, key=str):
                    print("  " + str(o))
                bad = 1
            else:
                print("bench-ftl: %s: all outputs identical" % t)
            line = {"t": t}
            for k in ("ns", "cpu"):
                line["c_" + k] = statistics.median(x[k] for x in res["c"])
                if res["j"]:
                    line["j_" + k] = statistics.median(x[k] for x in res["j"])
            summary.append((line, res))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print("bench-ftl: after: " + uptime())
    print("bench-ftl: results (ns per render; median of %d runs)" % reps)
    for line, res in summary:
        t = line["t"]
        print("  %-8s C    runs %s  median %.0f (cpu %.0f)" % (
            t, " ".join("%.0f" % x["ns"] for x in res["c"]),
            line["c_ns"], line["c_cpu"]))
        if "j_ns" in line:
            print("  %-8s Java runs %s  median %.0f (cpu %.0f)" % (
                t, " ".join("%.0f" % x["ns"] for x in res["j"]),
                line["j_ns"], line["j_cpu"]))
            if not all(x["stable"] for x in res["j"]):
                print("  %-8s INVALID: FreeMarker was not warmed up in every "
                      "run (the machine is busy): do not quote" % t)
            ratio = line["j_ns"] / line["c_ns"]
            cratio = line["j_cpu"] / line["c_cpu"]
            print("  %-8s ratio of medians: C is %.2fx as fast as FreeMarker "
                  "(CPU time: %.2fx; target >= %.1fx: %s)" % (
                      t, ratio, cratio, TARGET,
                      "met" if ratio >= TARGET else "NOT met"))
    return bad


if __name__ == "__main__":
    sys.exit(main())
