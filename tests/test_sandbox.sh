#!/bin/sh
# test_sandbox.sh - drives the real twilio-sandbox over real sockets with
# curl (and python3 for JSON and keep-alive checks): every validation rule
# and magic number, auth, GET endpoints, each fault with first=N, rate with
# a seed, drop-after on a reused connection, the record and requests files,
# TLS with a test CA and a wrong CA, 413, bad flags, and a clean exit 0 on
# SIGTERM. Every sandbox runs under $CONN_TEST_WRAP (valgrind in
# check-valgrind).
set -u

: "${top_builddir:=.}" "${top_srcdir:=.}" "${CONN_TEST_WRAP:=}"
SB=$top_builddir/tests/sandbox/twilio-sandbox
PY=${PYTHON3:-python3}
OPENSSL=${OPENSSL:-}

command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl not found"; exit 0; }
command -v "$PY" >/dev/null 2>&1 || { echo "1..0 # SKIP python3 not found"; exit 0; }

ACCT=AC00000000000000000000000000000000
TOKEN=sandbox-token
KEY=SK0123456789abcdef0123456789abcdef
SECRET=key-secret-123
AUTH=$ACCT:$TOKEN
. "$top_srcdir/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/test_sandbox"
PID=
at_exit 'kill_pid "$PID"'
n=0
failed=0

ok() { # STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

is() { # EXPECTED ACTUAL DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   expected: '$1'"
		echo "#        got: '$2'"
	fi
}

# jget FILE KEY: a top-level value of the sandbox's JSON (its own compact
# layout, '"key": value'), strings unquoted; python would cost a second a
# call on a loaded machine
jget() {
	sed -n "s/.*\"$2\": \(\"\([^\"]*\)\"\|\([^,}]*\)\).*/\2\3/p" "$1"
}
rep() { # N TEXT: TEXT N times
	printf "%0${1}d" 0 | sed "s/0/$2/g"
}
# start NAME ARGS...: start a sandbox, wait (bounded) for its port file
start() {
	name=$1
	shift
	$CONN_TEST_WRAP "$SB" --port-file "$T/$name.port" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" &
	PID=$!
	i=0
	while [ ! -s "$T/$name.port" ] && [ $i -lt 600 ]; do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	PORT=$(cat "$T/$name.port" 2>/dev/null || echo 0)
	SCHEME=http
	case " $* " in *" --tls-cert "*) SCHEME=https ;; esac
	BASE=$SCHEME://127.0.0.1:$PORT/2010-04-01/Accounts/$ACCT
	NAME=$name
}

# stop: SIGTERM, wait at most 60 s, assert exit status 0 (no watchdog
# subshell: see tests/lib.sh)
stop() {
	kill -TERM "$PID"
	wait_pid "$PID" 60
	rc=$?
	PID=
	is 0 "$rc" "$NAME: exits 0 on SIGTERM"
	if [ "$rc" -ne 0 ]; then sed 's/^/#   /' "$T/$NAME.err" | head -20; fi
}

# http AUTH URL-SUFFIX CURL-ARGS...: $STATUS, $T/body, $T/hdr, $CURL_RC
http() {
	auth=$1
	path=$2
	shift 2
	STATUS=$(curl -s --max-time 30 ${auth:+-u "$auth"} -D "$T/hdr" \
		-o "$T/body" -w '%{http_code}' "$@" "$BASE$path")
	CURL_RC=$?
}

send() { # ARGS (curl form args): POST to Messages.json with the token
	http "$AUTH" /Messages.json "$@"
}

expect_error() { # HTTP CODE DESCRIPTION (after a request)
	is "$1 $2" "$STATUS $(jget "$T/body" code)" "$3"
}

OK_FROM="--data-urlencode From=+15005550006"
OK_TO="--data-urlencode To=+14155550100"

# ---- command line -------------------------------------------------------
$CONN_TEST_WRAP "$SB" --help >"$T/help" 2>&1
is 0 $? "--help exits 0"
grep -q -- "--fault SPEC" "$T/help"
ok $? "--help lists the flags"
$CONN_TEST_WRAP "$SB" --version >"$T/version" 2>&1
is 0 $? "--version exits 0"
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
is "twilio-sandbox (twilio-connector) $version" "$(cat "$T/version")" \
	"--version prints the program, the package and its version"
