#!/bin/sh
# sandbox_interop_python.sh - Twilio's official Python helper library
# (Debian python3-twilio) against twilio-sandbox: create a message, fetch
# it, list messages, and a TwilioRestException with the right code for a
# magic number. Proves the sandbox speaks what Twilio's own client expects.
# SKIP when no python3 can import twilio.
set -u

: "${top_builddir:=.}" "${CONN_TEST_WRAP:=}"
SB=$top_builddir/tests/sandbox/twilio-sandbox

# Debian's package lives in the system python; a pyenv or venv python3
# earlier on PATH does not see it.
PY=
for p in ${PYTHON3:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import twilio' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || { echo "1..0 # SKIP no python3 with the twilio module"; exit 0; }

. "${top_srcdir:-.}/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/sandbox_interop"
PID=
at_exit 'kill_pid "$PID"'

$CONN_TEST_WRAP "$SB" --port-file "$T/port" --record "$T/rec" \
	>"$T/out" 2>"$T/err" &
PID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 600 ]; do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
PORT=$(cat "$T/port" 2>/dev/null || echo 0)

cat > "$T/interop.py" <<'PYEOF'
import os, re, sys
for v in ("TWILIO_EDGE", "TWILIO_REGION", "HTTP_PROXY", "HTTPS_PROXY",
          "http_proxy", "https_proxy"):
    os.environ.pop(v, None)
from twilio.rest import Client
from twilio.base.exceptions import TwilioRestException

port = sys.argv[1]
acct = "AC00000000000000000000000000000000"
client = Client(acct, "sandbox-token")
client.api.base_url = "http://127.0.0.1:%s" % port
n = 0
failed = 0

def ok(cond, name):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, name))
    sys.stdout.flush()

m = client.messages.create(to="+14155550100", from_="+15005550006",
                           body="Hello from twilio-python \u20ac")
ok(re.match(r"^SM[0-9a-f]{32}$", m.sid or ""), "create: a message SID (%s)" % m.sid)
ok(m.status == "queued", "create: status queued")
ok(m.to == "+14155550100" and m.from_ == "+15005550006", "create: to and from")
ok(m.num_segments == "1", "create: num_segments as a string")
ok(m.date_created is not None and m.date_created.year >= 2024,
   "create: date_created parsed by the library (RFC 2822)")
ok(m.error_code is None and m.price_unit == "USD", "create: error_code, price_unit")

f = client.messages(m.sid).fetch()
ok(f.sid == m.sid and f.body == "Hello from twilio-python \u20ac", "fetch: same message")

for i in range(3):
    client.messages.create(to="+14155550101", messaging_service_sid=
                           "MG0123456789abcdef0123456789abcdef", body="m%d" % i)
lst = client.messages.list(limit=10, page_size=2)
ok(len(lst) == 4, "list: 4 messages through 2 pages (%d)" % len(lst))
ok(lst[0].body == "m2" and lst[-1].sid == m.sid, "list: newest first")
ok(lst[0].status == "accepted", "list: messaging service messages accepted")

try:
    client.messages.create(to="+15005550004", from_="+15005550006", body="x")
    ok(False, "magic To +15005550004 raises")
except TwilioRestException as e:
    ok(e.status == 400 and e.code == 21610,
       "magic To +15005550004: TwilioRestException 400 / 21610 (%s %s)" % (e.status, e.code))

bad = Client(acct, "wrong-token")
bad.api.base_url = client.api.base_url
try:
    bad.api.accounts(acct).fetch()
    ok(False, "wrong token raises")
except TwilioRestException as e:
    ok(e.status == 401 and e.code == 20003, "wrong token: 401 / 20003")

a = client.api.accounts(acct).fetch()
ok(a.status == "active" and a.type == "Full", "account fetch: active, Full")
print("1..%d" % n)
sys.exit(1 if failed else 0)
PYEOF
"$PY" "$T/interop.py" "$PORT" > "$T/tap" 2>"$T/pyerr"
prc=$?
cat "$T/tap"
if [ $prc -ne 0 ] && ! grep -q '^1\.\.' "$T/tap"; then
	sed 's/^/# /' "$T/pyerr" | tail -20
	echo "not ok 99 - the python script crashed"
	echo "1..99"
fi

kill -TERM "$PID"
wait_pid "$PID" 60
rc=$?
PID=
if [ $rc -ne 0 ]; then
	echo "# sandbox exited $rc"
	sed 's/^/# /' "$T/err" | head
	exit 1
fi
exit $prc
