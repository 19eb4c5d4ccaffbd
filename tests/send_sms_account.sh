#!/bin/sh
# send_sms_account.sh - answers that concern the whole call or the account,
# and what outside text may put into outputs and logs:
# - a wrong token or a sender Twilio refuses stops the call after the first
#   answer (one request, every recipient gets the error naming the fix);
# - any 5xx (with Twilio's JSON, empty, HTML, or carrying a known code) is
#   TWILIO_OUTCOME_UNKNOWN, not retried, and its claim is kept;
# - Retry-After values that are huge, negative, garbage or dates;
# - the proxy's credentials never reach an output or a log, whatever
#   libcurl quotes; Twilio's messages have their numbers masked in logs.
. "$top_srcdir/tests/send_sms_lib.sh"

ONE='{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"}'
# N recipients +1415555{1000..1000+N-1}
many() { # N FROM
	"$PY" -c 'import json,sys; n=int(sys.argv[1]); print(json.dumps({"smsFrom": sys.argv[2], "smsTo": ",".join("+1415555%04d" % (1000 + i) for i in range(n)), "smsBody": "x"}))' "$1" "$2"
}
sanitizer_clean() { # LOG
	! grep -q 'runtime error\|AddressSanitizer' "$1"
}

# --- a wrong token: one request, then every recipient reports it
start_sandbox
config "$T/cfg.json" TWILIO_TOKEN=wrong-token TWILIO_MAX_CONCURRENCY=1
invoke auth "$(many 20 +15005550006)"
is 1 "$(count_lines "$REQUESTS")" "wrong token: exactly one request"
is 0 "$(count_lines "$RECORD")" "wrong token: nothing sent"
is 20 "$(q "$T/auth.out" 'len(errs())')" "wrong token: an error per recipient"
is '["AUTHENTICATION_CONNECTION_ERROR"]' "$(q "$T/auth.out" 'sorted(set(e["error"] for e in errs()))')" "wrong token: all authentication errors"
is '["TWILIO_TOKEN"]' "$(q "$T/auth.out" 'sorted(set(e["field"] for e in errs()))')" "wrong token: field names TWILIO_TOKEN"
is true "$(q "$T/auth.out" 'all("TWILIO_TOKEN" in e["message"] and "TWILIO_ACCOUNT" in e["message"] for e in errs())')" "wrong token: every message names the keys to fix"
is true "$(q "$T/auth.out" 'all(not e["retryable"] for e in errs())')" "wrong token: not retryable"
is 19 "$(q "$T/auth.out" 'sum(1 for e in errs() if e["message"].startswith("not sent: "))')" "wrong token: the rest say not sent"
is '[0]' "$(q "$T/auth.out" '[e["index"] for e in errs() if not e["message"].startswith("not sent: ")]')" "wrong token: the first one got the answer"

# default concurrency: only the requests already in flight go out
config "$T/cfg.json" TWILIO_TOKEN=wrong-token
: >"$REQUESTS"
invoke auth16 "$(many 60 +15005550006)"
ok "$([ "$(count_lines "$REQUESTS")" -le 16 ]; echo $?)" "wrong token, 60 recipients: at most the 16 in flight sent ($(count_lines "$REQUESTS"))"
is 60 "$(q "$T/auth16.out" 'len(errs())')" "wrong token, 60 recipients: 60 errors"

# check --online says the same
$WRAP "$CH" check "$PLUGIN" --config "$T/cfg.json" --online >"$T/chk.out" 2>"$T/chk.log"
is true "$("$PY" - "$T/auth.out" "$T/chk.out" <<'PYEOF'
import json, sys
a = json.load(open(sys.argv[1]))["twilioError"][0]["message"].split(" (Twilio")[0]
c = open(sys.argv[2]).read()
print("true" if a in c else "false: %r not in %r" % (a, c))
PYEOF
)" "check --online and send_sms use the same wording"
stop_sandbox

