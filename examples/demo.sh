#!/usr/bin/env bash
# The demo: send one templated SMS to two recipients with the send_sms action,
# through the reference host (connector-host) and the Twilio plugin.
#
#   examples/demo.sh
#       no credentials: builds if needed, starts the local Twilio sandbox,
#       sends, prints twilioResult and what the sandbox recorded.
#   TWILIO_ACCOUNT=AC... TWILIO_TOKEN=... DEMO_FROM=+1... DEMO_TO="+1...,+1..." examples/demo.sh
#       sends for real through api.twilio.com.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-_build}

if [ ! -x "$build/host-api/connector-host" ] || [ ! -f "$build/plugin/.libs/twilio.so" ] ||
   [ ! -x "$build/tests/sandbox/twilio-sandbox" ]; then
	echo "demo: building into $build/ (first run only)" >&2
	[ -x configure ] || ./bootstrap >&2
	mkdir -p "$build"
	( cd "$build" && { [ -f Makefile ] || ../configure -q >&2; } && make -s -j2 >&2 )
fi

host="$build/host-api/connector-host"
plugin="$build/plugin/.libs/twilio.so"
work=$(mktemp -d "${TMPDIR:-/tmp}/twilio-demo.XXXXXX")
sandbox_pid=""
cleanup() {
	[ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null && wait "$sandbox_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

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
	for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
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
inputs=$(python3 -c 'import json,sys; print(json.dumps({"smsFrom": sys.argv[1], "smsTo": sys.argv[2], "smsBody": sys.argv[3]}))' "$from" "$to" "$body")
vars='{"customer":{"name":"Ann"},"orderId":1234567,"total":1234.5,"express":false,"days":3}'

echo "== send_sms inputs"; echo "$inputs"
echo "== process variables"; echo "$vars"
out=$("$host" invoke "$plugin" send_sms --config "$work/config" --inputs "$inputs" --vars "$vars")
echo "== outputs"
python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print("twilioResult:", json.dumps(o.get("twilioResult"), indent=2)); print("twilioError:", json.dumps(o.get("twilioError"), indent=2))' <<<"$out"
if [ -n "$sandbox_pid" ]; then
	echo "== what the sandbox recorded"
	python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    print("  %s  to %-14s  %s segment(s)  %s" % (m["sid"], m["to"], m["num_segments"], m["body"]))' <"$work/record.jsonl"
fi
