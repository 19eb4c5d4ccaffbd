#!/bin/sh
# openapi_prism.sh - the shape of every request the connector sends, checked
# against Twilio's official OpenAPI spec (API v2010) by Stoplight Prism in
# mock mode: Prism answers 422 to a request that breaks the spec (missing
# To, a bad SID pattern, a wrong type or format), 415 to a non-form body,
# 401 without Basic auth, and 201 to a valid one.
#
# Needs:
#   - the spec at $top_srcdir/../shared/twilio/openapi-api-v2010.json
#     (not part of the repository; SKIP when absent);
#   - Prism 5.x, found through $PRISM (the path to the prism binary), e.g.
#       npm install --prefix "$HOME/.cache/twilio-connector-prism" @stoplight/prism-cli@5
#       export PRISM="$HOME/.cache/twilio-connector-prism/node_modules/.bin/prism"
#     (SKIP when unset or absent);
#   - node (for Prism, the shim and the JSON checks).
# Prism 5 does not read a repeated form key (MediaUrl=a&MediaUrl=b, as
# Twilio and its libraries send arrays) as an array (prism issue #2473), so
# tests/bench/prism_shim.js sits in front of it and renames only the keys the
# spec declares as arrays to KEY[]; it also logs each request's keys and the
# status Prism gave.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
wrap=${CONN_TEST_WRAP:-}

skip() { echo "1..0 # SKIP $*"; exit 0; }

spec="$top_srcdir/../shared/twilio/openapi-api-v2010.json"
[ -f "$spec" ] || skip "Twilio OpenAPI spec not found at $spec"
[ -n "${PRISM:-}" ] || skip "PRISM unset (path to @stoplight/prism-cli 5.x's prism binary)"
[ -x "$PRISM" ] || skip "PRISM=$PRISM is not an executable"
node=${NODE:-}
[ -n "$node" ] || node=$(command -v node) || skip "node not found"
host="$top_builddir/host-api/connector-host"
plugin="$top_builddir/plugin/.libs/twilio.so"
[ -x "$host" ] || skip "connector-host not built"
[ -f "$plugin" ] || skip "plugin/.libs/twilio.so not built"

. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/openapi_prism"
tmp=$T
prism_pid= shim_pid=
at_exit 'kill_pid "$prism_pid"'
at_exit 'kill_pid "$shim_pid"'
# Private plugin copies go with the rest; kept for valgrind's symbols.
CONNHOST_COPY_DIR=$tmp; export CONNHOST_COPY_DIR
if [ -n "$wrap" ]; then CONNHOST_KEEP_COPIES=1; export CONNHOST_KEEP_COPIES; fi

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

echo "1..12"

# Prism: port 0, the chosen port read from its "listening on" line (bounded).
"$PRISM" mock -h 127.0.0.1 -p 0 "$spec" >"$tmp/prism.log" 2>&1 &
prism_pid=$!
pport= i=0
while [ $i -lt 240 ] && [ -z "$pport" ]; do
	kill -0 "$prism_pid" 2>/dev/null || break
	pport=$(sed -n 's/.*Prism is listening on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/prism.log")
	[ -n "$pport" ] || sleep 0.25
	i=$((i + 1))
done
if [ -z "$pport" ]; then
	not_ok "prism mock started"; tail -n 20 "$tmp/prism.log" | sed 's/^/# /'
	exit 1
fi
ok "prism mock started on port $pport ($("$PRISM" --version 2>/dev/null))"

"$node" "$top_srcdir/tests/bench/prism_shim.js" --spec "$spec" \
	--upstream "$pport" --port-file "$tmp/shim.port" --log "$tmp/shim.log" \
	2>"$tmp/shim.err" &
shim_pid=$!
i=0
while [ $i -lt 100 ] && [ ! -s "$tmp/shim.port" ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$tmp/shim.port" ]; then
	not_ok "prism shim started"; sed 's/^/# /' "$tmp/shim.err"; exit 1
fi
sport=$(cat "$tmp/shim.port")
ok "prism shim started on port $sport"

account=AC0123456789abcdef0123456789abcdef
base="http://127.0.0.1:$sport"
url="$base/2010-04-01/Accounts/$account/Messages.json"
cat >"$tmp/config" <<CONF
TWILIO_ACCOUNT=$account
TWILIO_TOKEN=prism-token-not-checked
TWILIO_BASE_URL=$base
CONF

# Send through the connector; $tmp/out holds the outputs line.
send() { # send NAME INPUTS_JSON
	$wrap "$host" invoke "$plugin" send_sms --config "$tmp/config" \
		--inputs "$2" --vars '{"name":"Ada","order":42}' \
		--deadline-ms 20000 >"$tmp/out.$1" 2>"$tmp/err.$1"
}
# outputs_ok NAME COUNT: twilioError null, COUNT results each with an SM sid.
outputs_ok() {
	"$node" -e '
		const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const r = o.twilioResult || [];
		const good = o.twilioError === null && r.length === +process.argv[2] &&
			r.every((x) => /^(SM|MM)[0-9a-fA-F]{32}$/.test(x.sid));
		if (!good) { console.log("# " + JSON.stringify(o)); process.exit(1); }
	' "$tmp/out.$1" "$2" || { sed 's/^/# /' "$tmp/err.$1"; return 1; }
}

check "From number, two recipients, StatusCallback: accepted by the spec" \
	send from '{"smsFrom":"+15005550006","smsTo":["+14155550100","+14155550101"],
	  "smsBody":"Hello ${name}, order ${order} has shipped.",
	  "statusCallback":"https://example.com/twilio/status"}'
check "... both recipients got a sid" outputs_ok from 2

check "MessagingServiceSid and three MediaUrl: accepted by the spec" \
	send mg '{"smsFrom":"MG0123456789abcdef0123456789abcdef","smsTo":"+14155550102",
	  "smsBody":"Your receipt, ${name}",
	  "mediaUrl":["https://example.com/a.png","https://example.com/b.jpg","https://example.com/c.gif"],
	  "statusCallback":"https://example.com/twilio/status"}'