# --- a sender Twilio refuses: one request, field smsFrom
start_sandbox
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=1
invoke from "$(many 5 +15005550001)"
is 1 "$(count_lines "$REQUESTS")" "refused sender (21212): exactly one request"
is '["INVALID_FROM_PHONE_NUMBER_ERROR"]' "$(q "$T/from.out" 'sorted(set(e["error"] for e in errs()))')" "refused sender: invalid from"
is '["smsFrom"]' "$(q "$T/from.out" 'sorted(set(e["field"] for e in errs()))')" "refused sender: field smsFrom"
is 5 "$(q "$T/from.out" 'sum(1 for e in errs() if "smsFrom" in e["message"] and e["code"] == 21212)')" "refused sender: every message names smsFrom"
: >"$REQUESTS"
invoke from2 "$(many 5 +15005550007)"
is 1 "$(count_lines "$REQUESTS")" "refused sender (21606): exactly one request"
is '["smsFrom"]' "$(q "$T/from2.out" 'sorted(set(e["field"] for e in errs()))')" "refused sender (21606): field smsFrom"
# a refused recipient is not account-level: the others are sent
: >"$REQUESTS"
invoke to '{"smsFrom":"+15005550006","smsTo":"+15005550001,+14155550100","smsBody":"x"}'
is 2 "$(count_lines "$REQUESTS")" "a refused recipient does not stop the call"
is '["smsTo"]' "$(q "$T/to.out" '[e["field"] for e in errs()]')" "a refused recipient: field smsTo"

# an account that is not active (20005): field TWILIO_ACCOUNT
stop_sandbox
start_sandbox --fault error:status=401,code=20005
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=1
invoke inactive "$(many 5 +15005550006)"
is 1 "$(count_lines "$REQUESTS")" "account not active (20005): exactly one request"
is '["AUTHENTICATION_CONNECTION_ERROR"]' "$(q "$T/inactive.out" 'sorted(set(e["error"] for e in errs()))')" "account not active: authentication error"
is '["TWILIO_ACCOUNT"]' "$(q "$T/inactive.out" 'sorted(set(e["field"] for e in errs()))')" "account not active: field TWILIO_ACCOUNT"
is 5 "$(q "$T/inactive.out" 'sum(1 for e in errs() if "not active" in e["message"])')" "account not active: every message says so"
stop_sandbox
start_sandbox
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=1

# --- phone numbers in Twilio's messages: masked in the log
is false "$(grep -q '+15005550001' "$T/to.log" && echo true || echo false)" "LOG_NUMBERS=false: Twilio's message logged without the number"
ok "$(grep -q '+1500•••0001' "$T/to.log"; echo $?)" "LOG_NUMBERS=false: the number masked in Twilio's message"
is true "$(q "$T/to.out" '"+15005550001" in errs()[0]["message"]')" "the output keeps Twilio's message whole"
is false "$(grep -q '+15005550001\|+14155550100' "$T/from.log" "$T/auth.log" && echo true || echo false)" "no unmasked number in any log"
config "$T/cfg.json" LOG_NUMBERS=true
invoke tonum '{"smsFrom":"+15005550006","smsTo":"+15005550001","smsBody":"x"}'
ok "$(grep -q "The 'To' number +15005550001" "$T/tonum.log"; echo $?)" "LOG_NUMBERS=true: Twilio's message logged as is"
stop_sandbox

# --- 5xx: the message may exist, whatever the body; not retried
for fault in 503 503:body=empty 503:body=html 500:code=21211 500:body=empty; do
	start_sandbox --fault "$fault"
	config "$T/cfg.json"
	invoke s5xx "$ONE"
	is '["TWILIO_OUTCOME_UNKNOWN", false]' "$(q "$T/s5xx.out" '[errs()[0]["error"], errs()[0]["retryable"]]')" "$fault: outcome unknown, not retryable"
	is true "$(q "$T/s5xx.out" '"may have been created" in errs()[0]["message"] and "do not resend it blindly" in errs()[0]["message"]')" "$fault: says the message may exist, not to resend blindly"
	is 1 "$(count_lines "$REQUESTS")" "$fault: one request"
	stop_sandbox
