#!/bin/sh
# serve.sh - connector-host serve with the fake_events plugin (no network
# but loopback): an event runs its trigger's action with the inputs
# mapped from it and the event as variables; the idempotency key is
# TRIGGER/messageSid; the port file; a full queue refuses the event (the
# plugin sees CONN_EREFUSED); SIGTERM with an action in flight finishes it
# and exits 0; bad triggers files are refused naming the trigger and the
# field; a trigger naming an unknown event or action is refused.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
CH="$top_builddir/host-api/connector-host"
FE="$top_builddir/tests/plugins/fake_events.la"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/serve"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
unset CONNHOST_KEEP_COPIES

n=0 failed=0
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
count() { grep -c -F -- "$2" "$1" 2>/dev/null || true; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; }

if ! command -v bash >/dev/null 2>&1; then
	echo "1..0 # SKIP bash (for /dev/tcp) not found"
	exit 0
fi
# send PORT JSON: one event line to fake_events; its answer on stdout
send() {
	bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf "%s\n" "$2" >&3
	while IFS= read -r l <&3; do
		[ "$l" = end ] && break
		printf "%s\n" "$l"
	done' _ "$1" "$2"
}

printf 'FAKE_RECORD=%s\n' "$T/record" >"$T/fe.conf"
cat >"$T/triggers.json" <<'EOT'
{"triggers": [{"name": "order-number",
   "event": "MESSAGE",
   "params": {"pattern": "Order Number (?<orderNumber>.+)"},
   "action": "record",
   "inputs": {"ms": 0, "smsFrom": "+15005550006", "smsTo": ["${from}"],
              "group": "${matchGroups.orderNumber}",
              "smsBody": "New order ${matchGroups.orderNumber} from ${from}"}}]}
EOT
EV1='{"messageSid":"SM0001","from":"+15005550010","to":"+15005550006","matchGroups":{"orderNumber":"12345"},"originalMessage":"Order Number 12345"}'

# start_serve NAME ARGS...: serve in the background (PID), port in $T/NAME.port
start_serve() {
	name=$1; shift
	$WRAP "$CH" serve "$FE" --config "$T/fe.conf" \
		--port-file "$T/$name.port" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" </dev/null &
	PID=$!
	at_exit "kill_pid $PID"
	if wait_until 60 test -s "$T/$name.port"; then
		PORT=$(cat "$T/$name.port")
		return 0
	fi
	sed 's/^/#   /' "$T/$name.err" | head -n 20
	return 1
}

# 1. event -> action with mapped inputs, variables and key
rm -f "$T/record"
if start_serve basic --triggers "$T/triggers.json"; then
	ok "serve starts and writes the port file ($PORT)"
	send "$PORT" "$EV1" >"$T/answer1"
	check "the event is accepted (rc 0)" has "$T/answer1" '"rc":0'
	check "the action ran" wait_until 30 at_least "$T/record" '"phase":"done"' 1
	check "an input that is one reference takes the event's value" \
		has "$T/record" '"smsTo":["+15005550010"]'
	check "a nested reference (matchGroups.orderNumber)" \
		has "$T/record" '"group":"12345"'
	check "other strings are passed as they are (the action renders them)" \
		has "$T/record" '"smsBody":"New order ${matchGroups.orderNumber} from ${from}"'
	check "the event is the call's variables" \
		has "$T/record" '"variables":{"messageSid":"SM0001"'
	check "the idempotency key is TRIGGER/messageSid" \
		has "$T/record" '"key":"order-number/SM0001"'
	send "$PORT" "$EV1" >/dev/null
	check "a redelivered event carries the same key" \
		wait_until 30 at_least "$T/record" '"key":"order-number/SM0001"' 4
	send "$PORT" '{"messageSid":"SM0002","to":"+15005550006"}' >"$T/answer2"
	check "an event without the referenced field is accepted" \
		has "$T/answer2" '"rc":0'
	check "... and its action fails, logged with the input and the path" \
		wait_until 30 has "$T/basic.err" 'inputs.smsTo[0]: ${from} is not in the event'
	check "one log line per event, numbers masked" \
		has "$T/basic.err" '"msg":"event","trigger":"order-number","messageSid":"SM0001","from":"+1500•••0010"'
	check "one log line per action result, with the sids" \
		has "$T/basic.err" '"sids":["SMfake'
	if has "$T/basic.err" '+15005550010'; then
		nok "no unmasked number in the log"
	else ok "no unmasked number in the log"; fi
	kill -TERM "$PID"
	wait_pid "$PID" 30
	rc=$?
	check "SIGTERM: exit 0 (got $rc)" test "$rc" = 0
	check "the stop is logged with the counts" \
		has "$T/basic.err" '"msg":"stopped","accepted":3'
