#!/bin/sh
# send_sms_basic.sh - send_sms end to end through connector-host and
# twilio-sandbox: one recipient, smsTo in every written form, dry run,
# partial success, every magic test number, bad credentials, check --online.
. "$top_srcdir/tests/send_sms_lib.sh"

start_sandbox
config "$T/cfg.json"

# one recipient
invoke one '{"smsFrom":"+15005550006","smsTo":"+1 (415) 555-0100","smsBody":"Order ${order} is ready"}' \
	--vars '{"order":42}'
is 0 "$RC" "one recipient: exit 0"
is +14155550100 "$(q "$T/one.out" 'res()[0]["to"]')" "to normalised"
is '+1 (415) 555-0100' "$(q "$T/one.out" 'res()[0]["input"]')" "input as written"
is queued "$(q "$T/one.out" 'res()[0]["status"]')" "status queued"
is true "$(q "$T/one.out" 'res()[0]["sid"].startswith("SM") and len(res()[0]["sid"]) == 34')" "sid"
is null "$(q "$T/one.out" 'o["twilioError"]')" "twilioError null"
is 'Order 42 is ready' "$(q "$RECORD" 'lines[0]["body"]')" "body rendered with the variables"
is 1 "$(count_lines "$RECORD")" "one message recorded"
ok "$(grep -q '+14155550100' "$T/one.log"; echo $((! $?)))" \
	"logs never carry the full number"

# smsTo in every written form: array, commas, semicolons, new lines,
# spaces/dots/dashes/parentheses inside, whatsapp, duplicates
: >"$RECORD"
invoke forms '{"smsFrom":"+15005550006","smsTo":"+1 415 555 0101, +1.415.555.0102;+1-415-555-0103\n(+1) 415 555 0104,+14155550101,whatsapp:+1 415 555 0105","smsBody":"x"}'
is '["+14155550101", "+14155550102", "+14155550103", "+14155550104", "whatsapp:+14155550105"]' \
	"$(q "$T/forms.out" '[r["to"] for r in res()]')" "string form: split, cleaned, deduplicated, in order"
is '[0, 1, 2, 3, 5]' "$(q "$T/forms.out" '[r["index"] for r in res()]')" "indexes as written"
is 5 "$(count_lines "$RECORD")" "five messages recorded"
invoke arr '{"smsFrom":"+15005550006","smsTo":["+44 20 7946 0000","+33 (1) 23-45-67-89"],"smsBody":"x"}'
is '["+442079460000", "+33123456789"]' "$(q "$T/arr.out" '[r["to"] for r in res()]')" "array form"

# partial success: one entry without a country code, one refused by
# Twilio, one sent
: >"$RECORD"
invoke partial '{"smsFrom":"+15005550006","smsTo":["(415) 555-0100","+15005550001","+14155550106"],"smsBody":"x"}'
is '["+14155550106"]' "$(q "$T/partial.out" '[r["to"] for r in res()]')" "partial: the valid one sent"
is '["INVALID_TO_PHONE_NUMBER_ERROR", "INVALID_TO_PHONE_NUMBER_ERROR"]' \
	"$(q "$T/partial.out" '[e["error"] for e in errs()]')" "partial: two errors"
is true "$(q "$T/partial.out" 'errs()[0]["message"].startswith("smsTo[0] \x27(415) 555-0100\x27: no country code; write +1 415 555 0100")')" \
	"hint for the missing country code"
is '[21211, 400, 1, "+15005550001"]' \
	"$(q "$T/partial.out" '[errs()[1][k] for k in ("code","httpStatus","index","to")]')" "Twilio's refusal mapped"
is true "$(q "$T/partial.out" 'errs()[1]["moreInfo"].startswith("https://")')" "moreInfo"
is 1 "$(count_lines "$RECORD")" "partial: one message recorded"

# every magic number
magic() { # FROM TO EXPECTED-ERROR CODE
	invoke magic "{\"smsFrom\":\"$1\",\"smsTo\":\"$2\",\"smsBody\":\"x\"}"
	is "[\"$3\", $4]" "$(q "$T/magic.out" '[errs()[0]["error"], errs()[0]["code"]]')" "magic $1 -> $2: $3"
}
magic +15005550001 +14155550100 INVALID_FROM_PHONE_NUMBER_ERROR 21212
magic +15005550007 +14155550100 INVALID_FROM_PHONE_NUMBER_ERROR 21606
magic +15005550008 +14155550100 SENDER_QUEUE_FULL 21611
magic +15005550006 +15005550001 INVALID_TO_PHONE_NUMBER_ERROR 21211
magic +15005550006 +15005550002 INVALID_TO_PHONE_NUMBER_ERROR 21612
magic +15005550006 +15005550003 PERMISSION_DENIED_ERROR 21408
magic +15005550006 +15005550004 RECIPIENT_OPTED_OUT 21610
magic +15005550006 +15005550009 INVALID_TO_PHONE_NUMBER_ERROR 21614