grep -q -- "--version" "$T/help"
ok $? "--help lists --version"
$CONN_TEST_WRAP "$SB" --fault 'bogus:first=1' >/dev/null 2>"$T/err"
is 2 $? "unknown fault kind: exit 2"
grep -q "unknown kind 'bogus'" "$T/err"
ok $? "unknown fault kind named in the error"
$CONN_TEST_WRAP "$SB" --fault 'latency' >/dev/null 2>"$T/err"
is 2 $? "latency without ms=: exit 2"
$CONN_TEST_WRAP "$SB" --fault 'drop-before:reused=1' >/dev/null 2>&1
is 2 $? "drop-before with reused=1 refused"
$CONN_TEST_WRAP "$SB" --threads 0 >/dev/null 2>"$T/err"
is 2 $? "--threads 0: exit 2"
grep -q -- "--threads '0'" "$T/err"
ok $? "--threads named in the error"
$CONN_TEST_WRAP "$SB" --account ACxyz >/dev/null 2>&1
is 2 $? "malformed --account: exit 2"
$CONN_TEST_WRAP "$SB" --api-key $KEY >/dev/null 2>&1
is 2 $? "--api-key without --api-secret: exit 2"

# ---- the API, validation, auth ------------------------------------------
start main --record "$T/rec" --requests "$T/reqs" --api-key $KEY \
	--api-secret $SECRET --threads 3
ok $([ "$PORT" -gt 0 ] && echo 0 || echo 1) "main: port file written"
grep -q "^listening on http://127.0.0.1:$PORT\$" "$T/main.out"
ok $? "main: listening line on stdout"

send $OK_TO $OK_FROM --data-urlencode 'Body=Hello from the sandbox test'
is 201 "$STATUS" "valid message: 201"
cat > "$T/check_msg.py" <<'PYEOF'
import json, re, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
acct = sys.argv[2]
rfc2822 = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$"
want = ["account_sid", "api_version", "body", "date_created", "date_sent",
        "date_updated", "direction", "error_code", "error_message", "from",
        "messaging_service_sid", "num_media", "num_segments", "price",
        "price_unit", "sid", "status", "subresource_uris", "to", "uri"]
bad = [k for k in want if k not in m]
checks = [
    (re.match(r"^SM[0-9a-f]{32}$", m["sid"]), "sid"),
    (m["account_sid"] == acct, "account_sid"),
    (m["api_version"] == "2010-04-01", "api_version"),
    (m["direction"] == "outbound-api", "direction"),
    (m["status"] == "queued", "status"),
    (m["error_code"] is None and m["error_message"] is None, "errors null"),
    (m["price"] is None and m["price_unit"] == "USD", "price"),
    (m["num_segments"] == "1" and m["num_media"] == "0", "counts as strings"),
    (re.match(rfc2822, m["date_created"]) and re.match(rfc2822, m["date_updated"]), "dates"),
    (m["uri"] == "/2010-04-01/Accounts/%s/Messages/%s.json" % (acct, m["sid"]), "uri"),
    (m["subresource_uris"]["media"].endswith("/Messages/%s/Media.json" % m["sid"]), "media uri"),
    (m["to"] == "+14155550100" and m["from"] == "+15005550006", "to/from"),
    (m["body"] == "Hello from the sandbox test", "body"),
]
bad += [name for good, name in checks if not good]
print(" ".join(bad) if bad else "ok")
PYEOF
is ok "$("$PY" "$T/check_msg.py" "$T/body" $ACCT)" "message JSON has every OpenAPI field, right values"
SID1=$(jget "$T/body" sid)
grep -qi '^content-type: application/json' "$T/hdr"
ok $? "JSON content type"

http "$ACCT:wrong" /Messages.json $OK_TO $OK_FROM -d Body=x
expect_error 401 20003 "wrong token: 401 / 20003"
is "Authenticate https://www.twilio.com/docs/errors/20003 401" \
	"$(jget "$T/body" message) $(jget "$T/body" more_info) $(jget "$T/body" status)" \
	"error body in Twilio's shape"
grep -qi '^www-authenticate: Basic' "$T/hdr"
ok $? "401 carries WWW-Authenticate"
http "" /Messages.json $OK_TO $OK_FROM -d Body=x
expect_error 401 20003 "no credentials: 401 / 20003"
http "$KEY:$SECRET" /Messages.json $OK_TO $OK_FROM -d Body=key
is 201 "$STATUS" "API key and secret: 201"
http "$KEY:$TOKEN" /Messages.json $OK_TO $OK_FROM -d Body=x
expect_error 401 20003 "API key with the wrong secret: 401"
BASE_SAVE=$BASE
BASE=${BASE%"$ACCT"}AC11111111111111111111111111111111
http "$AUTH" /Messages.json $OK_TO $OK_FROM -d Body=x
expect_error 404 20404 "another account in the path: 404 / 20404"
BASE=$BASE_SAVE