else
	nok "serve starts and writes the port file"
fi

# 2. a full queue refuses; SIGTERM with work in flight finishes it
cat >"$T/slow.json" <<'EOT'
{"triggers": [{"name": "slow", "event": "MESSAGE", "action": "record",
   "inputs": {"ms": 1500, "n": "${n}"}}]}
EOT
rm -f "$T/record"
if start_serve slow --triggers "$T/slow.json" --workers 1 --queue 1; then
	send "$PORT" '{"messageSid":"SMa","n":1}' >"$T/a1"
	# the worker holds event 1 (its action has started) ...
	wait_until 30 at_least "$T/record" '"phase":"start"' 1
	send "$PORT" '{"messageSid":"SMb","n":2}' >"$T/a2" # ... 2 waits ...
	send "$PORT" '{"messageSid":"SMc","n":3}' >"$T/a3" # ... 3 is refused
	check "events within the queue are accepted" \
		sh -c "grep -q '\"rc\":0' '$T/a1' && grep -q '\"rc\":0' '$T/a2'"
	check "a full queue refuses the event (CONN_EREFUSED, -6)" \
		has "$T/a3" '"rc":-6'
	check "the refusal says why and what to do" \
		has "$T/a3" "serve's queue is full (1 events waiting): raise --queue or --workers"
	kill -TERM "$PID"
	wait_pid "$PID" 60
	rc=$?
	check "SIGTERM with an action in flight and one queued: exit 0 (got $rc)" \
		test "$rc" = 0
	check "the action in flight was finished" has "$T/record" '"key":"slow/SMa"}'
	check "the queued action ran too" has "$T/record" '"inputs":{"ms":1500,"n":2}'
	check "the refused event never ran" \
		test "$(count "$T/record" '"n":3')" = 0
else
	nok "serve starts (slow)"
fi

# 3. bad triggers files and options
bad() { # bad DESCRIPTION EXPECTED_CODE MESSAGE TRIGGERS_TEXT [OPTIONS]
	d=$1 want=$2 msg=$3 text=$4; shift 4
	printf '%s' "$text" >"$T/bad.json"
	$WRAP "$CH" serve "$FE" --config "$T/fe.conf" --triggers "$T/bad.json" \
		"$@" >"$T/bad.out" 2>"$T/bad.err" </dev/null
	got=$?
	if [ "$got" = "$want" ] && has "$T/bad.err" "$msg"; then
		ok "$d (exit $got)"
	else
		nok "$d (exit $got, expected $want and '$msg')"
		sed 's/^/#   /' "$T/bad.err" | head -n 5
	fi
}
bad "not JSON" 4 "bad.json: not valid JSON near byte" '{"triggers": ['
bad "no triggers" 4 "triggers: expected 1 to 256 triggers" '{"triggers": []}'
bad "missing action" 4 'triggers[0] (t): action: required' \
	'{"triggers":[{"name":"t","event":"MESSAGE"}]}'
bad "second trigger's unknown field" 4 'triggers[1]: unknown field \"colour\"' \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"record"},{"name":"u","colour":1}]}'
bad "a malformed reference" 4 'triggers[0] (t): inputs.to: \"${a..b}\" is not a reference' \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"record","inputs":{"to":"${a..b}"}}]}'
bad "duplicate names" 4 'triggers[1]: name: \"t\" is already the name of triggers[0]' \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"record"},{"name":"t","event":"MESSAGE","action":"record"}]}'
bad "an event the plugin does not have" 4 'triggers[0] (t): event: the plugin has no event \"SMS\"' \
	'{"triggers":[{"name":"t","event":"SMS","action":"record"}]}'
bad "an action the plugin does not have" 4 'triggers[0] (t): action: the plugin has no action \"send\"' \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"send"}]}'
bad "--workers out of range" 2 "--workers: expected 1..256" \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"record"}]}' --workers 0
bad "--queue out of range" 2 "--queue: expected 1..1000000" \
	'{"triggers":[{"name":"t","event":"MESSAGE","action":"record"}]}' --queue x
head -c 1048577 /dev/zero | tr '\0' ' ' >"$T/huge.json"
$WRAP "$CH" serve "$FE" --config "$T/fe.conf" --triggers "$T/huge.json" \
	>/dev/null 2>"$T/huge.err" </dev/null
check "a triggers file over 1 MiB is refused" has "$T/huge.err" "larger than 1048576 bytes"
$WRAP "$CH" serve "$FE" --config "$T/fe.conf" >/dev/null 2>"$T/usage.err" </dev/null
rc=$?
check "--triggers is required (exit 2, got $rc)" test "$rc" = 2

echo "1..$n"
[ "$failed" = 0 ]
