#!/bin/sh
# webhook_requests_test.sh - the SMS_RECEIVED benchmark's request file is
# what it claims: tests/bench/webhook_requests.py writes N lines
# SIGNATURE<TAB>BODY with distinct MessageSids whose signatures python3-twilio's
# RequestValidator accepts (and refuses for a tampered body, URL or token);
# --verify refuses a file with a wrong signature or a repeated MessageSid;
# and, when twilio-sandbox has its load mode, the sandbox's file passes the
# same checks (the two generators cross-check each other).
# A correctness test of benchmark input, not a benchmark: no timing.
# SKIP without a python3 that imports twilio.
set -u

: "${top_builddir:=.}" "${top_srcdir:=.}"
GEN=$top_srcdir/tests/bench/webhook_requests.py
SB=$top_builddir/tests/sandbox/twilio-sandbox
URL=https://hooks.example.com/twilio/sms?a=1
TOKEN=bench-test-token

PY=
for p in ${PYTHON3:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import twilio.request_validator' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || { echo "1..0 # SKIP no python3 with the twilio module"; exit 0; }

. "$top_srcdir/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/webhook_requests"

echo "1..11"
n=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

"$PY" "$GEN" --load 300 --out "$T/req" --url "$URL" --token "$TOKEN" \
	--body-template 'Order Number %d' --check 300 >"$T/out" 2>&1
ok $? "generates 300 requests, RequestValidator accepts them all"
[ "$(wc -l <"$T/req")" -eq 300 ]
ok $? "300 lines"
[ "$(awk -F '\t' 'NF != 2' "$T/req" | wc -l)" -eq 0 ]
ok $? "every line is SIGNATURE<TAB>BODY"

# the same check written here, with the library, field by field
cat >"$T/check.py" <<'PYEOF'
import sys, urllib.parse
from twilio.request_validator import RequestValidator
path, url, token = sys.argv[1:4]
v = RequestValidator(token)
sids, bodies, bad = set(), set(), 0
for line in open(path, encoding="utf-8"):
    sig, body = line.rstrip("\n").split("\t")
    f = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    sids.add(f["MessageSid"]); bodies.add(f["Body"])
    assert f["SmsSid"] == f["MessageSid"] == f["SmsMessageSid"]
    assert f["MessageSid"].startswith("SM") and len(f["MessageSid"]) == 34
    assert f["SmsStatus"] == "received" and f["ApiVersion"] == "2010-04-01"
    if not v.validate(url, f, sig): bad += 1
    if v.validate(url + "&b=2", f, sig): bad += 1        # tampered URL
    if v.validate(url, dict(f, To="+15005550007"), sig): bad += 1  # field
    if RequestValidator(token + "x").validate(url, f, sig): bad += 1
print(len(sids), len(bodies), bad)
PYEOF
set -- $("$PY" "$T/check.py" "$T/req" "$URL" "$TOKEN" 2>"$T/check.err")
[ "${1:-0}" -eq 300 ] && [ "${2:-0}" -eq 300 ]
ok $? "MessageSids and bodies distinct, Twilio's sid fields consistent"
[ "${3:-1}" -eq 0 ]
ok $? "valid as signed; a tampered URL, field or token refused"
grep -q 'Body=Order+Number+299' "$T/req"
ok $? "the body template is applied per line"

"$PY" "$GEN" --verify "$T/req" --url "$URL" --token "$TOKEN" >"$T/v" 2>&1
ok $? "--verify accepts the file"
# line 7's signature with its first character changed (Z, or Y when it was
# a Z: the MessageSids are random, so any character can come first)
sed -e '7{s/^Z/Y/;t' -e 's/^./Z/' -e '}' "$T/req" >"$T/bad"
[ "$(sed -n 7p "$T/req")" != "$(sed -n 7p "$T/bad")" ] ||
	echo "# the tampered line is unchanged"
"$PY" "$GEN" --verify "$T/bad" --url "$URL" --token "$TOKEN" >"$T/v" 2>&1
[ $? -eq 1 ] && grep -q 'line 7: signature' "$T/v"
ok $? "--verify refuses a wrong signature and names the line"
{ cat "$T/req"; sed -n 5p "$T/req"; } >"$T/dup"
"$PY" "$GEN" --verify "$T/dup" --url "$URL" --token "$TOKEN" >"$T/v" 2>&1
[ $? -eq 1 ] && grep -q 'line 301: MessageSid missing or repeated' "$T/v"
ok $? "--verify refuses a repeated MessageSid"
"$PY" "$GEN" --load 1 --out "$T/x" --url "$URL" --token "$TOKEN" \
	--body-template 'no placeholder' >"$T/v" 2>&1
[ $? -eq 2 ] && grep -q 'body-template' "$T/v"
ok $? "a template without %d is refused, naming the option"

# the sandbox's load mode, when it has one: the same checks
if [ -x "$SB" ] && "$SB" inbound --load 50 --out "$T/sb" --url "$URL" \
	--token "$TOKEN" --from +15005550010 --to +15005550006 \
	--body-template 'Order Number %d' >"$T/sb.out" 2>&1; then
	"$PY" "$GEN" --verify "$T/sb" --url "$URL" --token "$TOKEN" \
		--check 50 >"$T/v" 2>&1 && [ "$(wc -l <"$T/sb")" -eq 50 ]
	ok $? "twilio-sandbox inbound --load: 50 valid, distinct lines"
else
	n=$((n + 1))
	echo "ok $n # SKIP twilio-sandbox has no inbound --load"
fi
