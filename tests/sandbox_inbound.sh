#!/bin/sh
# sandbox_inbound.sh - twilio-sandbox's inbound side: `inbound` POSTs
# Twilio's full field set to a tiny receiver (python3 http.server, in this
# test) that checks X-Twilio-Signature with hmac as CONTRACT.md says (and
# with python3-twilio's RequestValidator when installed); the proxy case
# (--public-url), a wrong token, HMAC-SHA256 with --signing-key; the load
# file (N distinct lines, every signature valid); the IncomingPhoneNumbers
# resource (GET by PhoneNumber, POST SmsUrl/SmsMethod, errors).
# SKIP when there is no python3 (the receiver).
set -u

: "${top_builddir:=.}" "${CONN_TEST_WRAP:=}"
SB=$top_builddir/tests/sandbox/twilio-sandbox
# a python3 with Debian's python3-twilio if there is one (a pyenv or venv
# python3 earlier on PATH does not see it), else any python3
PY=
for p in ${PYTHON3:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import twilio.request_validator' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || for p in ${PYTHON3:-} python3 /usr/bin/python3; do
	command -v "$p" >/dev/null 2>&1 && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "1..0 # SKIP no python3 for the receiver"; exit 0; }

. "${top_srcdir:-.}/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/sandbox_inbound"
RPID= SPID=
at_exit 'kill_pid "$RPID"; kill_pid "$SPID"'

n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://orders.example.com/twilio/sms?tenant=42

# the receiver: validates each request against $PUBLIC, keeps it as JSON
cat > "$T/recv.py" <<'PYEOF'
import base64, hashlib, hmac, http.server, json, sys
from urllib.parse import parse_qsl
portfile, token, public, log, key = sys.argv[1:6]
try:
    from twilio.request_validator import RequestValidator
except ImportError:
    RequestValidator = None

def expected(k, url, pairs, algo):
    s = url + "".join(n + v for n, v in sorted(set(pairs)))
    return base64.b64encode(hmac.new(k.encode(), s.encode(), algo).digest()).decode()

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        pairs = parse_qsl(body, keep_blank_values=True)
        sig = self.headers.get("X-Twilio-Signature", "")
        settings = self.headers.get("X-Twilio-Webhooks-Signature-Settings")
        if settings:
            valid = sig == expected(key, public, pairs, hashlib.sha256)
            lib = None
        else:
            valid = sig == expected(token, public, pairs, hashlib.sha1)
            lib = (RequestValidator(token).validate(public, dict(pairs), sig)
                   if RequestValidator else None)
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "fields": pairs,
                                "valid": valid, "library": lib,
                                "settings": settings,
                                "headers": dict(self.headers)}) + "\n")
        out = (b'<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
               b'got it</Message></Response>')
        self.send_response(200 if valid else 403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass

s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.serve_forever()
PYEOF
"$PY" "$T/recv.py" "$T/rport" "$TOKEN" "$PUBLIC" "$T/log" shared-key-1 \
	2>"$T/recv.err" &
RPID=$!
wait_until 10 test -s "$T/rport" || { echo "Bail out! the receiver did not start"; exit 1; }
URL=http://127.0.0.1:$(cat "$T/rport")/twilio/sms?tenant=42

# the last request the receiver saw, one property (python expression on r)
last() {
	"$PY" -c 'import json,sys
r = json.loads(open(sys.argv[1]).readlines()[-1]); f = dict(r["fields"])
print(eval(sys.argv[2]))' "$T/log" "$1"
}

$CONN_TEST_WRAP "$SB" inbound --url "$URL" --public-url "$PUBLIC" \
	--token "$TOKEN" --from +15551234567 --to +15005550006 \
	--body 'Order Number 12345 & ü +1' >"$T/out" 2>"$T/err"
ok $? "proxy case: signed for --public-url, delivered to --url: exit 0"
head -n 1 "$T/out" | grep -q '^HTTP/1\.[01] 200' ; ok $? "prints the status line"
grep -q '<Message>got it</Message>' "$T/out"; ok $? "prints the answer body"
[ "$(last 'r["valid"]')" = True ]; ok $? "the receiver's hmac check: valid"
case $(last 'r["library"]') in True|None) r=0 ;; *) r=1 ;; esac
ok $r "python3-twilio's RequestValidator agrees ($(last 'r["library"]'))"
[ "$(last 'f["Body"]')" = 'Order Number 12345 & ü +1' ]; ok $? "Body decoded as sent"
[ "$(last 'f["MessageSid"] == f["SmsSid"] == f["SmsMessageSid"] and len(f["MessageSid"]) == 34 and f["MessageSid"][:2] == "SM"')" = True ]
ok $? "MessageSid = SmsSid = SmsMessageSid, SM + 32 hex"
[ "$(last 'sorted(f)')" = "['AccountSid', 'ApiVersion', 'Body', 'From', 'FromCity', 'FromCountry', 'FromState', 'FromZip', 'MessageSid', 'NumMedia', 'NumSegments', 'SmsMessageSid', 'SmsSid', 'SmsStatus', 'To', 'ToCity', 'ToCountry', 'ToState', 'ToZip']" ]
ok $? "Twilio's full field set"
[ "$(last '(f["SmsStatus"], f["ApiVersion"], f["NumMedia"], f["NumSegments"], f["From"], f["To"])')" = "('received', '2010-04-01', '0', '1', '+15551234567', '+15005550006')" ]
ok $? "SmsStatus, ApiVersion, NumMedia, NumSegments, From, To"
[ "$(last 'r["path"]')" = "/twilio/sms?tenant=42" ]; ok $? "the query string delivered as given"
[ "$(last 'r["headers"]["Content-Type"]')" = "application/x-www-form-urlencoded" ]; ok $? "form content type"

