#!/usr/bin/env python3
"""The locale-dependent default date formats, checked against FreeMarker.

A development check, not part of `make check` and not golden: the default
formats (${d}, ?string.short/medium/long/full, "short_medium"...) come from
the JDK's locale data, which changes between JDK versions (JDK 9 switched
to CLDR; JDK 20 put U+202F before "PM"). ftl-render follows JDK 17's CLDR
data (what Debian 12's FreeMarker 2.3.31 runs on), copied into
plugin/ftl/locale_data.c by tests/ftl/LocaleDump.java. Every locale the
engine knows is checked, in zones of its region, on dates around year
ends too; with the default styles each case also prints the week fields
(w W Y), which follow each locale's first day of the week and minimal
days. Run it on a machine with the oracle built (exits 1 on any
disagreement):

    python3 tests/ftl/date_styles.py --render _b/ftl-render \
        [--oracle-cp /usr/share/java/freemarker.jar:/tmp/ftl-oracle] \
        [--locales en_US,de_DE]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_diff  # noqa: E402

STYLES = ["short", "medium", "long", "full"]
DATES = ["2024-03-05T14:07:09Z", "2024-12-31T00:00:00Z", "2024-07-04T23:59:59Z",
         "1999-01-01T12:00:00Z", "2024-09-01T09:05:00Z",
         "2021-01-03T10:00:00Z", "2026-12-31T18:30:00Z"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Chicago",
         "America/Denver", "America/Los_Angeles", "Europe/London",
         "Europe/Athens", "Europe/Lisbon", "Europe/Paris", "Europe/Dublin",
         "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo",
         "Pacific/Auckland", "Africa/Johannesburg", "America/Toronto"]
LOCALES = ["en_US", "en", "en_GB", "en_AU", "en_CA", "en_IE", "en_IN",
           "en_NZ", "en_ZA", "de_DE", "de", "de_AT", "de_CH", "fr_FR",
           "es_ES", "it_IT", "nl_NL", "pt_BR"]
WEEK = "${d?string('w W Y YY F u D LLL LLLL EEE a G')}"


def cases(locales):
    out = []
    for loc in locales:
        for tz in ZONES:
            for d in DATES:
                parts = ["${d}", "${d?date}", "${d?time}", WEEK]
                for s in STYLES:
                    parts += ["${d?string.%s}" % s, "${d?date?string.%s}" % s,
                              "${d?time?string.%s}" % s]
                    for t in STYLES:
                        parts.append("${d?string.%s_%s}" % (s, t))
                out.append({"id": "s%d" % (len(out) + 1),
                            "template": " | ".join(parts),
                            "data": {"d": {"$datetime": d}},
                            "settings": {"locale": loc, "time_zone": tz}})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", required=True)
    ap.add_argument("--oracle-cp", default="/usr/share/java/freemarker.jar:/tmp/ftl-oracle")
    ap.add_argument("--locales", default=",".join(LOCALES))
    args = ap.parse_args()
    cs = cases(args.locales.split(","))
    fm = fuzz_diff.run(["java", "-cp", args.oracle_cp, "FtlOracle", "--batch", "-"], cs)
    me = fuzz_diff.run([args.render, "--batch", "-"], cs)
    bad = 0
    for c, a, b in zip(cs, fm, me):
        if not fuzz_diff.agree(a, b):
            bad += 1
            if bad <= int(os.environ.get("SHOW", "10")):
                print("DIFF", c["settings"], c["data"]["d"])
                print("  freemarker:", a.get("output", a.get("message"))[:400])
                print("  ftl-render:", b.get("output", b.get("message"))[:400])
    print("%d cases, %d disagree" % (len(cs), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
