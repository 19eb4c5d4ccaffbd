#!/bin/sh
# example_order_number.sh - examples/order-number/run.sh, the README's first
# command, runs against this build (ORDER_NO_BUILD: make check built it)
# and prints each step: the trigger, the echo in the TwiML answer, the
# event, the staff SMS from the sandbox's record, a clean stop.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/example_order_number"
command -v python3 >/dev/null 2>&1 || {
	echo "1..0 # SKIP python3 not found (the demo prints with it)"
	exit 0
}
command -v bash >/dev/null 2>&1 || {
	echo "1..0 # SKIP bash not found"
	exit 0
}
n=0 failed=0
has() { grep -q -F -- "$1" "$T/out"; }
build=$(cd "$top_builddir" && pwd)
env -u TWILIO_ACCOUNT -u TWILIO_TOKEN ORDER_NO_BUILD=1 BUILD_DIR="$build" \
	TMPDIR="$T" CONNHOST_COPY_DIR="$T" \
	bash "$top_srcdir/examples/order-number/run.sh" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" != 0 ] && grep -q "subscribe SMS_RECEIVED refused" "$T"/order-number.*/serve.log 2>/dev/null; then
	echo "1..0 # SKIP this build's plugin has no SMS_RECEIVED webhook"
	exit 0
fi
if [ "$rc" = 0 ]; then ok "the demo exits 0"; else
	nok "the demo exits 0 (got $rc)"
	sed 's/^/#   /' "$T/out" "$T/err" | tail -n 30
fi
for want in \
	"on SMS_RECEIVED matching 'Order Number (?<orderNumber>.+)'" \
	"texts \"Order Number 12345\"" \
	"<Message>Your reference number is 12345</Message>" \
	'"msg":"event","trigger":"order-number"' \
	'"msg":"action done"' \
	"to +15005550010: New order 12345 from +14155550100" \
	"connector-host serve exited 0"; do
	if has "$want"; then ok "prints: $want"; else nok "prints: $want"; fi
done
echo "1..$n"
[ "$failed" = 0 ]
