#!/bin/sh
# send_sms_retry.sh - a refused connection (nothing listening yet) is
# retried because no request byte was sent; the sandbox then starts on that
# port and the message is sent exactly once. Also the call's deadline.
. "$top_srcdir/tests/send_sms_lib.sh"

SB_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE="http://127.0.0.1:$SB_PORT"
config "$T/cfg.json" TWILIO_MAX_RETRIES=20
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --log-level debug \
	--inputs '{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"}' \
	--deadline-ms 60000 >"$T/refused.out" 2>"$T/refused.log" &
CH_PID=$!
i=0
until grep -q 'no request byte was sent; retrying' "$T/refused.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 400 ] || break
	sleep 0.05
done
ok "$([ $i -le 400 ]; echo $?)" "connection refused: retrying"
start_sandbox
wait "$CH_PID"
is 0 $? "invoke: exit 0"
is queued "$(q "$T/refused.out" 'res()[0]["status"]')" "sent once the server listens"
is 1 "$(count_lines "$RECORD")" "exactly one message recorded"
is 1 "$(count_lines "$REQUESTS")" "one request reached the server"
stop_sandbox
SB_PORT=

# the deadline bounds the call: a slow server and a short deadline
start_sandbox --fault latency:ms=6000
config "$T/cfg.json"
t0=$(date +%s%N)
invoke dl '{"smsFrom":"+15005550006","smsTo":"+14155550100","smsBody":"x"}' --deadline-ms 500
t1=$(date +%s%N)
is 0 "$RC" "deadline: the call completed"
is DEADLINE_EXCEEDED "$(q "$T/dl.out" 'errs()[0]["error"]')" "deadline exceeded"
is true "$(q "$T/dl.out" '"may have been created" in errs()[0]["message"]')" "in flight: outcome unknown said"
ok "$([ $(( (t1 - t0) / 1000000 )) -lt 5500 ]; echo $?)" "did not wait for the slow answer"

finish