$CONN_TEST_WRAP "$SB" inbound --url "$URL" --token "$TOKEN" --from +15551234567 \
	--to +15005550006 --body hi >"$T/out" 2>"$T/err"
r=$?
[ $r = 1 ] && grep -q '^HTTP/1\.[01] 403' "$T/out"; ok $? "signed for the listener's URL, not the public one: 403, exit 1 ($r)"
$CONN_TEST_WRAP "$SB" inbound --url "$URL" --public-url "$PUBLIC" --token wrong \
	--from +15551234567 --to +15005550006 --body hi >"$T/out" 2>"$T/err"
[ $? = 1 ] && [ "$(last 'r["valid"]')" = False ]; ok $? "wrong token: 403, exit 1"
grep -q wrong "$T/out" "$T/err"; [ $? = 1 ]; ok $? "the token is not printed"

$CONN_TEST_WRAP "$SB" inbound --url "$URL" --public-url "$PUBLIC" --token "$TOKEN" \
	--from +15551234567 --to +15005550006 --body '' \
	--message-sid MM0123456789abcdef0123456789abcdef \
	--messaging-service-sid MG0123456789abcdef0123456789abcdef \
	--media https://example.com/a.png --media https://example.com/b \
	--opt-out STOP --header 'I-Twilio-Idempotency-Token: abc-1' >"$T/out" 2>"$T/err"
ok $? "media, opt-out, messaging service, header: exit 0"
[ "$(last '(f["MessageSid"], f["MessagingServiceSid"], f["NumMedia"], f["MediaUrl0"], f["MediaContentType0"], f["MediaUrl1"], f["MediaContentType1"], f["OptOutType"], f["Body"])')" = "('MM0123456789abcdef0123456789abcdef', 'MG0123456789abcdef0123456789abcdef', '2', 'https://example.com/a.png', 'image/png', 'https://example.com/b', 'image/jpeg', 'STOP', '')" ]
ok $? "... the fields as Twilio names them"
[ "$(last 'r["headers"].get("I-Twilio-Idempotency-Token")')" = abc-1 ]; ok $? "... the extra header sent"

