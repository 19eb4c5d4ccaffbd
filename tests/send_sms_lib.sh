# send_sms_lib.sh - shared by the send_sms end-to-end tests (sourced).
#
# Starts twilio-sandbox on a kernel-chosen port, runs connector-host with
# the built plugin against it, and offers TAP helpers and JSON queries
# (python3). Every project binary runs under $CONN_TEST_WRAP (valgrind in
# check-valgrind). The sandbox's token is a recognisable secret: every
# output and log of the test is grepped for it at the end.

: "${top_builddir:?}" "${top_srcdir:?}"
CH="$top_builddir/host-api/connector-host"
SB="$top_builddir/tests/sandbox/twilio-sandbox"
PLUGIN="$top_builddir/plugin/.libs/twilio.so"
ACCOUNT=AC00000000000000000000000000000000
TOKEN="TOPSECRET-e2e-token-31337"
PY=${PYTHON3:-python3}
WRAP=${CONN_TEST_WRAP:-}

. "$top_srcdir/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/send_sms"
# plugin copies go where exec is allowed; one directory per test run
CONNHOST_COPY_DIR="$T/copies"
mkdir -p "$CONNHOST_COPY_DIR"
export CONNHOST_COPY_DIR
n=0
failed=0
SB_PID=

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

command -v "$PY" >/dev/null 2>&1 || skip_all "python3 not found"
[ -x "$CH" ] || skip_all "connector-host not built"
[ -x "$SB" ] || skip_all "twilio-sandbox not built"
[ -f "$PLUGIN" ] || skip_all "plugin not built"

ok() { # COND-STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

is() { # EXPECTED ACTUAL NAME
	n=$((n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3"
		echo "#   expected: '$1'"
		echo "#        got: '$2'"
		failed=$((failed + 1))
	fi
}

diag() { echo "# $*"; }

at_exit 'stop_sandbox >/dev/null 2>&1 || :'

# start_sandbox [ARGS...]: starts it, sets PORT, BASE, RECORD, REQUESTS.
# With SB_PORT set, binds that port instead of 0.
start_sandbox() {
	RECORD="$T/record.jsonl"
	REQUESTS="$T/requests.jsonl"
	rm -f "$T/port" "$RECORD" "$REQUESTS"
	$WRAP "$SB" --port "${SB_PORT:-0}" --port-file "$T/port" \
		--record "$RECORD" --requests "$REQUESTS" \
		--account "$ACCOUNT" --token "$TOKEN" "$@" \
		>"$T/sandbox.out" 2>"$T/sandbox.err" &
	SB_PID=$!
	i=0
	while [ ! -s "$T/port" ]; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$SB_PID" 2>/dev/null; then
			echo "Bail out! twilio-sandbox did not start"
			cat "$T/sandbox.err" >&2
			exit 1
		fi
		sleep 0.05
	done
	PORT=$(cat "$T/port")
	SCHEME=http
	case " $* " in *" --tls-cert "*) SCHEME=https ;; esac
	BASE="$SCHEME://127.0.0.1:$PORT"
}

stop_sandbox() {
	[ -n "$SB_PID" ] || return 0
	kill -TERM "$SB_PID" 2>/dev/null
	wait_pid "$SB_PID" 60
	rc=$?
	SB_PID=
	return $rc
}

# config FILE [KEY=VALUE...]: a JSON config for the sandbox at $BASE.
config() {
	f=$1
	shift
	"$PY" - "$f" "$BASE" "$ACCOUNT" "$TOKEN" "$@" <<'PYEOF'
import json, sys
f, base, acc, tok = sys.argv[1:5]
c = {"TWILIO_ACCOUNT": acc, "TWILIO_TOKEN": tok, "TWILIO_BASE_URL": base}
for kv in sys.argv[5:]:
    k, v = kv.split("=", 1)
    if v == "":
        c.pop(k, None)
    else:
        c[k] = v
json.dump(c, open(f, "w"))
PYEOF
}

# invoke NAME INPUTS [ARGS...]: runs send_sms; output in $T/NAME.out,
# logs in $T/NAME.log; sets RC.
invoke() {
	name=$1
	inputs=$2
	shift 2
	$WRAP "$CH" invoke "$PLUGIN" send_sms --config "$T/cfg.json" \
		--inputs "$inputs" --log-level debug "$@" \
		>"$T/$name.out" 2>"$T/$name.log"
	RC=$?
}

# q FILE EXPR: evaluate a Python expression over the JSON in FILE (`o`;
# for JSON-lines files `lines` is the list); prints the result (JSON for
# lists/dicts/None/bools).
q() {
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    text = open(path).read()
except OSError:
    text = ""
lines = [json.loads(l) for l in text.splitlines() if l.strip()]
o = lines[0] if len(lines) == 1 else (lines[-1] if lines else None)
def errs(x=None):
    x = o if x is None else x
    return x.get("twilioError") or []
def res(x=None):
    x = o if x is None else x
    return x.get("twilioResult") or []
try:
    v = eval(expr)
except Exception as e:
    v = "EXC:%s" % e
print(v if isinstance(v, str) else json.dumps(v))
PYEOF
}

count_lines() { # FILE
	if [ -f "$1" ]; then grep -c . "$1" || :; else echo 0; fi
}

# finish: grep every output and log for the secret, print the plan.
finish() {
	stop_sandbox
	ok $? "sandbox exited cleanly"
	if grep -rl "$TOKEN" "$T" --exclude=cfg*.json --exclude=sandbox.* \
		>"$T/leaks" 2>/dev/null; then
		ok 1 "the token appears in: $(cat "$T/leaks" | tr '\n' ' ')"
	else
		ok 0 "the token never appears in any output or log"
	fi
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
