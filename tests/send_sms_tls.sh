#!/bin/sh
# send_sms_tls.sh - HTTPS with a test CA (TWILIO_CA_BUNDLE), a wrong CA
# (refused, nothing sent), and a connection dropped before the TLS handshake
# (no request byte sent: retried, exactly one message).
. "$top_srcdir/tests/send_sms_lib.sh"

[ -n "${OPENSSL:-}" ] || command -v openssl >/dev/null 2>&1 || skip_all "openssl not found"
sh "$top_srcdir/tests/sandbox/make-test-ca.sh" "$T/ca" >/dev/null 2>&1 || skip_all "cannot make a test CA"
ONE='{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"}'

start_sandbox --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key"
config "$T/cfg.json" TWILIO_CA_BUNDLE="$T/ca/ca.pem"
invoke tls "$ONE"
is queued "$(q "$T/tls.out" 'res()[0]["status"]')" "https with the test CA"
is 1 "$(count_lines "$RECORD")" "one message recorded"

config "$T/cfg.json" TWILIO_CA_BUNDLE="$T/ca/other-ca.pem"
invoke wrong "$ONE"
is '["TWILIO_CONNECTION_ERROR", false]' "$(q "$T/wrong.out" '[errs()[0]["error"], errs()[0]["retryable"]]')" "wrong CA refused"
is true "$(q "$T/wrong.out" '"TWILIO_CA_BUNDLE" in errs()[0]["message"]')" "says what to check"
is 1 "$(count_lines "$RECORD")" "wrong CA: nothing sent"
stop_sandbox

# drop-before over TLS: the handshake fails, no request byte was sent,
# so it is retried and sent once
start_sandbox --tls-cert "$T/ca/server.pem" --tls-key "$T/ca/server.key" --fault drop-before:first=1
config "$T/cfg.json" TWILIO_CA_BUNDLE="$T/ca/ca.pem"
invoke dropb "$ONE"
diag "drop-before (https): $(cat "$T/dropb.out"); requests: $(count_lines "$REQUESTS")"
is queued "$(q "$T/dropb.out" 'res()[0]["status"]')" "drop-before over https: retried and sent"
is 1 "$(count_lines "$RECORD")" "exactly one message recorded"
ok "$(grep -q 'no request byte was sent; retrying' "$T/dropb.log"; echo $?)" "the log shows the retry"

finish