$CONN_TEST_WRAP "$SB" inbound --url "$URL" --public-url "$PUBLIC" --token "$TOKEN" \
	--signing-key shared-key-1 --from +15551234567 --to +15005550006 \
	--body sha >"$T/out" 2>"$T/err"
ok $? "--signing-key: HMAC-SHA256 accepted by the receiver"
last 'r["settings"]' | grep -q 'algorithm=HMAC_SHA256'; ok $? "... with X-Twilio-Webhooks-Signature-Settings"

# the command line
"$SB" inbound --url "$URL" --from +15551234567 --to +15005550006 --body x \
	>/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q -- '--token is required' "$T/err"; ok $? "missing --token: exit 2, named"
"$SB" inbound --url https://x.example/ --token t --from +15551234567 \
	--to +15005550006 --body x >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q -- 'only http://' "$T/err"; ok $? "https --url: exit 2, says to use --public-url"
"$SB" inbound --load 3 --out "$T/x" --url "$URL" --token t --from +15551234567 \
	--to +15005550006 --body-template 'Order %s' >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q 'exactly one %d' "$T/err"; ok $? "--body-template with %s refused"
"$SB" inbound --url "$URL" --token t --from 5551234567 --to +15005550006 \
	--body x >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q -- '--from: not an E.164' "$T/err"; ok $? "--from without +: exit 2"
"$SB" inbound --help | grep -q -- '--body-template'; ok $? "inbound --help"

# the load file: N distinct pre-signed requests
N=200
$CONN_TEST_WRAP "$SB" inbound --load $N --out "$T/load" --url "$URL" \
	--public-url "$PUBLIC" --token "$TOKEN" --from +15551234567 \
	--to +15005550006 --body-template 'Order Number %d (100%% sure)' 2>"$T/err"
ok $? "--load $N: exit 0"
"$PY" - "$T/load" "$TOKEN" "$PUBLIC" $N >"$T/check" 2>&1 <<'PYEOF'
import base64, hashlib, hmac, sys
from urllib.parse import parse_qsl
path, token, url, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
lines = open(path).read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
assert len(lines) == n, "%d lines" % len(lines)
sids, bodies = set(), set()
for line in lines:
    sig, body = line.split("\t")
    assert "\n" not in body and "\r" not in body
    pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=True)
    s = url + "".join(k + v for k, v in sorted(set(pairs)))
    want = base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()
    assert sig == want, "bad signature"
    f = dict(pairs)
    sids.add(f["MessageSid"]); bodies.add(f["Body"])
assert len(sids) == n and len(bodies) == n, "not distinct"
assert "Order Number 1 (100% sure)" in bodies and "Order Number %d (100%% sure)" % n in bodies
try:
    from twilio.request_validator import RequestValidator
    v = RequestValidator(token)
    assert all(v.validate(url, dict(parse_qsl(l.split("\t")[1])), l.split("\t")[0]) for l in lines[:20])
    print("library too")
except ImportError:
    pass
print("fine")
PYEOF
grep -q fine "$T/check"; ok $? "load file: $N lines SIGNATURE<TAB>BODY, distinct MessageSid and Body, every signature valid ($(tr '\n' ' ' < "$T/check"))"

# IncomingPhoneNumbers
A=AC00000000000000000000000000000000
$CONN_TEST_WRAP "$SB" --port-file "$T/sport" \
	--number +15551112222:application=AP0123456789abcdef0123456789abcdef \
	>"$T/sout" 2>"$T/serr" &
