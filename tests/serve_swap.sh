#!/bin/sh
# serve_swap.sh - hot swap in connector-host serve with the real plugin:
# twilio.so is served from a deploy directory; a second build that differs
# only in its version (plugin/twilio-v2.la) is renamed over it while signed
# webhooks keep coming, and serve swaps to it: every webhook is answered
# 200 with its echo, every order is published and sent exactly once, the
# webhook's port stays the same. Then: the same file again is no swap;
# SIGHUP swaps with the configuration re-read; a broken file is refused and
# the running version keeps serving; SIGUSR1 logs the stats.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
CH="$top_builddir/host-api/connector-host"
SB="$top_builddir/tests/sandbox/twilio-sandbox"
V1="$top_builddir/plugin/.libs/twilio.so"
V2="$top_builddir/plugin/.libs/twilio-v2.so"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/serve_swap"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
unset CONNHOST_KEEP_COPIES
PUB=https://orders.example.com/twilio/sms
BUSINESS=+15005550006 CUSTOMER=+14155550100

n=0 failed=0
count() { grep -c -F -- "$2" "$1" 2>/dev/null || true; }

if [ ! -f "$V2" ]; then
	echo "1..0 # SKIP plugin/twilio-v2.la not built"
	exit 0
fi
$WRAP "$SB" --port-file "$T/sb.port" --record "$T/record.jsonl" \
	>"$T/sb.out" 2>&1 &
SBPID=$!
at_exit 'kill_pid "$SBPID"'
wait_until 30 test -s "$T/sb.port" || {
	echo "Bail out! the sandbox did not start"
	exit 1
}
conf() { # conf TTL: the configuration, with a dedupe TTL to tell it apart
	cat >"$T/conf.tmp" <<EOT
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=sandbox-token
TWILIO_BASE_URL=http://127.0.0.1:$(cat "$T/sb.port")
TWILIO_WEBHOOK_LISTEN=127.0.0.1:0
TWILIO_WEBHOOK_PATH=/twilio/sms
TWILIO_WEBHOOK_PUBLIC_URL=$PUB
TWILIO_INBOUND_DEDUPE_TTL_MS=$1
EOT
	mv "$T/conf.tmp" "$T/conf"
}
conf 600000
mkdir "$T/deploy"
cp "$V1" "$T/deploy/twilio.so"
$WRAP "$CH" serve "$T/deploy/twilio.so" --config "$T/conf" \
	--triggers "$top_srcdir/examples/order-number/triggers.json" \
	--port-file "$T/port" --log-level info \
	>"$T/serve.out" 2>"$T/serve.err" </dev/null &
PID=$!
at_exit 'kill_pid "$PID"'
up() { [ -s "$T/port" ] || ! kill -0 "$PID" 2>/dev/null; }
wait_until 60 up
if [ ! -s "$T/port" ]; then
	echo "Bail out! serve did not start"
	sed 's/^/# /' "$T/serve.err" | head -n 20
	exit 1
fi
PORT=$(cat "$T/port")
ok "serve starts from the deploy directory (port $PORT)"

text() { # text I BODY: answer in $T/answerI; MessageSid from I (the same
	# I again is Twilio redelivering that message)
	"$SB" inbound --url "http://127.0.0.1:$PORT/twilio/sms" \
		--public-url "$PUB" --token sandbox-token --from "$CUSTOMER" \
		--to "$BUSINESS" --body "$2" \
		--message-sid "$(printf 'SM%032d' "$1")" >"$T/answer$1.tmp" 2>&1
	mv "$T/answer$1.tmp" "$T/answer$1"
}
answered() { # answered FROM TO: every answer FROM..TO is a 200 with its echo
	i=$1
	while [ "$i" -le "$2" ]; do
		has "$T/answer$i" "200" &&
			has "$T/answer$i" "<Message>Your reference number is $i</Message>" ||
			return 1
		i=$((i + 1))
	done
}
sent_once() { # sent_once FROM TO: the sandbox recorded each order's SMS once
	i=$1
	while [ "$i" -le "$2" ]; do
		[ "$(count "$T/record.jsonl" "New order $i from")" = 1 ] || return 1
		i=$((i + 1))
	done
}

