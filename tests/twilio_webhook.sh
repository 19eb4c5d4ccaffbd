#!/bin/sh
# twilio_webhook.sh - connector-host twilio-webhook against the sandbox's
# IncomingPhoneNumbers: --check differs (exit 1, the difference named),
# --set writes sms_url and sms_method (then --check exits 0), the warning
# about sms_application_sid, an unknown number (NOT_FOUND, exit 7), an
# invalid number, a missing TWILIO_WEBHOOK_PUBLIC_URL, usage errors, and
# the token never in the output.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
CH="$top_builddir/host-api/connector-host"
PLUGIN="$top_builddir/plugin/twilio.la"
SB="$top_builddir/tests/sandbox/twilio-sandbox"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/twilio_webhook"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
TOKEN=tw-webhook-token-5150
PUB=https://orders.example.com/twilio/sms
APP=AP0123456789abcdef0123456789abcdef

n=0 failed=0
run() { # run EXPECTED DESCRIPTION ARGS...: stdout $T/out, stderr $T/err
	want=$1 d=$2; shift 2
	$WRAP "$CH" twilio-webhook "$PLUGIN" "$@" >"$T/out" 2>"$T/err" </dev/null
	got=$?
	if [ "$got" = "$want" ]; then ok "$d (exit $got)"; else
		nok "$d (exit $got, expected $want)"
		sed 's/^/#   /' "$T/out" "$T/err" | head -n 20
	fi
}

$WRAP "$SB" --port-file "$T/port" --token "$TOKEN" \
	--number "+15005550007:application=$APP" >"$T/sb.out" 2>&1 &
SBPID=$!
at_exit 'kill_pid "$SBPID"'
wait_until 30 test -s "$T/port" || {
	echo "Bail out! the sandbox did not start"
	cat "$T/sb.out"
	exit 1
}
cat >"$T/conf" <<EOT
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=$TOKEN
TWILIO_BASE_URL=http://127.0.0.1:$(cat "$T/port")
TWILIO_WEBHOOK_PUBLIC_URL=$PUB
EOT

$WRAP "$CH" twilio-webhook "$PLUGIN" --config "$T/conf" --number +15005550006 \
	--check >"$T/out" 2>"$T/err" </dev/null
if [ $? = 5 ] && has "$T/err" "unknown action"; then
	echo "1..0 # SKIP the plugin has no number_webhook action yet (plugin/twilio.c's table)"
	exit 0
fi

run 1 "--check: the seeded number has no sms_url" --config "$T/conf" \
	--number +15005550006 --check
check "... the outputs say so" has "$T/out" '"smsUrl":null,"smsMethod":"POST"'
check "... matches false, updated false" has "$T/out" '"matches":false,"updated":false'
check "... and the difference is named with the fix" \
	has "$T/err" "does not match: sms_url is not set (expected \\\"$PUB\\\", TWILIO_WEBHOOK_PUBLIC_URL)"
check "... --set suggested" has "$T/err" "run with --set to change it"
run 0 "--set writes it" --config "$T/conf" --number +15005550006 --set
check "... sms_url is the public URL" has "$T/out" "\"smsUrl\":\"$PUB\",\"smsMethod\":\"POST\""
check "... updated true" has "$T/out" '"matches":true,"updated":true'
run 0 "--check now matches" --config "$T/conf" --number +15005550006 --check
check "... nothing updated" has "$T/out" '"matches":true,"updated":false'
run 0 "--set again changes nothing" --config "$T/conf" --number +15005550006 --set
check "... updated false" has "$T/out" '"updated":false'
run 1 "a number with an application" --config "$T/conf" --number +15005550007 --check
check "... warns that sms_application_sid overrides sms_url" \
	has "$T/err" "has sms_application_sid $APP, which overrides sms_url"
check "... and reports it" has "$T/out" "\"smsApplicationSid\":\"$APP\""
run 7 "a number not on the account" --config "$T/conf" --number +15005550099 --check
check "... NOT_FOUND, with the fix" has "$T/err" "NOT_FOUND: the account has no such number: check --number"
run 7 "an invalid number" --config "$T/conf" --number 4155550100 --check
check "... INVALID_INPUT naming the form" has "$T/err" "expected the Twilio number in E.164 form"
grep -v TWILIO_WEBHOOK_PUBLIC_URL "$T/conf" >"$T/nopub.conf"
run 7 "no TWILIO_WEBHOOK_PUBLIC_URL" --config "$T/nopub.conf" --number +15005550006 --check
check "... says to set it" has "$T/err" "TWILIO_WEBHOOK_PUBLIC_URL is not set"
sed "s/^TWILIO_TOKEN=.*/TWILIO_TOKEN=wrong-token-123/" "$T/conf" >"$T/bad.conf"
run 7 "a wrong token" --config "$T/bad.conf" --number +15005550006 --check
check "... AUTHENTICATION with the keys to check" \
	has "$T/err" "check TWILIO_ACCOUNT and TWILIO_TOKEN"
run 2 "--check and --set together" --config "$T/conf" --number +15005550006 --check --set
run 2 "neither --check nor --set" --config "$T/conf" --number +15005550006
run 2 "no --number" --config "$T/conf" --check
if cat "$T"/out "$T"/err | grep -q -F "$TOKEN"; then
	nok "the token never appears in the output"
else
	ok "the token never appears in the output"
fi

echo "1..$n"
[ "$failed" = 0 ]