send $OK_FROM -d Body=x
expect_error 400 21604 "missing To: 21604"
send --data-urlencode To=4155550100 $OK_FROM -d Body=x
expect_error 400 21211 "To without +: 21211"
send --data-urlencode 'To=+1 415 555 0100' $OK_FROM -d Body=x
expect_error 400 21211 "To with spaces: 21211"
send --data-urlencode To=+1234567890123456 $OK_FROM -d Body=x
expect_error 400 21211 "To with 16 digits: 21211"
send --data-urlencode To=whatsapp:+14155550100 \
	--data-urlencode From=whatsapp:+15005550006 -d Body=x
is 201 "$STATUS" "whatsapp: channel addresses accepted"
send $OK_TO -d Body=x
expect_error 400 21603 "neither From nor MessagingServiceSid: 21603"
send $OK_TO --data-urlencode From=+12 -d Body=x
expect_error 400 21212 "From too short: 21212"
send $OK_TO --data-urlencode 'From=Not-Valid!' -d Body=x
expect_error 400 21212 "From with punctuation: 21212"
send $OK_TO -d From=ACME -d Body=x
is 201 "$STATUS" "alphanumeric sender ID accepted"
send $OK_TO -d From=12345 -d Body=x
is 201 "$STATUS" "short code accepted"
send $OK_TO -d MessagingServiceSid=MG123 -d Body=x
expect_error 400 21701 "malformed MessagingServiceSid refused"
send $OK_TO -d MessagingServiceSid=MG0123456789abcdef0123456789abcdef -d Body=x
is "201 accepted null MG0123456789abcdef0123456789abcdef" \
	"$STATUS $(jget "$T/body" status) $(jget "$T/body" from) $(jget "$T/body" messaging_service_sid)" \
	"messaging service: 201, status accepted, from null"
send $OK_TO $OK_FROM
expect_error 400 21602 "no Body, no MediaUrl: 21602"
send $OK_TO $OK_FROM -d Body=
expect_error 400 21602 "empty Body: 21602"

# 800 emoji = 1600 UTF-16 units: the limit; one more unit is over. A
# surrogate pair is never split: 33 emoji (66 units) a part, 25 parts.
{ printf Body=; rep 800 %F0%9F%98%80; } >"$T/b1600"
{ printf Body=; rep 800 %F0%9F%98%80; printf a; } >"$T/b1601"
send $OK_TO $OK_FROM -d @"$T/b1600"
is "201 25" "$STATUS $(jget "$T/body" num_segments)" "1600 UTF-16 units: 201, 25 UCS-2 segments"
send $OK_TO $OK_FROM -d @"$T/b1601"
expect_error 400 21617 "1601 UTF-16 units: 21617"
send $OK_TO $OK_FROM --data-urlencode "Body=$(rep 161 a)"
is "201 2" "$STATUS $(jget "$T/body" num_segments)" "161 GSM-7 characters: 2 segments"
send $OK_TO $OK_FROM --data-urlencode "Body=$(rep 152 a){$(rep 151 a)"
is "201 2" "$STATUS $(jget "$T/body" num_segments)" "escape moved whole into segment 2: 2 segments"
send $OK_TO $OK_FROM --data-urlencode "Body=$(rep 71 Ж)"
is "201 2" "$STATUS $(jget "$T/body" num_segments)" "71 UCS-2 characters: 2 segments"
send $OK_TO $OK_FROM -d Body=%FF%FE
expect_error 400 21602 "invalid UTF-8 body refused"

media=""
for i in 1 2 3 4 5 6 7 8 9 10; do media="$media -d MediaUrl=https://example.com/$i.png"; done
send $OK_TO $OK_FROM $media
is "201 10" "$STATUS $(jget "$T/body" num_media)" "10 MediaUrl without Body: 201, num_media 10"
send $OK_TO $OK_FROM $media -d MediaUrl=https://example.com/11.png
expect_error 400 21623 "11 MediaUrl: 21623"
send $OK_TO $OK_FROM -d MediaUrl=ftp://example.com/x
expect_error 400 21620 "MediaUrl not http(s): 21620"
send $OK_TO $OK_FROM -d Body=x -d StatusCallback=nope
expect_error 400 21609 "invalid StatusCallback: 21609"
send $OK_TO $OK_FROM -d Body=cb --data-urlencode StatusCallback=https://example.com/cb
is 201 "$STATUS" "StatusCallback accepted"