# 1. a stream of orders; the new version renamed into place in the middle
FIRST=1001 LAST=1040
( i=$FIRST; while [ "$i" -le "$LAST" ]; do text "$i" "Order Number $i"; i=$((i + 1)); done ) &
STREAM=$!
at_exit 'kill_pid "$STREAM"'
wait_until 60 test -f "$T/answer1005"
cp "$V2" "$T/deploy/.twilio.so.new"
mv "$T/deploy/.twilio.so.new" "$T/deploy/twilio.so"
check "the renamed file is swapped to (log names the new version)" \
	wait_until 120 has "$T/serve.err" "swapped to twilio $(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")-swap-v2"
wait_pid "$STREAM" 300
check "every webhook of the stream got 200 and its echo ($FIRST..$LAST)" \
	answered "$FIRST" "$LAST"
check "every order was sent once, across the swap" \
	wait_until 60 sent_once "$FIRST" "$LAST"
check "every order was published once (one action each)" \
	test "$(count "$T/serve.err" '"msg":"action done"')" = $((LAST - FIRST + 1))
text 1001 "Order Number 1001"
check "Twilio redelivering an order after the swap gets the same answer" \
	has "$T/answer1001" "<Message>Your reference number is 1001</Message>"
text 2000 "Order Number 2000"
check "... and is not published again (the store survives the swap)" \
	sh -c "wait_for() { i=0; while [ \$i -lt 600 ]; do grep -q 'New order 2000 from' '$T/record.jsonl' && return 0; sleep 0.1; i=\$((i+1)); done; return 1; }
		wait_for && [ \$(grep -c -F 'New order 1001 from' '$T/record.jsonl') = 1 ]"
check "the webhook's port did not change" test "$(cat "$T/port")" = "$PORT"

# 2. the same content again: no swap
before=$(count "$T/serve.err" '"msg":"swapped to')
cp "$V2" "$T/deploy/twilio.so"
check "the same file copied again is not a swap" \
	wait_until 60 has "$T/serve.err" "is unchanged; nothing to do"
check "... and nothing was swapped" \
	test "$(count "$T/serve.err" '"msg":"swapped to')" = "$before"

# 3. SIGHUP: the configuration re-read, a swap to the same file
conf 300000
kill -HUP "$PID"
check "SIGHUP swaps with the configuration re-read" \
	wait_until 120 has "$T/serve.err" '"reason":"SIGHUP"'
text 2001 "Order Number 2001"
check "after SIGHUP a new order is answered and sent" \
	sh -c "grep -q 'Your reference number is 2001' '$T/answer2001'"

# 4. a broken file: refused, the running version keeps serving
printf 'not a shared object\n' >"$T/deploy/.bad"
mv "$T/deploy/.bad" "$T/deploy/twilio.so"
check "a broken new version is refused, the log says the old one serves" \
	wait_until 60 has "$T/serve.err" "the running version keeps serving"
text 2002 "Order Number 2002"
check "after the refusal the running version answers" \
	has "$T/answer2002" "<Message>Your reference number is 2002</Message>"

# 5. SIGUSR1: the stats, with the version serving
kill -USR1 "$PID"
check "SIGUSR1 logs the stats" wait_until 30 has "$T/serve.err" '"msg":"stats"'

kill -TERM "$PID"
wait_pid "$PID" 120
rc=$?
check "SIGTERM: exit 0 (got $rc)" test "$rc" = 0
check "orders 2001 and 2002 were sent once each" \
	sent_once 2001 2002
if has "$T/serve.err" "sandbox-token"; then
	nok "the token never appears in the log"
else ok "the token never appears in the log"; fi

echo "1..$n"
[ "$failed" = 0 ]
