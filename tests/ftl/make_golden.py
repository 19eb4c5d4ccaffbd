#!/usr/bin/env python3
"""Regenerate the golden cases from Apache FreeMarker (development tool).

    python3 tests/ftl/make_golden.py --render _build/ftl-render \
        [--oracle-cp /usr/share/java/freemarker.jar:/tmp/ftl-oracle] [--fuzz 400]

Reads tests/ftl/golden.src.txt (one case a line: TEMPLATE<TAB>DATA-JSON,
"\\n" in the template stands for a line break) and adds --fuzz random cases
from fuzz_diff.py (fixed seed), runs the oracle on all of them and writes
  tests/ftl/golden.cases.jsonl      the cases (oracle batch protocol)
  tests/ftl/golden.expected.jsonl   FreeMarker's results, line by line
Cases where ftl-render disagrees are left out and printed: each one must be
a documented difference (docs/templates.md) or a bug to fix.
"""
import argparse
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzz_diff  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", required=True)
    ap.add_argument("--oracle-cp", default="/usr/share/java/freemarker.jar:/tmp/ftl-oracle")
    ap.add_argument("--fuzz", type=int, default=400)
    args = ap.parse_args()
    cases = []
    seen = set()
    with open(os.path.join(HERE, "golden.src.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            t, d = (line.split("\t", 1) + ["{}"])[:2]
            t = t.replace("\\n", "\n")
            key = (t, d)
            if key in seen:
                continue
            seen.add(key)
            cases.append({"template": t, "data": json.loads(d)})
    # the same templates once more with the de_DE locale setting
    for c in list(cases[:120]):
        if "setting" not in c["template"]:
            cases.append({"template": c["template"], "data": c["data"],
                          "settings": {"locale": "de_DE"}})
    r = random.Random(20261128)
    g = fuzz_diff.Gen(r)
    for _ in range(args.fuzz):
        cases.append({"template": g.block(), "data": fuzz_diff.gen_data(r)})
    for i, c in enumerate(cases):
        c["id"] = "g%d" % (i + 1)
        cases[i] = {"id": c["id"], **{k: v for k, v in c.items() if k != "id"}}
    fm = fuzz_diff.run(["java", "-cp", args.oracle_cp, "FtlOracle", "--batch", "-"], cases)
    me = fuzz_diff.run([args.render, "--batch", "-"], cases)
    keep_c, keep_e, bad = [], [], 0
    for c, a, b in zip(cases, fm, me):
        if fuzz_diff.agree(a, b):
            keep_c.append(c)
            keep_e.append(a)
        else:
            bad += 1
            print("LEFT OUT", json.dumps(c, ensure_ascii=False))
            print("   freemarker:", json.dumps(a)[:300])
            print("   ftl-render:", json.dumps(b)[:300])
    with open(os.path.join(HERE, "golden.cases.jsonl"), "w", encoding="utf-8") as f:
        for c in keep_c:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, "golden.expected.jsonl"), "w", encoding="utf-8") as f:
        for e in keep_e:
            e = {k: v for k, v in e.items() if k in ("id", "ok", "output", "kind", "line", "column", "message")}
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    kinds = {}
    for e in keep_e:
        k = "ok" if e["ok"] else e["kind"]
        kinds[k] = kinds.get(k, 0) + 1
    print("kept %d cases (%s), left out %d" % (len(keep_c), kinds, bad))


if __name__ == "__main__":
    main()