# magic test numbers
for m in From:+15005550001:21212 From:+15005550007:21606 \
	From:+15005550008:21611 To:+15005550001:21211 To:+15005550002:21612 \
	To:+15005550003:21408 To:+15005550004:21610 To:+15005550009:21614; do
	field=${m%%:*}
	rest=${m#*:}
	num=${rest%%:*}
	code=${rest#*:}
	if [ "$field" = From ]; then
		send $OK_TO --data-urlencode "From=$num" -d Body=x
	else
		send --data-urlencode "To=$num" $OK_FROM -d Body=x
	fi
	expect_error 400 "$code" "magic $field $num: $code"
done

http "$AUTH" /Messages.json -H 'Content-Type: application/json' \
	--data '{"To":"+14155550100","From":"+15005550006","Body":"x"}'
is 415 "$STATUS" "JSON body: 415"
{ printf Body=; rep 70000 a; } >"$T/big"
send $OK_TO $OK_FROM -d @"$T/big"
is 413 "$STATUS" "70000-byte body: 413"
http "$AUTH" /Messages.json -X DELETE
expect_error 405 20004 "DELETE on the list: 405"
http "$AUTH" /Nothing.json
expect_error 404 20404 "unknown resource: 404"

# GET endpoints
http "$AUTH" "/Messages/$SID1.json"
is "200 $SID1 Hello from the sandbox test" \
	"$STATUS $(jget "$T/body" sid) $(jget "$T/body" body)" "GET a message"
http "$AUTH" /Messages/SM0123456789abcdef0123456789abcdef.json
expect_error 404 20404 "GET an unknown message: 404 / 20404"
http "$ACCT:bad" "/Messages/$SID1.json"
expect_error 401 20003 "GET with the wrong token: 401"
http "$AUTH" "/Messages.json?PageSize=2"
is "200 2 2 0 0 1" \
	"$STATUS $(jget "$T/body" page_size) $(grep -o '"sid": "SM' "$T/body" | wc -l | tr -d ' ') $(jget "$T/body" page) $(jget "$T/body" start) $(jget "$T/body" end)" \
	"list: page envelope, 2 messages"
NEXT=$(jget "$T/body" next_page_uri)
case "$NEXT" in */Messages.json\?PageSize=2\&Page=1) ok 0 "list: next_page_uri" ;; *) ok 1 "list: next_page_uri ($NEXT)" ;; esac
is "$SID1" "$(curl -s -u "$AUTH" "$BASE/Messages.json?PageSize=1000" | grep -o '"sid": "SM[0-9a-f]*"' | tail -1 | cut -d'"' -f4)" \
	"list: newest first, the first message last"
http "$AUTH" .json
is "200 $ACCT active Full" \
	"$STATUS $(jget "$T/body" sid) $(jget "$T/body" status) $(jget "$T/body" type)" "GET the account"
http "$ACCT:nope" .json
expect_error 401 20003 "GET the account with the wrong token: 401"
http "$KEY:$SECRET" .json
is 200 "$STATUS" "GET the account with the API key"
stop

# record / requests files
accepted=$(grep -c '"status":201' "$T/reqs")
is "$accepted" "$(wc -l <"$T/rec" | tr -d ' ')" "record: one line per accepted message"
is "$(grep -c . "$T/reqs")" "$("$PY" -c '
import json, sys
n = [json.loads(l)["n"] for l in open(sys.argv[1])]
print(len(n) if sorted(n) == list(range(1, len(n) + 1)) else -1)' "$T/reqs")" \
	"requests: every line valid JSON, n = 1..N"
is "$SID1 +14155550100 +15005550006 Hello from the sandbox test [] null 1 queued" \
	"$(head -1 "$T/rec" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
print(r["sid"], r["to"], r["from"], r["body"], json.dumps(r["media_url"]),
      json.dumps(r["status_callback"]), r["num_segments"], r["status"])')" \
	"record: fields of the first message"
grep -q '"status_callback":"https://example.com/cb"' "$T/rec"
ok $? "record: status_callback kept"
grep -q "$TOKEN\|$SECRET\|Basic \|Authorization" "$T/reqs" "$T/rec" "$T/main.err" "$T/main.out"
ok $((! $?)) "no secret in the records or the logs"
grep -q "Hello from the sandbox test\|14155550100" "$T/main.err"
ok $((! $?)) "no body or phone number in the sandbox's log"

