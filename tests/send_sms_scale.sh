#!/bin/sh
# send_sms_scale.sh - 1,000 recipients in one call; 200 calls at once
# through one instance (connector-host invoke --batch --concurrency).
. "$top_srcdir/tests/send_sms_lib.sh"

start_sandbox --threads 4
config "$T/cfg.json"

"$PY" -c 'import json; print(json.dumps({"smsFrom":"+15005550006","smsTo":",".join("+1415555%04d" % i for i in range(1000)),"smsBody":"Hello ${name}"}))' >"$T/big.json"
invoke big "@$T/big.json" --vars '{"name":"Ann"}' --deadline-ms 60000
is 0 "$RC" "1000 recipients: exit 0"
is 1000 "$(q "$T/big.out" 'len(res())')" "1000 results"
is null "$(q "$T/big.out" 'o["twilioError"]')" "no error"
is true "$(q "$T/big.out" '[r["index"] for r in res()] == list(range(1000))')" "in smsTo order"
is 1000 "$(count_lines "$RECORD")" "1000 messages recorded"
is 1000 "$(q "$RECORD" 'len(set(l["to"] for l in lines))')" "each recipient once"
is true "$(q "$REQUESTS" 'max(l["request_on_connection"] for l in lines) > 1')" "connections reused"

: >"$RECORD"
"$PY" -c '
import json
for i in range(200):
    print(json.dumps({"inputs":{"smsFrom":"+15005550006","smsTo":"+1415666%04d" % i,"smsBody":"call ${i}"},"vars":{"i":i}}))
' >"$T/batch.jsonl"
$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" --batch "$T/batch.jsonl" \
	--concurrency 200 --deadline-ms 60000 >"$T/batch.out" 2>"$T/batch.log"
is 0 $? "200 concurrent calls: exit 0"
is 200 "$(count_lines "$T/batch.out")" "200 completions"
is true "$(q "$T/batch.out" 'all(l["outputs"]["twilioError"] is None and len(l["outputs"]["twilioResult"]) == 1 for l in lines)')" "all sent"
is true "$(q "$T/batch.out" '[l["outputs"]["twilioResult"][0]["to"] for l in lines] == ["+1415666%04d" % i for i in range(200)]')" "each call its own recipient, in input order"
is 200 "$(count_lines "$RECORD")" "200 messages recorded"
is true "$(q "$RECORD" 'sorted(l["body"] for l in lines) == sorted("call %d" % i for i in range(200))')" "each body rendered with its own variables"

finish