SPID=$!
wait_until 10 test -s "$T/sport" || { echo "Bail out! the sandbox did not start"; exit 1; }
API=http://127.0.0.1:$(cat "$T/sport")/2010-04-01/Accounts/$A
if command -v curl >/dev/null 2>&1; then
	jget() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
	code=$(curl -s -o "$T/l" -w '%{http_code}' -u "$A:sandbox-token" -G \
		--data-urlencode PhoneNumber=+15005550006 "$API/IncomingPhoneNumbers.json")
	[ "$code" = 200 ] && [ "$(jget "$T/l" 'len(r["incoming_phone_numbers"]), r["page"], r["next_page_uri"]')" = "(1, 0, None)" ]
	ok $? "GET ?PhoneNumber=+15005550006: one number, a list page ($code)"
	PN=$(jget "$T/l" 'r["incoming_phone_numbers"][0]["sid"]')
	[ "$(jget "$T/l" '[(n["phone_number"], n["sms_url"], n["sms_method"], n["sms_application_sid"], n["account_sid"]) for n in r["incoming_phone_numbers"]][0]')" = "('+15005550006', None, 'POST', None, '$A')" ]
	ok $? "... phone_number, sms_url null, sms_method POST, no application"
	code=$(curl -s -o "$T/u" -w '%{http_code}' -u "$A:sandbox-token" \
		--data-urlencode SmsUrl=https://orders.example.com/twilio/sms \
		-d SmsMethod=POST "$API/IncomingPhoneNumbers/$PN.json")
	[ "$code" = 200 ] && [ "$(jget "$T/u" '(r["sid"], r["sms_url"], r["sms_method"])')" = "('$PN', 'https://orders.example.com/twilio/sms', 'POST')" ]
	ok $? "POST SmsUrl, SmsMethod: the updated resource ($code)"
	curl -s -o "$T/l" -u "$A:sandbox-token" -G --data-urlencode PhoneNumber=+15005550006 "$API/IncomingPhoneNumbers.json"
	[ "$(jget "$T/l" 'r["incoming_phone_numbers"][0]["sms_url"]')" = https://orders.example.com/twilio/sms ]
	ok $? "GET after POST: the new sms_url"
	code=$(curl -s -o "$T/e" -w '%{http_code}' -u "$A:sandbox-token" -d SmsMethod=PUT "$API/IncomingPhoneNumbers/$PN.json")
	[ "$code" = 400 ] && grep -q 'SmsMethod must be GET or POST' "$T/e"; ok $? "SmsMethod=PUT: 400 naming SmsMethod"
	code=$(curl -s -o "$T/e" -w '%{http_code}' -u "$A:sandbox-token" -d SmsUrl=ftp://x "$API/IncomingPhoneNumbers/$PN.json")
	[ "$code" = 400 ] && grep -q 'SmsUrl' "$T/e"; ok $? "SmsUrl not http(s): 400 naming SmsUrl"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$A:sandbox-token" -d SmsMethod=GET "$API/IncomingPhoneNumbers/PN0000000000000000000000000000ffff.json")
	[ "$code" = 404 ]; ok $? "unknown number: 404"
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$A:wrong" "$API/IncomingPhoneNumbers.json")
	[ "$code" = 401 ]; ok $? "wrong token: 401"
	curl -s -o "$T/l" -u "$A:sandbox-token" "$API/IncomingPhoneNumbers.json"
	[ "$(jget "$T/l" '[(n["phone_number"], n["sms_application_sid"]) for n in r["incoming_phone_numbers"]]')" = "[('+15005550006', None), ('+15551112222', 'AP0123456789abcdef0123456789abcdef')]" ]
	ok $? "--number with an application: listed with sms_application_sid"
else
	n=$((n + 1)); echo "ok $n # SKIP no curl for the IncomingPhoneNumbers checks"
fi
kill_pid "$SPID"; SPID=
"$SB" --number 555 --port 0 >/dev/null 2>"$T/err" &
SPID=$!
wait_pid "$SPID" 10; r=$?; SPID=
[ $r != 0 ] && grep -q -- "--number '555'" "$T/err"; ok $? "a bad --number is refused, named ($r)"

echo "1..$n"
[ $failed = 0 ]