check "... the recipient got a sid" outputs_ok mg 1

# Every request the connector sent, as Prism judged it.
shape_ok() {
	"$node" -e '
		const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
		const bad = [];
		if (lines.length !== 3) bad.push("expected 3 requests, saw " + lines.length);
		for (const l of lines) {
			if (l.status !== 201) bad.push("status " + l.status + " for keys " + l.keys);
			if (l.method !== "POST" || !/^application\/x-www-form-urlencoded/.test(l.content_type) || l.auth !== "basic")
				bad.push("not a form POST with Basic auth: " + JSON.stringify(l));
		}
		const mg = lines.find((l) => l.keys.includes("MessagingServiceSid"));
		if (!mg) bad.push("no request with MessagingServiceSid");
		else {
			if (mg.keys.filter((k) => k === "MediaUrl").length !== 3) bad.push("MediaUrl not sent 3 times: " + mg.keys);
			if (mg.keys.includes("From")) bad.push("From sent beside MessagingServiceSid");
		}
		if (lines.filter((l) => l.keys.includes("From") && l.keys.includes("StatusCallback")).length !== 2)
			bad.push("From+StatusCallback requests missing");
		for (const b of bad) console.log("# " + b);
		process.exit(bad.length ? 1 : 0);
	' "$tmp/shim.log"
}
check "every request the connector sent matched the spec (201 from prism)" shape_ok

# The test can fail: requests that break the spec are refused.
raw() { # raw EXPECTED_STATUS CURL_ARGS...
	want=$1; shift
	got=$(curl -s -o "$tmp/raw.body" -w '%{http_code}' -u "$account:x" "$@" "$url")
	[ "$got" = "$want" ] || { echo "# got HTTP $got: $(head -c 300 "$tmp/raw.body")"; return 1; }
}
check "a well-formed raw request is accepted (201)" \
	raw 201 --data-urlencode To=+14155550100 --data-urlencode From=+15005550006 \
	--data-urlencode Body=hi
check "missing To is refused (422)" \
	raw 422 --data-urlencode From=+15005550006 --data-urlencode Body=hi
check "a malformed MessagingServiceSid is refused (422)" \
	raw 422 --data-urlencode To=+14155550100 --data-urlencode MessagingServiceSid=MG123 \
	--data-urlencode Body=hi
check "a StatusCallback that is not a URI is refused (422)" \
	raw 422 --data-urlencode To=+14155550100 --data-urlencode From=+15005550006 \
	--data-urlencode Body=hi --data-urlencode 'StatusCallback=not a url'
check "a JSON body is refused (415)" \
	raw 415 -H 'Content-Type: application/json' \
	--data '{"To":"+14155550100","From":"+15005550006","Body":"hi"}'

[ "$failed" -eq 0 ]