done

# a 503 keeps the claim: the engine's retry of the task sends nothing
start_sandbox --fault 503:first=1
config "$T/cfg.json"
L='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"},"idempotency_key":"task-503"}'
printf '%s\n%s\n' "$L" "$L" >"$T/r503.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/r503.jsonl" \
	>"$T/r503.out" 2>"$T/r503.log"
is '["TWILIO_OUTCOME_UNKNOWN", "TWILIO_OUTCOME_UNKNOWN"]' "$(q "$T/r503.out" '[l["outputs"]["twilioError"][0]["error"] for l in lines]')" "503 then the task's retry: outcome unknown both times"
is 1 "$(count_lines "$REQUESTS")" "503: the retry of the task sent no second request"
stop_sandbox

# --- Retry-After: never overflows, garbage ignored, clamped to the deadline
start_sandbox --fault 429:retry-after=9223372036854775807
config "$T/cfg.json"
invoke rahuge "$ONE"
is 0 "$RC" "Retry-After 2^63-1: the host did not abort"
ok "$(sanitizer_clean "$T/rahuge.log"; echo $?)" "Retry-After 2^63-1: no sanitizer report"
is '["RATE_LIMITED", true]' "$(q "$T/rahuge.out" '[errs()[0]["error"], errs()[0]["retryable"]]')" "Retry-After past the deadline: rate limited at once"
is true "$(q "$T/rahuge.out" '"deadline" in errs()[0]["message"]')" "says the wait goes past the deadline"
is 1 "$(count_lines "$REQUESTS")" "Retry-After past the deadline: not retried"
stop_sandbox
for ra in -5 soon 99999999999999999999999 date-100 date+1; do
	start_sandbox --fault "429:first=1,retry-after=$ra"
	config "$T/cfg.json"
	invoke ra "$ONE"
	is 0 "$RC" "Retry-After '$ra': exit 0"
	ok "$(sanitizer_clean "$T/ra.log"; echo $?)" "Retry-After '$ra': no sanitizer report"
	if [ "$ra" = 99999999999999999999999 ]; then
		# libcurl may read it as 0 (back-off) or as its maximum
		# (past the deadline): either way one clean answer
		is 1 "$(q "$T/ra.out" 'len(res()) + len(errs())')" "Retry-After '$ra': one answer"
	else
		is queued "$(q "$T/ra.out" 'res()[0]["status"]')" "Retry-After '$ra': retried and sent"
		is 2 "$(count_lines "$REQUESTS")" "Retry-After '$ra': two requests"
	fi
	stop_sandbox
done
ok "$(grep -q 'attempt 2 of 4' "$T/ra.log"; echo $?)" "the retry log line shows the attempt number"

# --- the proxy's credentials: never in an output or a log
CLOSED=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
PW="PROXYPW-e2e-4711"
for px in "http://bob:$PW@127.0.0.1:$CLOSED" \
	"http://bob:top/$PW@127.0.0.1:$CLOSED" \
	"http://bob:top/$PW$(printf 'x%.0s' $(seq 1 300))@127.0.0.1:$CLOSED"; do
	BASE="http://127.0.0.1:$CLOSED"
	config "$T/cfg.json" TWILIO_PROXY="$px" TWILIO_MAX_RETRIES=1
	invoke proxy "$ONE"
	is TWILIO_CONNECTION_ERROR "$(q "$T/proxy.out" 'errs()[0]["error"]')" "proxy unreachable: connection error"
	is true "$(q "$T/proxy.out" '"TWILIO_PROXY" in errs()[0]["message"]')" "proxy unreachable: names TWILIO_PROXY"
	is false "$(grep -q "PROXYPW\|bob:top" "$T/proxy.out" "$T/proxy.log" && echo true || echo false)" "proxy credentials in neither output nor log ($(q "$T/proxy.out" 'errs()[0]["message"][:90]'))"
done

finish