# ---- faults ---------------------------------------------------------------
start faults --record "$T/frec" --requests "$T/freqs" \
	--fault 429:first=2,retry-after=1 --fault 500:first=3 \
	--fault 503:first=4 --fault truncate:first=5 --fault nonjson:first=6 \
	--fault 429:first=7
for i in 1 2; do
	send $OK_TO $OK_FROM -d Body=f$i
	expect_error 429 20429 "429 with Retry-After, request $i"
	grep -qi '^retry-after: 1' "$T/hdr"
	ok $? "Retry-After: 1 on request $i"
done
send $OK_TO $OK_FROM -d Body=f3
expect_error 500 20500 "500 next"
send $OK_TO $OK_FROM -d Body=f4
expect_error 503 20503 "503 next"
send $OK_TO $OK_FROM -d Body=f5
tail -c 2 "$T/body" | grep -q '}'
is "201 1" "$STATUS $?" "truncate: 201 with the JSON cut short"
head -c 20 "$T/body" | grep -q '^{"body": "f5"'
ok $? "truncate: the start of the real JSON"
send $OK_TO $OK_FROM -d Body=f6
grep -qi '^content-type: text/html' "$T/hdr"
is "201 0" "$STATUS $?" "nonjson: 201 with an HTML body"
send $OK_TO $OK_FROM -d Body=f7
is 429 "$STATUS" "429 without Retry-After"
grep -qi '^retry-after' "$T/hdr"
ok $((! $?)) "no Retry-After header"
send $OK_TO $OK_FROM -d Body=f8
is 201 "$STATUS" "after every first=N: 201"
is "f5 f6 f8" "$("$PY" -c '
import json, sys
print(" ".join(json.loads(l)["body"] for l in open(sys.argv[1])))' "$T/frec")" \
	"record: only processed messages (truncate, nonjson, ok)"
is "429,429,500,503,truncate,nonjson,429,null" "$("$PY" -c '
import json, sys
print(",".join(json.loads(l)["fault"] or "null" for l in open(sys.argv[1])))' "$T/freqs")" \
	"requests: the fault of each request"
stop

start delays --record "$T/drec" --requests "$T/dreqs" --threads 1 \
	--fault drop-before:first=1 --fault latency:ms=2000,first=1 \
	--fault slow:ms=400,first=2 --fault drop-after:reused=1,first=1
send $OK_TO $OK_FROM -d Body=d0
ok $([ "$CURL_RC" -ne 0 ] && [ "$STATUS" = 000 ] && echo 0 || echo 1) \
	"drop-before: connection closed without an answer (curl $CURL_RC)"
is 0 "$(wc -l <"$T/drec" | tr -d ' ')" "drop-before: nothing recorded"
grep -q '"fault":"drop-before"' "$T/dreqs"
ok $? "drop-before in the requests file"
# d1: latency 2000 + slow 400, in the background; it is logged (and
# recorded) before the delay starts
curl -s --max-time 30 -u "$AUTH" $OK_TO $OK_FROM -d Body=d1 -o "$T/d1" \
	-w '%{http_code} %{time_total}' "$BASE/Messages.json" >"$T/d1.w" &
apid=$!
i=0
while ! grep -q '"fault":"latency+slow"' "$T/dreqs" && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
# d2 (slow 400) on the only worker thread while d1 waits: the delay holds
# a suspended connection, not the thread
out=$(curl -s --max-time 30 -u "$AUTH" $OK_TO $OK_FROM -d Body=d2 -o "$T/d2" \
	-w '%{http_code} %{time_starttransfer} %{time_total}' "$BASE/Messages.json")
set -- $out
is "201 d2" "$1 $(jget "$T/d2" body)" "slow: a complete 201 in the end"
ok $(awk "BEGIN { exit !($3 - $2 >= 0.35) }"; echo $?) \
	"slow: the first bytes at $2 s, the end at $3 s (a stall mid-body)"
kill -0 "$apid" 2>/dev/null
ok $? "latency holds no thread: d2 answered on --threads 1 while d1 waits"
wait "$apid"
read -r code secs <"$T/d1.w"
is "201 d1" "$code $(jget "$T/d1" body)" "latency + slow: a complete 201"
ok $(awk "BEGIN { exit !($secs >= 2.35) }"; echo $?) \
	"latency 2000 + slow 400: answered after ${secs} s"
