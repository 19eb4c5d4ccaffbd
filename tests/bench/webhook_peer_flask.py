#!/usr/bin/env python3
"""webhook_peer_flask.py - SMS_RECEIVED benchmark peer: the same work as the
connector's webhook, written the way a Python user would with Flask and
python3-twilio, served by gunicorn with 2 workers x 4 threads (gthread).

For each POST to --path: python3-twilio's RequestValidator checks
X-Twilio-Signature against --public-url (the URL the requests were signed
for, as the connector's TWILIO_WEBHOOK_PUBLIC_URL; 403 when it does not
match), the body is matched against `Order Number (?<orderNumber>.+)` (search;
Python spells the named group (?P<...>)), the event {matchGroups,
originalMessage, to, from, messageSid, media, optOutType, receivedAt} is built
and serialised as JSON and put on an in-process queue.Queue of QUEUE_MAX
(the analogue of the host's publish that enqueues; one consumer thread per
worker process takes them off; a full queue refuses and the answer is the
error echo, as a full host queue refuses), and the answer is TwiML
(text/xml): `<Response><Message>Your reference number is N</Message>
</Response>`, or `<Response/>` with no match or for an opt-out (never echoed).

gunicorn is started through its documented custom-application API (so that
port 0 and --port-file work): --workers 2 --threads 4 by default, as the
issue fixes them. --port-file FILE is required: gunicorn binds 127.0.0.1:0
and the port goes there when the arbiter is ready. SIGTERM: gunicorn's own
graceful stop. Needs Debian's python3-flask, gunicorn and python3-twilio
(run it with /usr/bin/python3).
Run by tests/bench/webhook_bench.py under `make bench-webhook`; never by
`make check` except tests/bench/webhook_peers_test.sh (a correctness check).
"""
import argparse
import datetime
import json
import os
import queue
import re
import sys
import threading
from xml.sax.saxutils import escape

for var in ("TWILIO_EDGE", "TWILIO_REGION"):
    os.environ.pop(var, None)

from flask import Flask, Response, request  # noqa: E402
from gunicorn.app.base import BaseApplication  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

QUEUE_MAX = 1024
PATTERN = re.compile(r"Order Number (?P<orderNumber>.+)")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def make_app(public_url, token, path):
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    validator = RequestValidator(token)
    events = queue.Queue(QUEUE_MAX)
    started = []
    lock = threading.Lock()

    def consume():
        while True:
            events.get()

    def ensure_consumer():
        # Started in the worker process (after gunicorn's fork), once.
        if not started:
            with lock:
                if not started:
                    threading.Thread(target=consume, daemon=True).start()
                    started.append(True)

    @app.route(path, methods=["POST"])
    def sms():
        ensure_consumer()
        form = request.form
        if not validator.validate(public_url, form,
                                  request.headers.get("X-Twilio-Signature",
                                                      "")):
            return Response("signature does not match\n", status=403,
                            mimetype="text/plain")
        text = form.get("Body", "")
        m = PATTERN.search(text)
        if not m:
            return Response(EMPTY, mimetype="text/xml")
        try:
            n = int(form.get("NumMedia", "0"))
        except ValueError:
            n = 0
        media = [{"url": form.get("MediaUrl%d" % i),
                  "contentType": form.get("MediaContentType%d" % i)}
                 for i in range(n)]
        opt_out = form.get("OptOutType") or None
        event = json.dumps({
            "matchGroups": m.groupdict(), "originalMessage": text,
            "to": form.get("To"), "from": form.get("From"),
            "messageSid": form.get("MessageSid"), "media": media,
            "optOutType": opt_out,
            "receivedAt": datetime.datetime.now(
                datetime.timezone.utc).isoformat(timespec="milliseconds")})
        try:
            events.put_nowait(event)
            reply = "Your reference number is %s" % m.group("orderNumber")
        except queue.Full:
            reply = ("Sorry, we could not take your order number; "
                     "please try again.")
        if opt_out:
            return Response(EMPTY, mimetype="text/xml")
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response>'
                        "<Message>%s</Message></Response>" % escape(reply),
                        mimetype="text/xml")

    return app


class Server(BaseApplication):
    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for k, v in self.options.items():
            self.cfg.set(k, v)

    def load(self):
        return self.application


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--public-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--path", default="/twilio/sms")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    a = ap.parse_args()

    def when_ready(server):
        port = server.LISTENERS[0].sock.getsockname()[1]
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)

    Server(make_app(a.public_url, a.token, a.path), {
        "bind": "127.0.0.1:0", "workers": a.workers, "threads": a.threads,
        "worker_class": "gthread", "keepalive": 60, "accesslog": None,
        "errorlog": "-", "loglevel": "warning", "when_ready": when_ready,
        # 2 x 4 threads serve 8 connections at once; the rest wait in the
        # accept backlog, as in any gunicorn deployment of this shape.
        "backlog": 2048,
    }).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
