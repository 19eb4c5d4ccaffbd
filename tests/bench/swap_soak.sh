#!/bin/sh
# swap_soak.sh [SWAPS] - hot swaps of twilio.so under load, checked:
# tests/bench/swap_soak.c swaps twilio.so and twilio-v2.so SWAPS times
# (default 6: the short run of `make check`; `make soak-swap` runs 1,000,
# `make bench-swap` 100 and keeps the figures) while 8 threads call
# send_sms against the sandbox and 2 keep-alive clients replay signed
# webhooks; then the sandbox's record must hold exactly one message per
# call (no second SMS, none lost). SWAP_GAP_MS: the time between swaps
# (default 200). TAP output; the driver's JSON line is
# printed as a comment and, with SWAP_SOAK_OUT=FILE, written there.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
SWAPS=${1:-6}
SB="$top_builddir/tests/sandbox/twilio-sandbox"
DRV="$top_builddir/tests/bench/swap-soak"
V1="$top_builddir/plugin/.libs/twilio.so"
V2="$top_builddir/plugin/.libs/twilio-v2.so"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/swap_soak"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
unset CONNHOST_KEEP_COPIES
PUB=https://soak.example.com/twilio/sms

n=0 failed=0
field() { sed -n "s/.*\"$1\":\([0-9-]*\).*/\1/p" "$T/result.json"; }

if [ ! -f "$V2" ] || [ ! -x "$DRV" ]; then
	echo "1..0 # SKIP twilio-v2.so or swap-soak not built"
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
cat >"$T/conf" <<EOT
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=sandbox-token
TWILIO_BASE_URL=http://127.0.0.1:$(cat "$T/sb.port")
TWILIO_WEBHOOK_LISTEN=127.0.0.1:0
TWILIO_WEBHOOK_PATH=/twilio/sms
TWILIO_WEBHOOK_PUBLIC_URL=$PUB
EOT
# enough distinct webhooks for the run: 500 a second, a swap every
# SWAP_GAP_MS plus the swap itself, and a margin
NREQ=$((SWAPS * (${SWAP_GAP_MS:-200} + 400) / 2 + 3000))
"$SB" inbound --load "$NREQ" --out "$T/requests" --url "$PUB" \
	--public-url "$PUB" --token sandbox-token --from +14155550100 \
	--to +15005550006 --body-template 'Order Number %d' >/dev/null 2>&1 || {
	echo "Bail out! twilio-sandbox inbound --load failed"
	exit 1
}
$WRAP "$DRV" "$V1" "$V2" --config "$T/conf" --requests "$T/requests" \
	--swaps "$SWAPS" --threads 8 --gap-ms "${SWAP_GAP_MS:-200}" \
	>"$T/result.json" 2>"$T/driver.err"
rc=$?
echo "# $(cat "$T/result.json")"
[ -n "${SWAP_SOAK_OUT:-}" ] && cp "$T/result.json" "$SWAP_SOAK_OUT"
check "$SWAPS swaps under load: every check of the driver holds (exit $rc)" \
	test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/driver.err" | head -n 20
calls=$(field calls_ok)
# the sandbox has answered every call; its record is complete
sent=$(grep -c '"soak [0-9]*-[0-9]*"' "$T/record.jsonl" 2>/dev/null || echo 0)
distinct=$(grep -o '"soak [0-9]*-[0-9]*"' "$T/record.jsonl" 2>/dev/null |
	sort -u | wc -l)
check "the sandbox recorded one message per call ($sent for $calls calls)" \
	test "$sent" = "$calls"
check "no message twice ($distinct distinct of $sent)" test "$distinct" = "$sent"
check "webhooks were answered across the swaps ($(field webhooks_ok))" \
	test "$(field webhooks_ok)" -gt 0
echo "1..$n"
[ "$failed" = 0 ]
