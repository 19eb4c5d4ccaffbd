#!/bin/sh
# host_cli.sh - connector-host end to end with the fake connector:
# describe, check (secrets masked, --online), invoke, --batch with
# --concurrency (output in input order), listen (events, --refuse-publish,
# SIGTERM, end of stdin), --help, --version, --store-bytes, the wording of
# the messages a user reads, and every exit code.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
CH="$top_builddir/host-api/connector-host"
V1="$top_builddir/tests/plugins/fake-v1.la"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/host_cli"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
unset CONNHOST_KEEP_COPIES
SECRET=cli-SECRET-9876

n=0 failed=0
lines() { wc -l <"$1" | tr -d ' '; }
# wait_for FILE PATTERN COUNT: bounded (30 s) until COUNT lines match
wait_for() {
	i=0
	while [ "$(grep -c -F -- "$2" "$1" 2>/dev/null || true)" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		sleep 0.1
	done
}

cat >"$T/good.conf" <<EOT
# the fake connector
FAKE_NAME = "cli test"
FAKE_TOKEN=\${env:CLI_SECRET}
EOT
CLI_SECRET=$SECRET; export CLI_SECRET
printf '{"FAKE_NAME":"json","FAKE_ONLINE":"fail"}' >"$T/fail.json"
printf 'FAKE_NAME=busy\nFAKE_BUSY=yes\n' >"$T/busy.conf"
printf 'FAKE_TOKEN=%s\n' "$SECRET" >"$T/noname.conf"
printf '{"x":"y"}' >"$T/vars.json"

# describe
run 0 "describe" describe "$V1"
check "describe prints the definition" has "$T/out" '"name":"fake","version":"1.0.0"'
if [ -n "${PYTHON3:-}" ]; then
	check "describe prints valid JSON" "$PYTHON3" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"
fi

# check (each connector-host run costs seconds under valgrind: one run
# checks several things)
run 0 "check --online" check "$V1" --config "$T/good.conf" --online
check "check prints the effective configuration, secret masked" has "$T/out" \
	'{"FAKE_NAME":"cli test","FAKE_TOKEN":"********","FAKE_LIMIT":"1000","FAKE_ONLINE":"ok","FAKE_BUSY":"false"}'
check "the secret is in neither output" sh -c "! grep -q -F '$SECRET' '$T/out' '$T/err'"
check "check --online prints the outputs of check_connection" has "$T/out" '{"ok":true,"version":1}'
run 1 "check --online, connection refused" check "$V1" --config "$T/fail.json" --online
check "with the error in the outputs" has "$T/out" '"error":"online: FAKE_ONLINE says fail"'

# invoke
run 0 "invoke echo" invoke "$V1" echo --config "$T/good.conf" \
	--inputs '{"a":[1,2]}' --vars "@$T/vars.json" --idempotency-key task-7
check "one JSON line of outputs" test "$(cat "$T/out")" = \
	'{"echo":{"a":[1,2]},"vars":{"x":"y"},"name":"cli test","idempotency_key":"task-7","version":1}'
run 0 "invoke past the deadline: errors are data" invoke "$V1" sleep \
	--config "$T/good.conf" --inputs '{"ms":60000}' --deadline-ms 200
check "completes at the deadline with an error" has "$T/out" '"error":"deadline'

# --batch
{
	for ms in 300 200 100 0 50 10; do echo "{\"inputs\":{\"ms\":$ms}}"; done
} >"$T/batch"
run 0 "invoke --batch --concurrency 4" invoke "$V1" sleep --config "$T/good.conf" \
	--batch "$T/batch" --concurrency 4
check "six lines" test "$(lines "$T/out")" = 6
check "in input order" test "$(sed 's/.*"index":\([0-9]*\).*"slept":\([0-9]*\).*/\1:\2/' "$T/out" | tr '\n' ' ')" = \
	"0:300 1:200 2:100 3:0 4:50 5:10 "
printf '{"inputs":{"i":1},"idempotency_key":"k"}\n\n{"inputs":{"i":2},"vars":{"v":1}}\n' >"$T/batch2"
$WRAP "$CH" invoke "$V1" echo --config "$T/good.conf" --batch - <"$T/batch2" >"$T/out" 2>"$T/err"
check "--batch - reads stdin, one call at a time by default" test "$(cat "$T/out")" = \
'{"index":0,"outputs":{"echo":{"i":1},"vars":null,"name":"cli test","idempotency_key":"k","version":1}}
{"index":1,"outputs":{"echo":{"i":2},"vars":{"v":1},"name":"cli test","version":1}}'
printf '{"inputs":[1]}\n' >"$T/badbatch"
run 2 "a bad --batch line is a usage error" invoke "$V1" echo --config "$T/good.conf" --batch "$T/badbatch"
check "naming the line" has "$T/err" '--batch line 1: inputs: expected a JSON object'

# listen: events until the end of stdin
mkfifo "$T/in"
$WRAP "$CH" listen "$V1" TICK --config "$T/good.conf" \
	--params '{"interval_ms":10,"count":3}' <"$T/in" >"$T/events" 2>"$T/lerr" &
pid=$!
exec 3>"$T/in"
if wait_for "$T/events" '"event":{"tick":' 3; then ok "listen: three events"; else nok "listen: three events"; fi
exec 3>&-
wait $pid
code=$?
check "listen ends at the end of stdin, exit 0 (got $code)" test "$code" = 0
check "events are {sub_id, event} lines" has "$T/events" '{"sub_id":1,"event":{"tick":1,"version":1,"name":"cli test"}}'

# listen --refuse-publish
$WRAP "$CH" listen "$V1" TICK --config "$T/good.conf" --refuse-publish \
	--params '{"interval_ms":10,"count":2}' <"$T/in" >"$T/events" 2>"$T/lerr" &
pid=$!
exec 3>"$T/in"
if wait_for "$T/lerr" '"msg":"publish refused"' 2; then ok "--refuse-publish: the plugin saw two refusals"; else nok "--refuse-publish: the plugin saw two refusals"; fi
exec 3>&-
wait $pid
check "and nothing was printed" test ! -s "$T/events"
check "the refusal reason reached the plugin" has "$T/lerr" '"error":"refused by connector-host --refuse-publish"'

# listen: SIGTERM
$WRAP "$CH" listen "$V1" TICK --config "$T/good.conf" \
	--params '{"interval_ms":10,"count":1}' <"$T/in" >"$T/events" 2>"$T/lerr" &
pid=$!
exec 3>"$T/in"
wait_for "$T/events" '"tick":1' 1
kill -TERM $pid
wait $pid
code=$?
exec 3>&-
check "listen ends on SIGTERM, exit 0 (got $code)" test "$code" = 0

# --help
run 0 "invoke --help" invoke --help
check "--help lists the exit codes" has "$T/out" "6 no completion in time"

# every exit code
run 2 "no command"
run 2 "unknown option" describe "$V1" --frob
run 2 "invalid --inputs JSON" invoke "$V1" echo --config "$T/good.conf" --inputs '{"a":'
check "says so" has "$T/err" '--inputs: expected a JSON object'
run 3 "plugin refused" describe "$top_builddir/tests/plugins/bad-major.la"
check "says why" has "$T/err" 'ABI major 2'
run 4 "configuration invalid" check "$V1" --config "$T/noname.conf"
check "naming the key" has "$T/err" 'FAKE_NAME: required key missing'
check "never the secret" sh -c "! grep -q -F '$SECRET' '$T/err' '$T/out'"
run 5 "unknown action" invoke "$V1" nope --config "$T/good.conf" --inputs '{}'
check "says so" has "$T/err" "unknown action 'nope'"
run 6 "no completion by the deadline" invoke "$V1" hang --config "$T/good.conf" --inputs '{}' --deadline-ms 50
run 7 "shutdown left a thread" invoke "$V1" echo --config "$T/busy.conf" --inputs '{}'
check "the outputs were still printed" has "$T/out" '"name":"busy"'

# --version (issue 8, item 15)
ver=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
run 0 "--version" --version
check "prints the package version ($ver)" has "$T/out" "connector-host (twilio-connector) $ver"
check "and the ABI version" has "$T/out" "connector ABI 1.1"
run 0 "-V" -V
check "-V prints the same" has "$T/out" "connector-host (twilio-connector) $ver"

# messages that name the fix (issue 8, item 14)
run 2 "a cut-off --inputs" invoke "$V1" echo --config "$T/good.conf" --inputs '{"a":[1,'
check "says the JSON text ends early, not json-c's 'continue'" has "$T/err" \
	'"msg":"--inputs: expected a JSON object (the JSON text ends early (unclosed { or [ or string?))"'
run 2 "a cut-off --vars" invoke "$V1" echo --config "$T/good.conf" --inputs '{}' --vars '{"s":"abc'
check "the same for --vars" has "$T/err" \
	'"msg":"--vars: expected a JSON object (the JSON text ends early (unclosed { or [ or string?))"'
printf '{"inputs":{"a":1}\n' >"$T/cutbatch"
run 2 "a cut-off --batch line" invoke "$V1" echo --config "$T/good.conf" --batch "$T/cutbatch"
check "the same for a --batch line" has "$T/err" \
	'"msg":"--batch line 1: expected a JSON object (the JSON text ends early (unclosed { or [ or string?))"'
printf 'FAKE_NAME=x\nFAKE_LIMIT=lots\n' >"$T/badlimit.conf"
run 4 "an integer key with a bad value" check "$V1" --config "$T/badlimit.conf"
check "one 'configuration', the key, its range and the value" has "$T/err" \
	"\"msg\":\"configuration $T/badlimit.conf refused: FAKE_LIMIT: expected an integer from 1 to 1000000, got 'lots'\""
check "no doubled 'configuration:' prefix" sh -c "! grep -q 'configuration: ' '$T/err'"

# --store-bytes reaches the store (issue 8, item 2)
run 0 "--store-bytes 64K" invoke "$V1" claim --config "$T/good.conf" \
	--inputs '{"prefix":"send/k","count":1000}' --store-bytes 64K
check "a small store refuses claims once full" sh -c "grep -q '\"full\":[1-9]' '$T/out'"
run 0 "the default store" invoke "$V1" claim --config "$T/good.conf" \
	--inputs '{"prefix":"send/k","count":1000}'
check "holds them all" has "$T/out" '{"new":1000,"full":0,'
run 2 "--store-bytes refuses a size below 64K" invoke "$V1" claim --config "$T/good.conf" \
	--inputs '{}' --store-bytes 12
check "saying what it expects" has "$T/err" "--store-bytes: expected a size in bytes from 64K to 1T"

check "no private copy left behind" sh -c "[ -z \"\$(ls '$T' | grep connhost-)\" ]"
echo "1..$n"
[ $failed = 0 ]
