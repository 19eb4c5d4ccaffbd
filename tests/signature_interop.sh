#!/bin/sh
# signature_interop.sh - plugin/signature.c against Twilio's own helper
# libraries: signatures made by python3-twilio's RequestValidator and by npm
# `twilio` (getExpectedTwilioSignature, HMAC-SHA1 and HMAC-SHA256) are
# accepted by tw_sig_verify (through tests/sig_tool), tampered ones are
# refused, and signatures made by tw_sig_sign are accepted by both
# libraries' validators. Each library missing is a TAP skip: python3-twilio
# is a Debian package (./bootstrap installs it); the npm package is looked
# for in $TWILIO_NODE_MODULES, then ~/.cache/twilio-connector-npm (where
# ./bootstrap puts twilio 6.3.1 on node >= 20, 5.8.2 on older) and the benchmark's
# ~/.cache/twilio-connector-bench.
set -u

: "${top_builddir:=.}" "${CONN_TEST_WRAP:=}"
TOOL=$top_builddir/tests/sig_tool
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/signature_interop"

# URL<TAB>BODY: the forms Twilio sends (every field, UTF-8, '+', '&', '%',
# empty values), query strings, ports, credentials
cat > "$T/cases" <<'EOF'
https://connector.example.com/twilio/sms?tenant=42	ToCountry=US&ToState=CA&SmsMessageSid=SM11111111111111111111111111111111&NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94103&SmsSid=SM11111111111111111111111111111111&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+%26+welcome%3A+100%25+%E2%9C%93+%C3%BCn%C3%AFc%C3%B6d%C3%A9+%2Bplus&FromCountry=US&To=%2B15005550006&MessagingServiceSid=MG22222222222222222222222222222222&ToZip=94105&NumSegments=1&MessageSid=SM11111111111111111111111111111111&AccountSid=AC33333333333333333333333333333333&From=%2B15551234567&ApiVersion=2010-04-01
https://orders.example.com/twilio/sms	Body=Order+Number+12345&From=%2B15551234567&To=%2B15005550006&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&FromCity=&OptOutType=STOP
http://127.0.0.1:8080/sms?a=1&b=%20x	Body=line1%0Aline2%0D%0A%F0%9F%98%80&From=%2B15551234567&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%3Fx%3D1&MediaContentType0=image%2Fjpeg
https://user:pass@hooks.example.com:8443/in	Sid=CA123&SidAccount=AC123&Digits=1234
https://hooks.example.com/empty	
EOF

