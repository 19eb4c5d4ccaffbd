#!/bin/sh
# test_ftl_render.sh - the ftl-render CLI: single mode, --batch in the
# oracle's JSON-lines protocol, exit codes, --help, --version, --timeout.
R="$CONN_TEST_WRAP $top_builddir/ftl-render"
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/ftlr"
n=0
check() { # NAME CONDITION...
	n=$((n + 1)); name=$1; shift
	if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi
}
printf 'Hi ${name!"there"}, order ${n}' > "$T/t.ftl"
printf '{"n": 1234567}' > "$T/d.json"
$R "$T/t.ftl" "$T/d.json" > "$T/out" 2> "$T/err"; rc=$?
check "renders" test "$rc" = 0
check "output" test "$(cat "$T/out")" = "Hi there, order 1,234,567"
$R --locale de_DE "$T/t.ftl" "$T/d.json" > "$T/out"
check "--locale" test "$(cat "$T/out")" = "Hi there, order 1.234.567"
printf '${missing}' > "$T/bad.ftl"
$R "$T/bad.ftl" > "$T/out" 2> "$T/err"; rc=$?
check "runtime error exits 1" test "$rc" = 1
check "error names line and variable" grep -q 'line 1, column 3.*missing' "$T/err"
printf '<#if x>' > "$T/parse.ftl"
$R "$T/parse.ftl" > /dev/null 2>&1; rc=$?
check "parse error exits 2" test "$rc" = 2
$R --nope > /dev/null 2>&1; rc=$?
check "usage error exits 3" test "$rc" = 3
$R --help > "$T/help"; rc=$?
check "--help" test "$rc" = 0
check "--help describes --batch" grep -q -- '--batch' "$T/help"
V=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
$R --version > "$T/version"; rc=$?
check "--version exits 0" test "$rc" = 0
check "--version prints the package version ($V)" grep -qx "ftl-render (.*) $V" "$T/version"
check "--help lists --version" grep -q -- '--version' "$T/help"
# a template that only the deadline stops (linear work, a million times)
printf '%s' "<#assign s = 'a'><#list 1..15 as i><#assign s = s + s></#list><#list 1..999999 as i>\${s?keep_after_last('ab')}</#list>" > "$T/slow.ftl"
$R "$T/slow.ftl" > /dev/null 2> "$T/err"; rc=$?
check "too much work exits 4" test "$rc" = 4
check "... and says so" grep -q 'limit error.*too much work' "$T/err"
$R --timeout 1 "$T/slow.ftl" > /dev/null 2> "$T/err"; rc=$?
check "--timeout exits 4" test "$rc" = 4
check "... with a deadline error (1 ms comes long before the budget's end)" grep -q 'deadline error.*did not finish' "$T/err"
cat > "$T/cases.jsonl" <<'JSON'
{"id": "a", "template": "${x}", "data": {"x": 1.5}}
{"id": 2, "template": "${x}", "data": {"x": 1.5}, "settings": {"locale": "de_DE"}}

{"id": "c", "template": "${nope}"}
{"id": "d", "template": "<#if>"}
not json
JSON
$R --batch - < "$T/cases.jsonl" > "$T/res"; rc=$?
check "batch exits 0" test "$rc" = 0
check "batch: one line per case" test "$(wc -l < "$T/res")" = 5
check "batch ok line" grep -qx '{"id":"a","ok":true,"output":"1.5"}' "$T/res"
check "batch settings" grep -qx '{"id":2,"ok":true,"output":"1,5"}' "$T/res"
check "batch runtime error" grep -q '"id":"c","ok":false,"kind":"runtime".*"line":1,"column":3' "$T/res"
check "batch parse error" grep -q '"id":"d","ok":false,"kind":"parse"' "$T/res"
check "batch bad line" grep -q '"id":6,"ok":false,"kind":"input"' "$T/res"
echo "1..$n"
