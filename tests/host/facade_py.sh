#!/bin/sh
# facade_py.sh - a host in another language: tests/host/facade_host.py
# (Python 3 ctypes, stdlib only) loads the built libconnhost and twilio.so
# through the JSON-text facade (connhost_text.h) and runs send_sms to two
# numbers against twilio-sandbox in pull mode. Skipped without python3.
. "$top_srcdir/tests/send_sms_lib.sh"

LIB="$top_builddir/host-api/.libs/libconnhost.so"
[ -f "$LIB" ] || skip_all "libconnhost.so not built (shared libraries off?)"
"$PY" -c 'import ctypes' 2>/dev/null || skip_all "python3 has no ctypes"

# python3 is not built with ASan: an ASan libconnhost needs the ASan
# runtime loaded first (LD_PRELOAD, found where the library links it), and
# the interpreter's own allocations held until exit are not leaks of ours.
# Not under TSan: python3 itself crashes with libtsan preloaded (SEGV in
# the runtime before a line of Python runs; `LD_PRELOAD=libtsan.so.2
# python3 -c 'print(1)'` does it), and without the preload the runtime
# cannot initialise. The facade's threads are covered by
# tests/host/test_text, a C host, under TSan.
[ "${CONN_TSAN:-no}" = yes ] &&
	skip_all "TSan build: python3 cannot run with libtsan preloaded (test_text covers the facade)"
PRELOAD=
if [ "${CONN_ASAN:-no}" = yes ]; then
	PRELOAD=$(ldd "$LIB" | sed -n 's/^[[:space:]]*libasan[^ ]* => \([^ ]*\) .*/\1/p')
	[ -n "$PRELOAD" ] || skip_all "ASan build, but libasan not found in ldd $LIB"
fi

start_sandbox
config "$T/cfg.json"

if [ -n "$PRELOAD" ]; then
	LD_PRELOAD=$PRELOAD \
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0:verify_asan_link_order=0 \
		"$PY" "$top_srcdir/tests/host/facade_host.py" "$LIB" "$PLUGIN" \
		"$T/cfg.json" "$CONNHOST_COPY_DIR" "$T/result.json" \
		>"$T/py.out" 2>"$T/py.err"
else
	"$PY" "$top_srcdir/tests/host/facade_host.py" "$LIB" "$PLUGIN" \
		"$T/cfg.json" "$CONNHOST_COPY_DIR" "$T/result.json" \
		>"$T/py.out" 2>"$T/py.err"
fi
ok $? "the Python host ran send_sms through the facade"
cat "$T/py.out"
sed 's/^/# stderr: /' "$T/py.err" | head -n 20

is result "$(q "$T/result.json" 'o["kind"]')" "a result item was taken"
is 2 "$(q "$T/result.json" 'len(o["outputs"]["twilioResult"])')" "twilioResult: two messages"
is '["+14155550100", "+14155550101"]' \
	"$(q "$T/result.json" '[r["to"] for r in o["outputs"]["twilioResult"]]')" "to both numbers"
is true "$(q "$T/result.json" 'all(r["sid"].startswith("SM") and len(r["sid"]) == 34 for r in o["outputs"]["twilioResult"])')" \
	"each with a message SID"
is null "$(q "$T/result.json" 'o["outputs"]["twilioError"]')" "twilioError null"
is 2 "$(count_lines "$RECORD")" "the sandbox recorded exactly two messages"
is 'Order 7 from Python' "$(q "$RECORD" 'lines[0]["body"]')" "the body rendered with the variables"
ok "$(grep -q '+14155550100' "$T/py.err"; echo $((! $?)))" \
	"the log never carries a full number"
finish