PY=
for p in ${PYTHON3:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 &&
		"$p" -c 'import twilio.request_validator' >/dev/null 2>&1; then
		PY=$p
		break
	fi
done
NODE_MOD=
if command -v node >/dev/null 2>&1; then
	for d in ${TWILIO_NODE_MODULES:-} \
		"${XDG_CACHE_HOME:-$HOME/.cache}/twilio-connector-npm/node_modules" \
		"${XDG_CACHE_HOME:-$HOME/.cache}/twilio-connector-bench/node_modules"; do
		if [ -f "$d/twilio/package.json" ] &&
			node -e "require('$d/twilio').getExpectedTwilioSignature" \
				>/dev/null 2>&1; then
			NODE_MOD=$d/twilio
			break
		fi
	done
fi

: > "$T/tap"
if [ -z "$PY" ]; then
	echo "ok # SKIP no python3 with the twilio module (python3-twilio)" >> "$T/tap"
else
	cat > "$T/py.py" <<'PYEOF'
import subprocess, sys
from urllib.parse import parse_qsl
from twilio.request_validator import RequestValidator

tool, cases = sys.argv[1], sys.argv[2]
TOKEN = "0123456789abcdef0123456789abcdef"
v = RequestValidator(TOKEN)

def run(*args, body):
    r = subprocess.run([tool] + list(args), input=body.encode(),
                       stdout=subprocess.PIPE)
    return r.returncode, r.stdout.decode().strip()

def ok(cond, name):
    print("%s - %s" % ("ok" if cond else "not ok", name))

for n, line in enumerate(open(cases, encoding="utf-8"), 1):
    url, body = line.rstrip("\n").split("\t")
    params = dict(parse_qsl(body, keep_blank_values=True))
    if len(params) != len(parse_qsl(body, keep_blank_values=True)):
        continue  # 7.7.1 has no multi-value support (library_quirks)
    sig = v.compute_signature(url, params)
    rc, out = run("verify", url, TOKEN, sig, body=body)
    ok(rc == 0, "case %d: python3-twilio's signature verified (%s)" % (n, out))
    rc, _ = run("verify", url, "wrong-token", sig, body=body)
    ok(rc == 1, "case %d: ... refused under another token" % n)
    rc, _ = run("verify", url + "x", TOKEN, sig, body=body)
    ok(rc == 1, "case %d: ... refused for another URL" % n)
    rc, _ = run("verify", url, TOKEN, sig, body=body + "&Extra=1")
    ok(rc == 1, "case %d: ... refused with a parameter added" % n)
    rc, mine = run("sign", url, TOKEN, body=body)
    ok(rc == 0 and mine == sig, "case %d: tw_sig_sign gives the same" % n)
    ok(v.validate(url, params, mine),
       "case %d: RequestValidator.validate accepts tw_sig_sign's" % n)
PYEOF
	"$PY" "$T/py.py" "$TOOL" "$T/cases" >> "$T/tap" 2>"$T/py.err" ||
		{ echo "not ok - the python check failed: $(tail -n 3 "$T/py.err" | tr '\n' ' ')" >> "$T/tap"; }
fi

if [ -z "$NODE_MOD" ]; then
	echo "ok # SKIP node's twilio module not found (see the header of $0)" >> "$T/tap"
else
	cat > "$T/node.js" <<'JSEOF'
const [tool, cases, mod] = process.argv.slice(2);
const twilio = require(mod);
const fs = require('fs');
const qs = require('querystring');
const { spawnSync } = require('child_process');
const TOKEN = '0123456789abcdef0123456789abcdef';
const KEY = 'webhooks-shared-key-0123456789';
const SETTINGS = 'key=webhooks_sharedkey_01,algorithm=HMAC_SHA256';
const run = (args, body) => {
  const r = spawnSync(tool, args, { input: body });
  return [r.status, String(r.stdout).trim()];
};
const ok = (c, name) => console.log(`${c ? 'ok' : 'not ok'} - ${name}`);
let lines = fs.readFileSync(cases, 'utf8').split('\n').filter((l) => l);
// repeated names: an array parameter, values in either order
lines.push('https://mycompany.com/myapp.php?foo=1&bar=2\t' +
  'MessagingBinding.Address=%2B1415xxxxxxx&MessagingBinding.Address=%2B1325xxxxxxx');
lines.forEach((line, i) => {
  const n = i + 1;
  const [url, body] = line.split('\t');
  const params = qs.parse(body);
  let sig = twilio.getExpectedTwilioSignature(TOKEN, url, params);
  let [rc, out] = run(['verify', url, TOKEN, sig], body);
  ok(rc === 0, `case ${n}: npm twilio's signature verified (${out})`);
  [rc] = run(['verify', url, TOKEN, sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))], body);
  ok(rc === 1, `case ${n}: ... a flipped signature refused`);
  [rc] = run(['verify', url, TOKEN, sig], body + '&Body=tampered');
  ok(rc === 1, `case ${n}: ... refused with a tampered body`);
  let mine;
  [rc, mine] = run(['sign', url, TOKEN], body);
  ok(rc === 0 && mine === sig, `case ${n}: tw_sig_sign gives the same`);
  ok(twilio.validateRequest(TOKEN, mine, url, params),
     `case ${n}: validateRequest accepts tw_sig_sign's`);
  // HMAC-SHA256 with a shared key, as a Webhook Setting signs: twilio
  // 6.x (node >= 20) has it; 5.x, the newest that runs on Debian 12's
  // node 18, signs with SHA-1 only
  if (typeof twilio.getSignatureAlgorithm !== 'function') {
    if (n === 1)
      console.log('ok # SKIP this npm twilio has no HMAC_SHA256 (6.x has it)');
    return;
  }
  sig = twilio.getExpectedTwilioSignature(KEY, url, params, 'HMAC_SHA256');
  [rc, out] = run(['verify', url, TOKEN, sig, SETTINGS, KEY], body);
  ok(rc === 0, `case ${n}: npm twilio's HMAC_SHA256 signature verified (${out})`);
  [rc] = run(['verify', url, TOKEN, sig], body);
  ok(rc === 1, `case ${n}: ... not without the settings header and key`);
  [rc, mine] = run(['sign', url, KEY, 'sha256'], body);
  ok(rc === 0 && twilio.validateRequest(KEY, mine, url, params,
                                        twilio.getSignatureAlgorithm(SETTINGS)),
     `case ${n}: validateRequest(HMAC_SHA256) accepts tw_sig_sign's`);
});
JSEOF
	node "$T/node.js" "$TOOL" "$T/cases" "$NODE_MOD" >> "$T/tap" 2>"$T/node.err" ||
		{ echo "not ok - the node check failed: $(tail -n 3 "$T/node.err" | tr '\n' ' ')" >> "$T/tap"; }
fi

cat "$T/tap"
echo "1..$(wc -l < "$T/tap")"
grep -q '^not ok' "$T/tap" && exit 1
exit 0
