#!/usr/bin/env bash
# The demo: send one templated SMS to two recipients with the send_sms action,
# through the reference host (connector-host) and the Twilio plugin.
#
#   examples/demo.sh
#       no credentials: builds in _build/ (make: quick when up to date),
#       starts the local Twilio sandbox, sends, prints twilioResult and what
#       the sandbox recorded.
#   TWILIO_ACCOUNT=AC... TWILIO_TOKEN=... DEMO_FROM=+1... DEMO_TO="+1...,+1..." examples/demo.sh
#       sends for real through api.twilio.com.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-_build}
# the temporary directory, the sandbox's end: tests/lib.sh (its cleanup
# never runs in a subshell)
. tests/lib.sh

# Every run builds (quick when nothing changed), in $build/ and never in the
# source tree: the same build directory as ./run-tests, the README's test
# command.
echo "demo: make in $build/ (the first run configures and builds everything)" >&2
./run-tests -s all >&2

host="$build/host-api/connector-host"
plugin="$build/plugin/.libs/twilio.so"
tmpdir "${TMPDIR:-/tmp}/twilio-demo"
work=$T
sandbox_pid=""
at_exit 'kill_pid "$sandbox_pid"'

if [ -n "${TWILIO_ACCOUNT:-}" ] && [ -n "${TWILIO_TOKEN:-}" ]; then
	: "${DEMO_FROM:?set DEMO_FROM to your Twilio number}"
	: "${DEMO_TO:?set DEMO_TO to two numbers, comma-separated}"
	from=$DEMO_FROM to=$DEMO_TO
	# the token is read from the environment by the host, never written to disk
	printf 'TWILIO_ACCOUNT=${env:TWILIO_ACCOUNT}\nTWILIO_TOKEN=${env:TWILIO_TOKEN}\n' >"$work/config"
	echo "demo: sending for real with account ${TWILIO_ACCOUNT:0:6}..." >&2
else
	"$build/tests/sandbox/twilio-sandbox" --port-file "$work/port" \
		--record "$work/record.jsonl" >"$work/sandbox.out" 2>&1 &
	sandbox_pid=$!
	started() { [ -s "$work/port" ] || ! kill -0 "$sandbox_pid" 2>/dev/null; }
	wait_until 10 started || :
	[ -s "$work/port" ] || { cat "$work/sandbox.out" >&2; echo "demo: sandbox did not start" >&2; exit 1; }
	port=$(cat "$work/port")
	from="+15005550006" to="+1 (415) 555-0100, +44 20 7946 0958"
	cat >"$work/config" <<CONF
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=sandbox-token
TWILIO_BASE_URL=http://127.0.0.1:$port
CONF
	echo "demo: no TWILIO_ACCOUNT/TWILIO_TOKEN given: using the local sandbox on port $port" >&2
fi

body='Hi ${customer.name!"there"}, your order ${orderId?c} of ${total?string("0.00")} EUR <#if express>ships today<#else>ships in ${days} days</#if>.'
# Numbers and the body go through the environment and files, never through
# a command line (every user sees those in ps): connector-host reads
# --inputs @FILE and --vars @FILE.
DEMO_FROM_=$from DEMO_TO_=$to DEMO_BODY_=$body python3 -c 'import json, os
print(json.dumps({"smsFrom": os.environ["DEMO_FROM_"], "smsTo": os.environ["DEMO_TO_"],
                  "smsBody": os.environ["DEMO_BODY_"]}))' >"$work/inputs.json"
printf '%s\n' '{"customer":{"name":"Ann"},"orderId":1234567,"total":1234.5,"express":false,"days":3}' >"$work/vars.json"

echo "== send_sms inputs"; cat "$work/inputs.json"
echo "== process variables"; cat "$work/vars.json"
out=$("$host" invoke "$plugin" send_sms --config "$work/config" \
	--inputs "@$work/inputs.json" --vars "@$work/vars.json")
echo "== outputs"
python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print("twilioResult:", json.dumps(o.get("twilioResult"), indent=2)); print("twilioError:", json.dumps(o.get("twilioError"), indent=2))' <<<"$out"
if [ -n "$sandbox_pid" ]; then
	echo "== what the sandbox recorded"
	python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    print("  %s  to %-14s  %s segment(s)  %s" % (m["sid"], m["to"], m["num_segments"], m["body"]))' <"$work/record.jsonl"
fi
