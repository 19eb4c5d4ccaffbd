#!/usr/bin/env python3
"""Run FreeMarker's own template test suite through ftl-render (a development
check; the templates are read from a FreeMarker source checkout and are not
committed).

    git clone -b v2.3.31 https://github.com/apache/freemarker fm   # or a mirror
    python3 tests/ftl/freemarker_suite.py --render _b/ftl-render \\
        --suite fm/src/test/resources/freemarker/test/templatesuite \\
        [--oracle-cp /usr/share/java/freemarker.jar:/tmp/ftl-oracle] [-v]

The suite's templates get their data from Java models (TemplateTestCase);
this script gives each template an empty data model, the settings
testcases.xml names for it where the oracle accepts them, and keeps only
the templates for which the oracle, with that data, prints exactly the
suite's expected output: those are the in-scope templates whose data model
is writable as JSON. For each it reports whether ftl-render prints the same.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzz_diff  # noqa: E402


def settings_of(suite):
    """testcases.xml: <testCase name="x" [template="y.ftl"]><setting k="v"/>"""
    out = {}
    path = os.path.join(suite, "testcases.xml")
    if not os.path.exists(path):
        return out
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r'<testCase\s+name="([^"]+)"([^>]*?)(/>|>(.*?)</testCase>)',
                         text, re.S):
        name, attrs, body = m.group(1), m.group(2), m.group(4) or ""
        tm = re.search(r'template="([^"]+)"', attrs)
        em = re.search(r'expected="([^"]+)"', attrs)
        st = {}
        for s in re.finditer(r'<setting\s+(.*?)/>', body, re.S):
            for k, v in re.findall(r'(\w+)="([^"]*)"', s.group(1)):
                st[k] = v
        out[name] = (tm.group(1) if tm else name + ".ftl",
                     em.group(1) if em else name + ".txt", st)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--oracle-cp",
                    default="/usr/share/java/freemarker.jar:/tmp/ftl-oracle")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    tdir = os.path.join(args.suite, "templates")
    edir = os.path.join(args.suite, "expected")
    tcs = settings_of(args.suite)
    if not tcs:
        tcs = {f[:-4]: (f, f[:-4] + ".txt", {}) for f in os.listdir(tdir)
               if f.endswith(".ftl")}
    cases, meta = [], []
    for name, (tpl, exp, st) in sorted(tcs.items()):
        tp, ep = os.path.join(tdir, tpl), os.path.join(edir, exp)
        if not (os.path.exists(tp) and os.path.exists(ep)):
            continue
        try:
            src = open(tp, encoding="utf-8").read()
            want = open(ep, encoding="utf-8").read()
            # the expected files start with the license in /* */ (the
            # suite's TestUtil.removeTxtCopyrightComment drops it)
            if want.startswith("/*"):
                want = want[want.index("*/") + 2:].lstrip("\r\n")
        except UnicodeDecodeError:
            continue
        # the plain values TemplateTestCase puts in every data model
        c = {"id": name, "template": src,
             "data": {"message": "Hello, world!", "testName": name,
                      "iciIntValue": 2003031}}
        st = {k: v for k, v in st.items() if k in (
            "locale", "number_format", "boolean_format", "time_zone",
            "date_format", "time_format", "datetime_format")}
        if st:
            c["settings"] = st
        cases.append(c)
        meta.append(want)
    fm = fuzz_diff.run(["java", "-cp", args.oracle_cp, "FtlOracle", "--batch", "-"], cases)
    me = fuzz_diff.run([args.render, "--batch", "-"], cases)
    norm = lambda s: s.replace("\r\n", "\n").rstrip()
    inscope = agree = 0
    for c, want, a, b in zip(cases, meta, fm, me):
        if not (a["ok"] and norm(a["output"]) == norm(want)):
            if args.v:
                print("out of scope %-40s (the oracle with JSON data: %s)" %
                      (c["id"], "differs" if a["ok"] else a["kind"]))
            continue
        inscope += 1
        if b["ok"] and norm(b["output"]) == norm(want):
            agree += 1
            print("agree        %s" % c["id"])
        else:
            print("DISAGREE     %s: %s" % (c["id"], json.dumps(
                b.get("message") if not b["ok"] else "output differs")[:300]))
    print("templates: %d, in scope (the oracle reproduces the expected output "
          "with JSON data): %d, ftl-render agrees: %d" % (len(cases), inscope, agree))
    return 0 if agree == inscope else 1


if __name__ == "__main__":
    sys.exit(main())
