#!/usr/bin/env bash
# The product's scenario, end to end: a customer texts "Order Number 12345"
# to the business's Twilio number; the connector's webhook matches it,
# publishes SMS_RECEIVED to `connector-host serve`, answers the customer
# "Your reference number is 12345", and serve's trigger runs send_sms to
# tell the staff about order 12345.
#
#   examples/order-number/run.sh
#       no credentials: builds in _build/ (quick when up to date), starts
#       twilio-sandbox and `connector-host serve` with twilio.so (webhook on
#       127.0.0.1, a port the kernel picks), plays the customer with
#       `twilio-sandbox inbound` (signed for the public URL, as behind a
#       proxy), prints each step and stops everything.
#   TWILIO_ACCOUNT=AC... TWILIO_TOKEN=... ORDER_NUMBER=+1... ORDER_STAFF=+1...
#   ORDER_PUBLIC_URL=https://your.host/twilio/sms [ORDER_LISTEN=0.0.0.0:8080]
#   [ORDER_PATH=/twilio/sms (default: the public URL's path)]
#   examples/order-number/run.sh
#       for real: registers the webhook on ORDER_NUMBER (twilio-webhook
#       --set), then serves in the foreground until Ctrl-C. Put a TLS proxy
#       (or a tunnel) at ORDER_PUBLIC_URL that forwards to ORDER_LISTEN.
# BUILD_DIR=DIR uses another build directory; ORDER_NO_BUILD=1 skips make
# (tests/example_order_number.sh runs the demo against the tree it built).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-_build}
. tests/lib.sh

if [ -z "${ORDER_NO_BUILD:-}" ]; then
	echo "order-number: make in $build/ (the first run configures and builds everything)" >&2
	./run-tests -s all >&2
fi
host="$build/host-api/connector-host"
plugin="$build/plugin/.libs/twilio.so"
sandbox="$build/tests/sandbox/twilio-sandbox"
here=examples/order-number
tmpdir "${TMPDIR:-/tmp}/order-number"
work=$T
sandbox_pid="" serve_pid=""
at_exit 'kill_pid "$serve_pid"; kill_pid "$sandbox_pid"'

# The staff number in the trigger: the file's (a sandbox number) or
# ORDER_STAFF. Written with python3's json, never by pasting text into JSON.
staff() {
	ORDER_STAFF_=${ORDER_STAFF:-} python3 -c 'import json, os, sys
t = json.load(open(sys.argv[1]))
if os.environ["ORDER_STAFF_"]:
    t["triggers"][0]["inputs"]["smsTo"] = [os.environ["ORDER_STAFF_"]]
json.dump(t, open(sys.argv[2], "w"), indent=1)' "$here/triggers.json" "$work/triggers.json"
}

if [ -n "${TWILIO_ACCOUNT:-}" ] && [ -n "${TWILIO_TOKEN:-}" ]; then
	: "${ORDER_NUMBER:?set ORDER_NUMBER to your Twilio number (E.164)}"
	: "${ORDER_STAFF:?set ORDER_STAFF to the number that gets the order SMS}"
	: "${ORDER_PUBLIC_URL:?set ORDER_PUBLIC_URL to the https URL Twilio calls (your proxy or tunnel)}"
	staff
	# secrets stay in the environment: the config refers to them
	cat >"$work/config" <<'CONF'
