#!/usr/bin/env python3
"""Differential fuzzing of ftl-render against Apache FreeMarker (ftl-oracle).

A development tool, not part of `make check`: it needs Java and the oracle.

    python3 tests/ftl/fuzz_diff.py --render _build/ftl-render -n 100000 \
        [--seed 1] [--oracle-cp /usr/share/java/freemarker.jar:/tmp/ftl-oracle] \
        [--save-cases FILE] [--show 20]

Generates random templates within the supported subset (docs/templates.md)
and random JSON data, runs both engines on the same JSON-lines batch and
reports every disagreement: outputs must be equal; for errors both must
fail with the same kind (FreeMarker's "timeout" counts as our "limit").
Cases hitting a documented difference are not generated (see KNOWN below).
"""
import argparse
import json
import random
import subprocess
import sys

# Documented differences (docs/templates.md) the generator avoids:
#  - characters outside the BMP under index/substring/truncate operations
#    (Java can split a surrogate pair, UTF-8 output cannot);
#  - doubles whose JDK 17 Double.toString is not the shortest form;
#  - integers beyond 64 bits in the data (json-c cannot hold them);
#  - include/method calls (parse errors here, runtime errors there);
#  - default date styles (JDK locale data; tests/ftl/date_styles.py), the
#    date pattern letters w W Y L, and date patterns applied to numbers;
#  - "?groups" of a ?matches result that did not match the whole text.

WORDS = ["name", "n", "d", "b", "s", "seq", "h", "z", "nul", "e", "neg",
         "big", "nums", "strs", "empty", "user"]
STRS = ["", "a", "Ann", "hello world", "Straße", "ÉTÉ été", "x<y>&\"'",
        "  padded  ", "a,b,c", "Ünïcödé", "1234", "3.5", "line1\nline2",
        "tab\there", "İstanbul", "ΣΑΣ", "ﬁne", "€ 5", "A-B_C.d"]