# drop-after on a reused keep-alive connection: the 2nd request is processed,
# recorded, and the connection closed without an answer
cat > "$T/keepalive.py" <<'PYEOF'
import base64, http.client, sys, urllib.parse
port, acct, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hdrs = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"}
path = "/2010-04-01/Accounts/%s/Messages.json" % acct
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
out = []
for body in ("k1", "k2"):
    form = urllib.parse.urlencode({"To": "+14155550100", "From": "+15005550006", "Body": body})
    try:
        c.request("POST", path, form, hdrs)
        r = c.getresponse()
        r.read()
        out.append(str(r.status))
    except (http.client.RemoteDisconnected, ConnectionError) as e:
        out.append("closed")
        c.close()
print(" ".join(out))
PYEOF
is "201 closed" "$("$PY" "$T/keepalive.py" "$PORT" $ACCT "$AUTH")" \
	"drop-after reused=1: 1st request answered, 2nd closed"
is "201 201" "$("$PY" "$T/keepalive.py" "$PORT" $ACCT "$AUTH")" \
	"drop-after first=1: later reused requests answered"
grep -q '"body":"k2".*"request":2' "$T/drec"
ok $? "drop-after: the dropped message was recorded (request 2 of its connection)"
grep -q '"status":0,"fault":"drop-after","connection":[0-9]*,"request_on_connection":2' "$T/dreqs"
ok $? "drop-after in the requests file"
is "d1 d2 k1 k2 k1 k2" "$("$PY" -c '
import json, sys
print(" ".join(json.loads(l)["body"] for l in open(sys.argv[1])))' "$T/drec")" \
	"record: every processed message, the dropped-after one too"
stop

# SIGTERM while a response is delayed: bounded, clean exit
start shutdown --requests "$T/sreqs" --fault latency:ms=60000
curl -s --max-time 90 -u "$AUTH" $OK_TO $OK_FROM -d Body=s1 -o /dev/null \
	"$BASE/Messages.json" &
cpid=$!
i=0
while ! grep -q latency "$T/sreqs" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
t0=$(date +%s)
stop
t1=$(date +%s)
ok $([ $((t1 - t0)) -lt 30 ] && echo 0 || echo 1) \
	"shutdown does not wait for a 60 s delay ($((t1 - t0)) s)"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null

# rate= with a seed is deterministic
for run in a b; do
	start rate$run --fault 500:rate=0.5,seed=7
	seq=""
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
		seq="$seq$(curl -s -o /dev/null -w '%{http_code}' -u "$AUTH" $OK_TO $OK_FROM -d Body=r "$BASE/Messages.json") "
	done
	eval "seq_$run=\"\$seq\""
	stop
done
is "$seq_a" "$seq_b" "rate=0.5,seed=7: the same sequence twice"
c500=$(echo "$seq_a" | tr ' ' '\n' | grep -c 500)
ok $([ "$c500" -gt 0 ] && [ "$c500" -lt 16 ] && echo 0 || echo 1) \
	"rate=0.5: some but not all 500 ($c500 of 16)"

# ---- TLS --------------------------------------------------------------------
if [ -z "$OPENSSL" ] && command -v openssl >/dev/null 2>&1; then
	OPENSSL=$(command -v openssl)
fi
if [ -n "$OPENSSL" ] && OPENSSL=$OPENSSL sh "$top_srcdir/tests/sandbox/make-test-ca.sh" "$T/ca" >/dev/null 2>&1; then
	start tls --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key" \
		--record "$T/trec" --fault drop-before:first=1
	grep -q "^listening on https://127.0.0.1:$PORT\$" "$T/tls.out"
	ok $? "tls: listening on https"
	out=$(curl -s --max-time 30 --cacert "$T/ca/ca.pem" -u "$AUTH" $OK_TO $OK_FROM -d Body=t0 \
		-o /dev/null -w '%{http_code} %{size_request}' "$BASE/Messages.json")
	rc=$?
	is "35 000 0" "$rc $out" "tls drop-before: handshake fails, no request byte sent"
	send --cacert "$T/ca/ca.pem" $OK_TO $OK_FROM -d Body=t1
	is 201 "$STATUS" "tls: 201 with the test CA"
	send --cacert "$T/ca/other-ca.pem" $OK_TO $OK_FROM -d Body=t2
	is 60 "$CURL_RC" "tls: a wrong CA is refused (curl 60)"
	is 1 "$(grep -c . "$T/trec")" "tls: exactly one message recorded"
	stop
else
	ok 0 "# SKIP tls: openssl not available"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
