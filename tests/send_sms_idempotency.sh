#!/bin/sh
# send_sms_idempotency.sh - the same idempotency key twice in one host
# (one store): one message per recipient, identical outputs; a failed
# recipient is retried under the same key, an accepted one is not.
. "$top_srcdir/tests/send_sms_lib.sh"

start_sandbox
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=4
L='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100,+14155550101,+14155550102","smsBody":"x"},"idempotency_key":"task-7"}'
printf '%s\n%s\n' "$L" "$L" >"$T/twice.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/twice.jsonl" \
	>"$T/twice.out" 2>"$T/twice.log"
is 0 $? "batch: exit 0"
is 3 "$(count_lines "$RECORD")" "one message per recipient"
is true "$(q "$T/twice.out" 'lines[0]["outputs"] == lines[1]["outputs"]')" "identical outputs"
is 3 "$(q "$T/twice.out" 'len(lines[1]["outputs"]["twilioResult"])')" "three results the second time"

# a different key sends again
L2='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"},"idempotency_key":"task-8"}'
printf '%s\n' "$L2" >"$T/other.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/other.jsonl" \
	>"$T/other.out" 2>"$T/other.log"
is 4 "$(count_lines "$RECORD")" "another key sends again"
stop_sandbox

# a recipient refused with 429 until retries ran out is forgotten, so the
# engine's retry of the task sends it; the accepted one is not resent
start_sandbox --fault 429:first=1
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=1 TWILIO_MAX_RETRIES=0
L3='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100,+14155550101","smsBody":"x"},"idempotency_key":"task-9"}'
printf '%s\n%s\n' "$L3" "$L3" >"$T/retry.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/retry.jsonl" \
	>"$T/retry.out" 2>"$T/retry.log"
is '["RATE_LIMITED"]' "$(q "$T/retry.out" '[e["error"] for e in lines[0]["outputs"]["twilioError"]]')" "first call: one rate limited"
is null "$(q "$T/retry.out" 'lines[1]["outputs"]["twilioError"]')" "second call: no error"
is 2 "$(count_lines "$RECORD")" "each recipient sent once in total"
is true "$(q "$T/retry.out" 'lines[0]["outputs"]["twilioResult"][0] == lines[1]["outputs"]["twilioResult"][1]')" "the accepted one returned from the store"

stop_sandbox

# an unknown outcome is remembered: the task's retry does not resend
start_sandbox --fault drop-after:reused=1,first=1
config "$T/cfg.json" TWILIO_MAX_CONCURRENCY=1
L4='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100,+14155550101","smsBody":"x"},"idempotency_key":"task-10"}'
printf '%s\n%s\n' "$L4" "$L4" >"$T/unknown.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/unknown.jsonl" \
	>"$T/unknown.out" 2>"$T/unknown.log"
is '["TWILIO_OUTCOME_UNKNOWN"]' "$(q "$T/unknown.out" '[e["error"] for e in lines[0]["outputs"]["twilioError"]]')" "first call: outcome unknown"
is '["TWILIO_OUTCOME_UNKNOWN", false]' "$(q "$T/unknown.out" '[lines[1]["outputs"]["twilioError"][0][k] for k in ("error","retryable")]')" "retry: still unknown, not resent"
is true "$(q "$T/unknown.out" '"earlier call" in lines[1]["outputs"]["twilioError"][0]["message"]')" "says an earlier call may have sent it"
is 2 "$(count_lines "$RECORD")" "each recipient recorded once"
stop_sandbox

# the same key in two calls at once: the second does not send, says why
start_sandbox --fault latency:ms=700
config "$T/cfg.json"
L5='{"inputs":{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"},"idempotency_key":"task-11"}'
printf '%s\n%s\n' "$L5" "$L5" >"$T/busy.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/busy.jsonl" \
	--concurrency 2 >"$T/busy.out" 2>"$T/busy.log"
is 1 "$(count_lines "$RECORD")" "concurrent same key: one message"
is 1 "$(q "$T/busy.out" 'sum(len(l["outputs"]["twilioResult"]) for l in lines)')" "one call sent it"
is true "$(q "$T/busy.out" 'any(e["retryable"] and "right now" in e["message"] for l in lines for e in (l["outputs"]["twilioError"] or []))')" \
	"the other says it is in progress, retryable"

finish