class Gen:
    def __init__(self, rnd):
        self.r = rnd
        self.loopvars = []

    def choice(self, xs):
        return self.r.choice(xs)

    def num_lit(self):
        r = self.r.random()
        if r < 0.5:
            return str(self.r.randint(0, 2000))
        if r < 0.8:
            return "%d.%s" % (self.r.randint(0, 99),
                              "".join(self.choice("0123456789")
                                      for _ in range(self.r.randint(1, 5))))
        return str(self.r.choice([0, 1, 10, 1000, 1000000, 1234567]))

    def str_lit(self):
        s = self.choice(STRS + ["x", "ab", "%", "a b"])
        out = []
        for ch in s:
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\t":
                out.append("\\t")
            elif ch == "$":
                out.append("\\$")
            elif ch == "{":
                out.append("\\{")
            else:
                out.append(ch)
        q = '"' + "".join(out) + '"'
        if self.r.random() < 0.1:
            q = '"pre ${' + self.var() + "!'?'} post\""
        return q

    def var(self):
        if self.loopvars and self.r.random() < 0.4:
            return self.choice(self.loopvars)
        v = self.choice(WORDS)
        r = self.r.random()
        if v == "h" and r < 0.6:
            return "h." + self.choice(["a", "b", "c", "missing", "x"])
        if v == "user" and r < 0.6:
            return "user." + self.choice(["name", "age", "tags", "addr"])
        if v in ("seq", "nums", "strs") and r < 0.3:
            return "%s[%d]" % (v, self.r.randint(0, 3))
        return v

    def str_expr(self, d):
        r = self.r.random()
        if r < 0.3:
            return self.str_lit()
        if r < 0.6:
            return self.var() + self.choice(["!", "!\"dflt\"", "!''", ""])
        if r < 0.8:
            lhs = self.str_expr(d + 1)
            if lhs.endswith("!"):
                lhs = "(" + lhs + ")"  # "x! + y" parses as x!(+y)
            return "(" + lhs + ' + ' + self.any_expr(d + 1) + ")"
        return self.var()

    def num_expr(self, d):
        r = self.r.random()
        if d > 3 or r < 0.35:
            return self.num_lit()
        if r < 0.6:
            return self.var() + self.choice(["", "!0", "!1.5"])
        if r < 0.85:
            return "(%s %s %s)" % (self.num_expr(d + 1),
                                   self.choice(["+", "-", "*", "/", "%"]),
                                   self.num_expr(d + 1))
        return "-" + self.num_expr(d + 1)

    def bool_expr(self, d):
        r = self.r.random()
        if d > 3 or r < 0.15:
            return self.choice(["true", "false", "b", "b!false"])
        if r < 0.35:
            return "%s %s %s" % (self.num_expr(d + 1),
                                 self.choice(["==", "!=", "<", "<=", "gt", "gte",
                                              "lt", "lte", ">", ">="]),
                                 self.num_expr(d + 1))
        if r < 0.5:
            return "%s %s %s" % (self.str_expr(d + 1), self.choice(["==", "!="]),
                                 self.str_expr(d + 1))
        if r < 0.65:
            return self.var() + "??"
        if r < 0.75:
            return "(" + self.var() + ")??"
        if r < 0.85:
            return "(%s %s %s)" % (self.bool_expr(d + 1), self.choice(["&&", "||"]),
                                   self.bool_expr(d + 1))
        if r < 0.92:
            return "!" + self.choice(["b", "(" + self.bool_expr(d + 1) + ")"])
        return self.any_expr(d + 1) + "?has_content"

    def builtin(self, d):
        b = self.choice([
            "c", "string", "upper_case", "lower_case", "cap_first", "uncap_first",
            "capitalize", "trim", "length", "has_content", "size", "first", "last",
            "round", "floor", "ceiling", "abs", "int", "html", "xml", "url",
            "js_string", "json_string", "reverse", "sort", "keys", "values",
            "is_string", "is_number", "number",
            "string('0.00')", "string('#,##0.#')", "string('0')", "string('yes','no')",
            "then('T','F')", "switch(1,'one',2,'two','other')", "join(', ')",
            "replace('a','X')", "contains('a')", "starts_with('A')", "ends_with('d')",
            "index_of('l')", "keep_before(' ')", "keep_after(' ')",
            "left_pad(6)", "right_pad(6,'.')", "truncate(8)", "substring(1)",
            "seq_contains(1)", "join('|', 'none')",
        ] + (self.NEW_BUILTINS if self.r.random() < 0.5 else []))
        return b

    # issue #10's built-ins, regular-expression flags and ?matches
    NEW_BUILTINS = [
        "split(',')", "split('[, ]+', 'r')", "word_list", "truncate_w(8)",
        "truncate_c(8)", "truncate(6, '..')", "lower_abc", "upper_abc",
        "chunk(2)", "chunk(2, 0)?size", "min", "max", "sequence",
        "seq_last_index_of(1)", "filter(x -> x?has_content)",
        "map(x -> x?string)", "take_while(x -> x?is_number)",
        "drop_while(x -> x?is_string)", "default('dflt')", "if_exists",
        "keep_after_last('a', 'i')", "keep_before('[ ,]', 'r')",
        "keep_after('E', 'i')", "keep_before_last('l', 'ri')",
        "keep_after('l', 'm')", "ensure_starts_with('+')",
        "ensure_starts_with('[a-z]', '+')", "ensure_starts_with('a', '+', 'i')",
        "ensure_ends_with('!')", "remove_beginning('A')", "remove_ending('c')",
        "matches('[a-z]+', 'i')?size", "matches('([a-z])([a-z])')?join('|')",
        "matches('.*')?c", "matches('[0-9]+')?first!'none'",
        "replace('[aeiou]', '_', 'ri')", "replace('a', '_', 'if')",
        "is_date", "is_macro", "long", "iso_utc",
    ]

    def date_expr(self):
        """Dates from the data (typed or ISO text) and their built-ins,
        with explicit patterns (default styles depend on JDK locale data:
        tests/ftl/date_styles.py checks those)."""
        base = self.choice([
            "dt", "dd", "tm", "iso?datetime.iso", "isod?date.iso",
            "dt?date", "dt?time", "(dt?long + 3600000)?number_to_datetime",
            "'2024-03-05 09:30'?datetime('yyyy-MM-dd HH:mm')", "unk",
            "iso?datetime('yyyy-MM-dd')", "nodate",
        ])
        return base + "?" + self.choice([
            "string('yyyy-MM-dd HH:mm')", "string('EEEE, d MMMM yyyy')",
            "string('h:mm a')", "string('EEE, dd.MM.yy HH:mm:ss.SSS Z')",
            "string(\"yyyy-MM-dd'T'HH:mm:ssXXX\")", "string('D F u k K G')",
            "string('zzz')", "iso_utc", "iso_local", "iso_utc_ms", "iso_local_nz",
            "iso_utc_m", "iso('Europe/Berlin')", "long", "is_datetime?c",
            "is_date_only?c", "is_time?c", "is_unknown_date_like?c",
            "date?string('yyyy-MM-dd')", "time?string('HH:mm')",
            "datetime_if_unknown?iso_utc", "string.iso",
            "has_content?c",
        ])

    def macro_block(self, d):
        """#macro / #function definitions and calls."""
        r = self.r.random()
        if r < 0.4:
            return ("<#macro m%d a b=%s><#local t = a>[${t}-${b}<#nested a>]"
                    "</#macro>%s" % (
                        d, self.choice(["2", "'x'", "a", "name!'?'"]),
                        self.choice(["<@m%d 1/>" % d, "<@m%d a='z' b=3/>" % d,
                                     "<@m%d %s; v>${v}</@m%d>" % (
                                         d, self.any_expr(2), d),
                                     "<@m%d/>" % d, "<@m%d 1 2 3/>" % d,
                                     "<@m%d c=1/>" % d])))
        if r < 0.75:
            return ("<#function f%d x y=1><#if x?is_number><#return x * y>"
                    "</#if><#return x + '!'></#function>${f%d(%s)%s}" % (
                        d, d, self.any_expr(2),
                        self.choice(["", "?string", "!'none'"])))
        if r < 0.9:
            return ("<#function fact n><#if n lte 1><#return 1></#if>"
                    "<#return n * fact(n - 1)></#function>${fact(%s)}" %
                    self.choice(["5", "(n!3) % 10", "0", "20", "(d!1) % 5"]))
        return self.choice([
            "<#global g = %s>${g!'-'}" % self.any_expr(2),
            "<#macro w><#nested 1, 2></#macro><@w ; a, b>${a + b}</@w>",
            "<#macro rest a others...>${a}<#list others as k, v>${k}=${v}</#list></#macro><@rest a=1 x=2/>",
            "<#return>", "<#nested>",
        ])

    def any_expr(self, d=0):
        r = self.r.random()
        if d > 3:
            return self.choice([self.num_lit(), self.str_lit(), self.var()])
        if r < 0.2:
            return self.num_expr(d + 1)
        if r < 0.4:
            return self.str_expr(d + 1)
        if r < 0.5:
            return self.bool_expr(d + 1)
        if r < 0.8:
            base = self.choice([self.var(), "(" + self.var() + ")", self.str_lit(),
                                self.num_lit(), "[1, 2, 3]", '["b", "a", "C"]',
                                "(1..4)", '{"a": 1, "b": 2}'])
            return base + "?" + self.builtin(d)
        if r < 0.9:
            return "%s?then(%s, %s)" % (self.bool_expr(d + 1), self.str_lit(),
                                        self.num_lit())
        return "(%s)%s" % (self.var(), self.choice(["!", "!'x'", "!0"]))

    def text(self):
        return self.choice(["Hi ", "x", " ", "\n", "  \n", ", ", "order ", "\t",
                            "[brackets]", "$", "#", "<b>", "{", "a\nb", ""])

    def block(self, d=0):
        parts = []
        for _ in range(self.r.randint(1, 4)):
            r = self.r.random()
            if r < 0.3 or d > 2:
                parts.append(self.text())
            elif r < 0.55:
                parts.append("${" + self.any_expr() + "}")
            elif r < 0.68:
                s = "<#if %s>%s" % (self.bool_expr(0), self.block(d + 1))
                if self.r.random() < 0.3:
                    s += "<#elseif %s>%s" % (self.bool_expr(0), self.block(d + 1))
                if self.r.random() < 0.5:
                    s += "<#else>" + self.block(d + 1)
                parts.append(s + "</#if>")
            elif r < 0.78:
                lv = self.choice(["i", "x", "item"])
                src = self.choice(["seq", "nums", "strs", "empty", "1..3", "[1, 2]",
                                   "user.tags", "h?keys", "(1..<4)", "z"])
                self.loopvars.append(lv)
                body = self.block(d + 1)
                extra = self.choice(["", "${%s?index}" % lv, "${%s?counter}" % lv,
                                     "<#sep>, ", "<#if %s?has_next>;</#if>" % lv,
                                     "<#if %s?is_first>^</#if>" % lv])
                self.loopvars.pop()
                s = "<#list %s as %s>%s%s" % (src, lv, body, extra)
                if self.r.random() < 0.3:
                    s += "<#else>none"
                parts.append(s + "</#list>")
            elif r < 0.85:
                parts.append("<#list h as k, v>${k}=${v!'-'} </#list>")
            elif r < 0.92:
                parts.append("<#assign %s = %s>" % (self.choice(["t", "name", "n"]),
                                                     self.any_expr()))
            elif r < 0.96:
                parts.append("<#switch %s><#case 1>one<#break><#case \"a\">A<#default>D</#switch>"
                             % self.choice(["n", "s", "1", "\"a\"", "n!1"]))
            elif r < 0.975:
                parts.append('<#setting locale="%s">' % self.choice(["de_DE", "en_US"]))
            elif r < 0.985:
                parts.append('<#setting time_zone="%s">' % self.choice(
                    ["Europe/Berlin", "America/New_York", "UTC", "GMT+05:30",
                     "Asia/Tokyo"]))
            else:
                parts.append(self.macro_block(d))
        if self.r.random() < 0.15:
            parts.append("${" + self.date_expr() + "}")
        return "".join(parts)


