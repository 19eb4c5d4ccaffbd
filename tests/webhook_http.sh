#!/bin/sh
# webhook_http.sh - the SMS_RECEIVED webhook over real sockets, through
# `connector-host listen` with the plugin listening on 127.0.0.1:0 (the port
# read from the start log line): 404/405/415/413/400 answers, a bad
# signature (403, nothing published, a log line naming the URL, never the
# token), a good one (200 TwiML, the event printed), the raw query in the
# signed URL, the secondary token, slowloris (64 slow + 192 normal
# connections: the normal ones are answered), TLS with the key formats
# documented in docs/sms_received.md, and an encrypted key refused at start.
# The client (tests/webhook_client.py) signs with python's hmac module.
. "$top_srcdir/tests/send_sms_lib.sh"

CLIENT="$top_srcdir/tests/webhook_client.py"
PUB="https://sms.example.com/twilio/sms"
BASE=http://127.0.0.1:1 # the REST API is not used here
LPID=

# listen NAME [KEY=VALUE...]: connector-host listen with a webhook config;
# sets LPID and WPORT. Events in $T/NAME.out, logs in $T/NAME.log.
listen() {
	name=$1
	shift
	config "$T/cfg-$name.json" \
		TWILIO_WEBHOOK_LISTEN=127.0.0.1:0 TWILIO_WEBHOOK_PUBLIC_URL="$PUB" \
		TWILIO_WEBHOOK_WORKERS=4 "$@"
	rm -f "$T/$name.fifo"
	mkfifo "$T/$name.fifo"
	$WRAP "$CH" listen "$PLUGIN" SMS_RECEIVED --config "$T/cfg-$name.json" \
		--params '{"pattern":""}' --log-level info \
		<"$T/$name.fifo" >"$T/$name.out" 2>"$T/$name.log" &
	LPID=$!
	exec 7>"$T/$name.fifo" # stdin held open: the end of it stops listen
	WPORT=
	wait_until 60 started_or_gone "$T/$name.log" ||
		{ echo "# listen did not start"; return 1; }
	grep -q 'webhook listening on' "$T/$name.log" ||
		{ sed 's/^/# /' "$T/$name.log"; return 1; }
	WPORT=$(sed -n 's/.*webhook listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		"$T/$name.log" | head -n 1)
}

started_or_gone() { # LOG
	grep -q 'webhook listening on' "$1" || ! kill -0 "$LPID" 2>/dev/null
}

unlisten() {
	exec 7>&-
	wait_pid "$LPID" 30
	rc=$?
	LPID=
	return $rc
}
at_exit 'exec 7>&- 2>/dev/null; kill_pid "$LPID"'

# req NAME ARGS...: one request (webhook_client.py request); JSON in
# $T/NAME.json
req() {
	name=$1
	shift
	"$PY" "$CLIENT" request "$@" >"$T/$name.json" 2>"$T/$name.err" ||
		echo '{"status": -1}' >"$T/$name.json"
}

FIELDS='[["MessageSid","SM0123456789abcdef0123456789abcdef"],["From","+14155550100"],["To","+15005550006"],["Body","Order Number 12345"]]'

listen main TWILIO_WEBHOOK_BODY_LIMIT=1024 TWILIO_TOKEN_SECONDARY=TOPSECRET-second
ok $? "listen started, port $WPORT from the start log line"
URL="http://127.0.0.1:$WPORT/twilio/sms"

req ok "$URL" --token "$TOKEN" --public-url "$PUB" --fields "$FIELDS"
is 200 "$(q "$T/ok.json" 'o["status"]')" "signed request: 200"
is text/xml "$(q "$T/ok.json" 'o["headers"]["content-type"]')" "TwiML content type"
is true "$(q "$T/ok.json" 'o["body"].startswith("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response")')" "TwiML body"
wait_until 20 grep -q 'Order Number 12345' "$T/main.out"
is "Order Number 12345" "$(q "$T/main.out" 'o["event"]["originalMessage"]')" "the event is published"

req sec "$URL" --token TOPSECRET-second --public-url "$PUB" --fields \
	'[["MessageSid","SM0123456789abcdef0123456789abcde2"],["Body","rotated"]]'
is 200 "$(q "$T/sec.json" 'o["status"]')" "signed with the secondary token: 200"

req bad "$URL" --sig bad --token "$TOKEN" --public-url "$PUB" --fields \
	'[["MessageSid","SM0123456789abcdef0123456789abcde3"],["Body","forged"]]'
is 403 "$(q "$T/bad.json" 'o["status"]')" "bad signature: 403"
req nosig "$URL" --sig none --fields '[["MessageSid","SM1"],["Body","forged"]]'
is 403 "$(q "$T/nosig.json" 'o["status"]')" "no signature: 403"
req local "$URL" --token "$TOKEN" --fields '[["MessageSid","SM2"],["Body","forged"]]'
is 403 "$(q "$T/local.json" 'o["status"]')" "signed for the local URL, not the public one: 403"
ok "$(grep -q 'does not match.*"url":"https://sms.example.com/twilio/sms"' "$T/main.log"; echo $?)" \
	"the 403 log line names the URL checked"

# the raw query is part of the signed URL (public URL without a query)
req query "$URL?a=1&b=%20x" --token "$TOKEN" --public-url "$PUB?a=1&b=%20x" \
	--fields '[["MessageSid","SM0123456789abcdef0123456789abcde4"],["Body","query"]]'
is 200 "$(q "$T/query.json" 'o["status"]')" "the request's raw query is signed with the public URL"

req get "$URL" --method GET --sig none
is 405 "$(q "$T/get.json" 'o["status"]')" "GET: 405"
is POST "$(q "$T/get.json" 'o["headers"].get("allow")')" "Allow: POST"
is true "$(q "$T/get.json" '"webhook to HTTP POST" in o["body"]')" "405 says how to fix it"
req path "http://127.0.0.1:$WPORT/other" --token "$TOKEN" --fields "$FIELDS"
is 404 "$(q "$T/path.json" 'o["status"]')" "other path: 404"
req json "$URL" --ctype application/json --body '{"Body":"x"}' --sig none
is 415 "$(q "$T/json.json" 'o["status"]')" "JSON body: 415"
req noct "$URL" --ctype '' --body 'Body=x' --sig none
is 415 "$(q "$T/noct.json" 'o["status"]')" "no Content-Type: 415"
req charset "$URL" --ctype 'application/x-www-form-urlencoded; charset=utf-8' \
	--token "$TOKEN" --public-url "$PUB" --fields \
	'[["MessageSid","SM0123456789abcdef0123456789abcde5"],["Body","charset"]]'
is 200 "$(q "$T/charset.json" 'o["status"]')" "a charset parameter is accepted"
big=$("$PY" -c 'print("Body=" + "x" * 2000)')
req big "$URL" --body "$big" --sig none
is 413 "$(q "$T/big.json" 'o["status"]')" "body over TWILIO_WEBHOOK_BODY_LIMIT: 413"
req malformed "$URL" --body 'Body=%zz&From=x' --sig none
is 400 "$(q "$T/malformed.json" 'o["status"]')" "malformed form encoding: 400"
is true "$(q "$T/malformed.json" '"offset 5" in o["body"]')" "400 names the offset"

unlisten
ok $? "listen exits cleanly"
is 4 "$(count_lines "$T/main.out")" "exactly the four verified messages were published"
ok "$(grep -q forged "$T/main.out"; echo $((! $?)))" "nothing forged was published"

# slowloris: 64 connections dribbling a request a byte at a time do not
# stall 192 others
listen slow TWILIO_WEBHOOK_MAX_CONNECTIONS=512 TWILIO_WEBHOOK_MAX_PER_IP=512 \
	TWILIO_WEBHOOK_IDLE_TIMEOUT_S=30
ok $? "listen started (slowloris)"
"$PY" "$CLIENT" slowloris 127.0.0.1 "$WPORT" /twilio/sms 64 192 "$TOKEN" "$PUB" \
	>"$T/slowloris.json" 2>"$T/slowloris.err"
diag "slowloris: $(cat "$T/slowloris.json")"
is 192 "$(q "$T/slowloris.json" 'o["answered"]')" "192 normal requests answered 200 beside 64 slow ones"
unlisten
ok $? "listen exits cleanly (slowloris)"

# TLS: the key formats GnuTLS takes (docs/sms_received.md "TLS")
if ! command -v openssl >/dev/null 2>&1 ||
	! sh "$top_srcdir/tests/sandbox/make-test-ca.sh" "$T/ca" >/dev/null 2>&1; then
	n=$((n + 1))
	echo "ok $n # SKIP TLS: openssl not found"
else
	openssl ec -in "$T/ca/server.key" -out "$T/ca/sec1.key" 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca/rsa8.key" \
		-out "$T/ca/rsa.pem" -days 2 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1 2>/dev/null
	openssl rsa -in "$T/ca/rsa8.key" -traditional -out "$T/ca/rsa1.key" 2>/dev/null ||
		openssl rsa -in "$T/ca/rsa8.key" -out "$T/ca/rsa1.key" 2>/dev/null
	for k in "server.pem server.key ca.pem EC-PKCS8" \
		"server.pem sec1.key ca.pem EC-SEC1" \
		"rsa.pem rsa8.key rsa.pem RSA-PKCS8" \
		"rsa.pem rsa1.key rsa.pem RSA-PKCS1"; do
		set -- $k
		listen "tls$4" TWILIO_WEBHOOK_TLS_CERT="$T/ca/$1" \
			TWILIO_WEBHOOK_TLS_KEY="$T/ca/$2"
		ok $? "TLS listen started with a $4 key ($(head -n 1 "$T/ca/$2"))"
		req "tls$4" "https://127.0.0.1:$WPORT/twilio/sms" --cafile "$T/ca/$3" \
			--token "$TOKEN" --public-url "$PUB" --fields "$FIELDS"
		is 200 "$(q "$T/tls$4.json" 'o["status"]')" "TLS ($4): signed request answered 200"
		unlisten
	done
	openssl ec -in "$T/ca/server.key" -aes256 -passout pass:x \
		-out "$T/ca/enc.key" 2>/dev/null
	config "$T/cfg-enc.json" \
		TWILIO_WEBHOOK_LISTEN=127.0.0.1:0 TWILIO_WEBHOOK_PUBLIC_URL="$PUB" \
		TWILIO_WEBHOOK_TLS_CERT="$T/ca/server.pem" \
		TWILIO_WEBHOOK_TLS_KEY="$T/ca/enc.key"
	$WRAP "$CH" listen "$PLUGIN" SMS_RECEIVED --config "$T/cfg-enc.json" \
		--params '{"pattern":""}' </dev/null >"$T/enc.out" 2>"$T/enc.log"
	is 5 "$?" "an encrypted key: start fails (exit 5)"
	ok "$(grep -q 'unencrypted' "$T/enc.log"; echo $?)" "and says the key must be unencrypted"
fi

if grep -rl -e "$TOKEN" -e TOPSECRET-second "$T" --exclude='cfg*.json' \
	--exclude='*.fifo' >"$T/leaks" 2>/dev/null; then
	ok 1 "a token appears in: $(tr '\n' ' ' <"$T/leaks")"
else
	ok 0 "no token in any output or log"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