TWILIO_ACCOUNT=${env:TWILIO_ACCOUNT}
TWILIO_TOKEN=${env:TWILIO_TOKEN}
TWILIO_WEBHOOK_LISTEN=${env:ORDER_LISTEN}
TWILIO_WEBHOOK_PATH=${env:ORDER_PATH}
TWILIO_WEBHOOK_PUBLIC_URL=${env:ORDER_PUBLIC_URL}
CONF
	ORDER_LISTEN=${ORDER_LISTEN:-0.0.0.0:8080}
	ORDER_PATH=${ORDER_PATH:-/${ORDER_PUBLIC_URL#https://*/}}
	export ORDER_LISTEN ORDER_PATH ORDER_PUBLIC_URL
	echo "== registering the webhook of $ORDER_NUMBER: $ORDER_PUBLIC_URL (POST)"
	"$host" twilio-webhook "$plugin" --config "$work/config" \
		--number "$ORDER_NUMBER" --set
	echo "== serving on $ORDER_LISTEN$ORDER_PATH; text \"Order Number 12345\" to $ORDER_NUMBER (Ctrl-C stops)"
	exec "$host" serve "$plugin" --config "$work/config" \
		--triggers "$work/triggers.json"
fi

staff
public=https://orders.example.com/twilio/sms
customer=+14155550100
business=+15005550006
"$sandbox" --port-file "$work/sandbox.port" --record "$work/record.jsonl" \
	>"$work/sandbox.out" 2>&1 &
sandbox_pid=$!
up() { [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null; }
wait_until 20 up "$work/sandbox.port" "$sandbox_pid" || :
[ -s "$work/sandbox.port" ] || { cat "$work/sandbox.out" >&2; echo "order-number: the sandbox did not start" >&2; exit 1; }
cat >"$work/config" <<CONF
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=sandbox-token
TWILIO_BASE_URL=http://127.0.0.1:$(cat "$work/sandbox.port")
TWILIO_WEBHOOK_LISTEN=127.0.0.1:0
TWILIO_WEBHOOK_PATH=/twilio/sms
TWILIO_WEBHOOK_PUBLIC_URL=$public
CONF
echo "== 1. the trigger ($here/triggers.json)"
python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["triggers"][0]
print("  on %s matching %r: echo %r" % (t["event"], t["params"]["pattern"], t["params"]["echo"]))
print("  then %s %s" % (t["action"], json.dumps(t["inputs"])))' "$work/triggers.json"

"$host" serve "$plugin" --config "$work/config" --triggers "$work/triggers.json" \
	--port-file "$work/webhook.port" >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
wait_until 30 up "$work/webhook.port" "$serve_pid" || :
[ -s "$work/webhook.port" ] || { cat "$work/serve.log" >&2; echo "order-number: serve did not start" >&2; exit 1; }
port=$(cat "$work/webhook.port")
echo "== 2. connector-host serve: webhook on 127.0.0.1:$port, public URL $public (the proxy case)"

echo "== 3. the customer $customer texts \"Order Number 12345\" to $business"
echo "   (twilio-sandbox inbound signs for $public and delivers to 127.0.0.1:$port)"
if ! "$sandbox" inbound --url "http://127.0.0.1:$port/twilio/sms" \
	--public-url "$public" --token sandbox-token \
	--from "$customer" --to "$business" --body "Order Number 12345" \
	>"$work/answer" 2>"$work/inbound.err"; then
	cat "$work/answer" "$work/inbound.err" >&2
	echo "order-number: the webhook did not answer 2xx" >&2
	exit 1
fi
echo "== 4. the webhook's answer (TwiML: the echo the customer gets)"
sed 's/^/   /' "$work/answer"

echo "== 5. the event serve received, and the action it ran"
# the log masks the numbers; the staff SMS comes when the action is done
done_() { grep -q '"msg":"action' "$work/serve.log"; }
wait_until 30 done_ || :
grep -E '"msg":"(event|action done|action failed)"' "$work/serve.log" | sed 's/^/   /'

echo "== 6. the SMS the action sent to the staff (the sandbox's record)"
sent() { [ -s "$work/record.jsonl" ]; }
wait_until 30 sent || :
python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print("   %s  from %s to %s: %s" % (m.get("sid"), m.get("from"), m.get("to"), m.get("body")))' <"$work/record.jsonl"

echo "== 7. stopping (SIGTERM: serve finishes what it accepted, exits 0)"
kill -TERM "$serve_pid"
rc=0
wait_pid "$serve_pid" 30 || rc=$?
serve_pid=""
echo "   connector-host serve exited $rc"
[ "$rc" = 0 ]