def rand_double(r):
    # values whose Double.toString is shortest on JDK 17 as well
    return float("%.*g" % (r.randint(1, 12), r.uniform(-1e6, 1e6)))


def gen_data(r):
    d = {}
    if r.random() < 0.8: d["name"] = r.choice(STRS)
    if r.random() < 0.8: d["n"] = r.choice([0, 1, 2, -7, 42, 1234567, r.randint(-10**6, 10**6)])
    if r.random() < 0.7: d["d"] = r.choice([0.5, 1.5, 2.5, 0.125, 1234.5, -0.75, 1e-4,
                                             0.1, 2.675, rand_double(r)])
    if r.random() < 0.7: d["b"] = r.random() < 0.5
    if r.random() < 0.7: d["s"] = r.choice(STRS)
    if r.random() < 0.7: d["seq"] = r.sample([1, 2, 3, "a", "b", 2.5], r.randint(0, 4))
    if r.random() < 0.7: d["nums"] = [r.randint(-5, 50) for _ in range(r.randint(0, 4))]
    if r.random() < 0.7: d["strs"] = [r.choice(STRS) for _ in range(r.randint(0, 4))]
    if r.random() < 0.7: d["h"] = {k: r.choice([1, "x", None, 2.5, True]) for k in
                                    r.sample(["a", "b", "c"], r.randint(0, 3))}
    if r.random() < 0.5: d["nul"] = None
    if r.random() < 0.3: d["empty"] = r.choice(["", [], {}])
    if r.random() < 0.3: d["big"] = r.choice([2**31, 2**40 + 1, -2**50])
    if r.random() < 0.5: d["user"] = {"name": r.choice(STRS), "age": r.randint(0, 99),
                                      "tags": r.sample(["x", "y", "z"], r.randint(0, 3))}
    # dates: the oracle's typed form and ISO text
    if r.random() < 0.5:
        y, mo, da = r.randint(1950, 2100), r.randint(1, 12), r.randint(1, 28)
        h, mi, se, ms = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59), r.choice([0, 0, 7, 250])
        iso = "%04d-%02d-%02dT%02d:%02d:%02d%s%s" % (
            y, mo, da, h, mi, se, ".%03d" % ms if ms else "",
            r.choice(["Z", "+02:00", "-05:00", "+05:30"]))
        d["dt"] = {"$datetime": iso}
        d["dd"] = {"$date": iso[:10]}
        d["tm"] = {"$time": iso[11:19]}
        d["iso"] = iso
        d["isod"] = iso[:10]
        if r.random() < 0.3:
            d["unk"] = {"$unknown": iso}
        if r.random() < 0.2:
            d["nodate"] = r.choice(["x", 5, "2024-02-30"])
    return d