# messaging service and media
: >"$RECORD"
invoke mg '{"smsFrom":"MG0123456789abcdef0123456789abcdef","smsTo":"+14155550107","smsBody":"x","mediaUrl":["https://example.com/a.png","https://example.com/b.png"],"statusCallback":"https://example.com/cb"}'
is accepted "$(q "$T/mg.out" 'res()[0]["status"]')" "messaging service: accepted"
is '["MG0123456789abcdef0123456789abcdef", null, 2, "https://example.com/cb"]' \
	"$(q "$RECORD" '[lines[0]["messaging_service_sid"], lines[0].get("from"), len(lines[0]["media_url"]), lines[0]["status_callback"]]')" \
	"MessagingServiceSid, MediaUrl and StatusCallback sent"

# segments: a UCS-2 body of 71 characters is two segments
invoke seg '{"smsFrom":"+15005550006","smsTo":"+14155550108","smsBody":"\u0160aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
is 2 "$(q "$T/seg.out" 'res()[0]["segments"]')" "segments from Twilio (UCS-2, 71 chars)"

# dry run sends nothing
: >"$RECORD"
: >"$REQUESTS"
invoke dry '{"smsFrom":"+15005550006","smsTo":"+14155550100,+14155550101","smsBody":"\u00e9t\u00e9 ${n} \u20ac \u0160","dryRun":true}' --vars '{"n":3}'
is '["UCS-2", 2, "\u0160"]' "$(q "$T/dry.out" '[o["dryRun"]["encoding"], len(o["dryRun"]["recipients"]), o["dryRun"]["ucs2Character"]]')" \
	"dry run: encoding, recipients, the character forcing UCS-2"
is 0 "$(count_lines "$REQUESTS")" "dry run: no request"

# dry run with an invalid recipient (issue 8: it crashed the host)
invoke dryinv '{"smsFrom":"+15005550006","smsTo":"+14155550100, (415) 555-0100","smsBody":"x","dryRun":true}'
is 0 "$RC" "dry run with an invalid recipient: exit 0"
is '[["+14155550100"], ["INVALID_TO_PHONE_NUMBER_ERROR"], null, null]' \
	"$(q "$T/dryinv.out" '[[r["to"] for r in o["dryRun"]["recipients"]], [e["error"] for e in errs()], o["dryRun"]["ucs2Character"], o["dryRun"]["ucs2Offset"]]')" \
	"dry run: the valid recipient listed, the invalid one in twilioError"
is 0 "$(count_lines "$REQUESTS")" "dry run with an invalid recipient: no request"

# every missing input in one answer, each saying what it should be
invoke missing '{}'
is '["smsFrom", "smsTo", "smsBody"]' "$(q "$T/missing.out" '[e["field"] for e in errs()]')" \
	"every missing input reported at once"
is true "$(q "$T/missing.out" 'errs()[1]["message"].startswith("smsTo: missing; give the recipients")')" \
	"smsTo: missing says what it should be"

# bad credentials
config "$T/cfg.json" TWILIO_TOKEN=wrong-token
invoke auth '{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"}'
is '["AUTHENTICATION_CONNECTION_ERROR", 20003, 401]' \
	"$(q "$T/auth.out" '[errs()[0][k] for k in ("error","code","httpStatus")]')" "wrong token"
$WRAP "$CH" check "$PLUGIN" --config "$T/cfg.json" --online >"$T/check-bad.out" 2>"$T/check-bad.log"
is 1 $? "check --online fails with a wrong token"
is AUTHENTICATION_CONNECTION_ERROR "$(q "$T/check-bad.out" 'lines[-1]["error"]')" "check names the error"
is true "$(q "$T/check-bad.out" '"TWILIO_TOKEN" in lines[-1]["message"]')" "check explains what to fix"
config "$T/cfg.json" TWILIO_ACCOUNT=AC11111111111111111111111111111111
$WRAP "$CH" check "$PLUGIN" --config "$T/cfg.json" --online >"$T/check-sid.out" 2>"$T/check-sid.log"
is 1 $? "check --online fails with another account SID"
config "$T/cfg.json"
$WRAP "$CH" check "$PLUGIN" --config "$T/cfg.json" --online >"$T/check.out" 2>"$T/check.log"
is 0 $? "check --online passes"
is true "$(q "$T/check.out" 'lines[-1]["ok"]')" "check: ok"
ok "$(grep -q "$TOKEN" "$T/check.out"; echo $((! $?)))" "check output masks the token"

finish
