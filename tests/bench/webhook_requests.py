#!/usr/bin/env python3
"""webhook_requests.py - pre-signed inbound-SMS webhooks for the
SMS_RECEIVED benchmark (tests/bench/webhook_bench.py, tests/bench/webhook.lua).

Writes N distinct requests, one per line, in the format of
`twilio-sandbox inbound --load N --out FILE` (the sandbox's load mode):

    SIGNATURE<TAB>BODY

BODY is form-encoded (application/x-www-form-urlencoded, so it holds no tab
or newline) with Twilio's field set for an inbound SMS (CONTRACT.md
"Receiving"): MessageSid/SmsSid/SmsMessageSid distinct per line, AccountSid,
From, To, Body (--body-template with %d replaced by the line number), NumMedia,
NumSegments, the From/To geography fields, SmsStatus=received, ApiVersion.
SIGNATURE is X-Twilio-Signature for --url and --token, computed exactly as
CONTRACT.md says: base64(HMAC-SHA1(token, URL + for each field sorted by name:
name + value)). No field repeats, so the rule for repeated names does not
arise.

Why it exists beside the sandbox's load mode: it is the fallback while (or
where) the sandbox's mode is missing, and a cross-check of it: --check K
verifies the first K lines with python3-twilio's RequestValidator (skipped
with a note when python3-twilio is missing), and --verify FILE checks any
file in this format (the sandbox's too) the same way, with hmac alone.

Only the standard library is needed to generate. Never part of `make check`
except through tests/bench/webhook_requests_test.sh (small N).
Exit status: 0 done, 1 a check failed, 2 usage.
"""
import argparse
import base64
import hashlib
import hmac
import os
import sys
import urllib.parse

ACCOUNT = "AC00000000000000000000000000000000"


def sign(token, url, fields):
    """X-Twilio-Signature of FIELDS (a list of (name, value)) for URL."""
    data = url + "".join(n + v for n, v in sorted(fields))
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def message_sid(prefix, i):
    # "SM" + 32 hex digits, as Twilio's; PREFIX (8 hex) keeps two files
    # made for the same run apart, I keeps the lines of one file apart.
    return "SM%s%024x" % (prefix, i)


def fields_for(i, a, prefix):
    sid = message_sid(prefix, i)
    return [
        ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid),
        ("NumMedia", "0"), ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"),
        ("SmsSid", sid), ("FromState", "CA"), ("SmsStatus", "received"),
        ("FromCity", "SAN FRANCISCO"), ("Body", a.body_template % i),
        ("FromCountry", "US"), ("To", a.to), ("ToZip", "94105"),
        ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", ACCOUNT),
        ("From", a.sender), ("ApiVersion", "2010-04-01"),
    ]


def parse_line(line):
    sig, _, body = line.rstrip("\n").partition("\t")
    fields = urllib.parse.parse_qsl(body, keep_blank_values=True,
                                    strict_parsing=True)
    return sig, body, fields


def verify(path, url, token, limit):
    """Every line (or the first LIMIT): valid signature, distinct
    MessageSid. Returns the number of lines checked; raises on a bad one."""
    sids = set()
    n = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if limit and n > limit:
                return n - 1
            sig, _, fields = parse_line(line)
            if not hmac.compare_digest(sig, sign(token, url, fields)):
                raise ValueError("line %d: signature does not match" % n)
            sid = dict(fields).get("MessageSid")
            if not sid or sid in sids:
                raise ValueError("line %d: MessageSid missing or repeated"
                                 % n)
            sids.add(sid)
    return n


def check_with_twilio(path, url, token, k):
    """The first K lines through python3-twilio's RequestValidator."""
    try:
        from twilio.request_validator import RequestValidator
    except ImportError:
        print("webhook_requests: python3-twilio not found: --check skipped",
              file=sys.stderr)
        return None
    v = RequestValidator(token)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if n > k:
                break
            sig, _, fields = parse_line(line)
            if not v.validate(url, dict(fields), sig):
                raise ValueError("line %d: RequestValidator refuses it" % n)
            # and a tampered body is refused, so the check can fail
            bad = dict(fields, Body=dict(fields)["Body"] + "x")
            if v.validate(url, bad, sig):
                raise ValueError("line %d: RequestValidator accepts a "
                                 "tampered body" % n)
    return k


def main():
    ap = argparse.ArgumentParser(
        description="pre-signed inbound-SMS webhooks, SIGNATURE<TAB>BODY "
                    "per line")
    ap.add_argument("--load", type=int, help="how many requests")
    ap.add_argument("--out", help="the file to write")
    ap.add_argument("--url", required=True,
                    help="the public URL the requests are signed for")
    ap.add_argument("--token", required=True, help="the auth token")
    ap.add_argument("--from", dest="sender", default="+15005550010")
    ap.add_argument("--to", default="+15005550006")
    ap.add_argument("--body-template", default="Order Number %d")
    ap.add_argument("--sid-prefix", default=None,
                    help="8 hex digits in every MessageSid (default random)")
    ap.add_argument("--check", type=int, default=0, metavar="K",
                    help="verify the first K lines with python3-twilio")
    ap.add_argument("--verify", metavar="FILE",
                    help="check FILE (every line) instead of writing one")
    a = ap.parse_args()
    try:
        if a.verify:
            n = verify(a.verify, a.url, a.token, 0)
            print("webhook_requests: %s: %d lines, signatures valid, "
                  "MessageSids distinct" % (a.verify, n))
            if a.check:
                check_with_twilio(a.verify, a.url, a.token, a.check)
            return 0
        if not a.load or a.load < 1 or not a.out:
            ap.error("--load N (N >= 1) and --out FILE are required")
        try:
            a.body_template % 0
        except (TypeError, ValueError) as e:
            ap.error("--body-template: needs exactly one %%d (%s)" % e)
        prefix = a.sid_prefix or os.urandom(4).hex()
        if len(prefix) != 8 or any(c not in "0123456789abcdef"
                                   for c in prefix):
            ap.error("--sid-prefix: 8 lower-case hex digits")
        tmp = a.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for i in range(a.load):
                fields = fields_for(i, a, prefix)
                f.write(sign(a.token, a.url, fields) + "\t" +
                        urllib.parse.urlencode(fields) + "\n")
        os.replace(tmp, a.out)
        if a.check:
            check_with_twilio(a.out, a.url, a.token, min(a.check, a.load))
    except (OSError, ValueError) as e:
        print("webhook_requests: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