def run(cmd, cases):
    inp = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases).encode()
    p = subprocess.run(cmd, input=inp, capture_output=True)
    res = []
    for raw in p.stdout.split(b"\n"):
        if not raw:
            continue
        try:
            res.append(json.loads(raw.decode("utf-8", "surrogatepass")))
        except UnicodeDecodeError:
            res.append({"ok": False, "kind": "invalid-utf8-output",
                        "raw": raw.decode("utf-8", "replace")})
    return res


def agree(a, b):
    if a["ok"] and b["ok"]:
        return a["output"] == b["output"]
    if not a["ok"] and not b["ok"]:
        ka, kb = a["kind"], b["kind"]
        return ka == kb or (ka in ("timeout", "limit") and kb == "limit")
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--oracle-cp",
                    default="/usr/share/java/freemarker.jar:/tmp/ftl-oracle")
    ap.add_argument("--save-cases")
    ap.add_argument("--show", type=int, default=20)
    ap.add_argument("--skip", type=int, default=0,
                    help="generate but do not run the first N cases")
    args = ap.parse_args()
    r = random.Random(args.seed)
    g = Gen(r)
    total = bad = 0
    kinds = {}
    saved = open(args.save_cases, "w") if args.save_cases else None
    while total < args.n:
        k = min(args.batch, args.n - total)
        cases = []
        for i in range(k):
            t = g.block()
            c = {"id": total + i, "template": t, "data": gen_data(r)}
            if r.random() < 0.1:
                c["settings"] = {"locale": "de_DE"}
            cases.append(c)
        if total < args.skip:
            total += k
            continue
        fm = run(["java", "-cp", args.oracle_cp, "FtlOracle", "--batch", "-"], cases)
        me = run([args.render, "--batch", "-"], cases)
        if len(fm) != len(cases) or len(me) != len(cases):
            print("engine output count mismatch", len(fm), len(me), file=sys.stderr)
            return 2
        for c, a, b in zip(cases, fm, me):
            key = "ok" if a["ok"] else a["kind"]
            kinds[key] = kinds.get(key, 0) + 1
            if saved:
                saved.write(json.dumps(c, ensure_ascii=False) + "\n")
            if not agree(a, b):
                bad += 1
                if bad <= args.show:
                    print("DISAGREE", json.dumps(c, ensure_ascii=False))
                    print("   freemarker:", json.dumps(a)[:400])
                    print("   ftl-render:", json.dumps(b, ensure_ascii=False)[:400])
        total += k
        print("%d cases, %d disagreements" % (total, bad), file=sys.stderr)
    print("cases: %d, disagreements: %d, FreeMarker outcomes: %s" %
          (total, bad, json.dumps(kinds, sort_keys=True)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
