#!/usr/bin/env python3
"""facade_host.py - a host in another language: Python 3 ctypes (stdlib
only) drives libconnhost's JSON-text facade (connhost_text.h) the way a
Java or JavaScript runtime would through its FFI: strings in and out, pull
mode, no callback into Python, ever.

Usage: facade_host.py LIBCONNHOST PLUGIN CONFIG-FILE COPY-DIR OUT-FILE
Loads PLUGIN, checks and uses CONFIG-FILE's text, runs send_sms to two
numbers, waits on the facade's descriptor with select.poll, takes the
result, writes the result item (JSON) to OUT-FILE, shuts down. Prints what
it did as '# ' lines; exits 1 with the facade's error on any failure.
"""
import ctypes
import json
import select
import sys

ETIMEDOUT = -7
ESTATE = -5


def main():
    libpath, plugin, config_file, copy_dir, out_file = sys.argv[1:6]
    lib = ctypes.CDLL(libpath)
    vp, cp, i64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64
    errbuf = ctypes.create_string_buffer(1024)

    def sig(name, res, *args):
        f = getattr(lib, "connhost_text_" + name)
        f.restype, f.argtypes = res, list(args)
        return f

    now_ms = sig("now_ms", i64)
    strerror = sig("strerror", cp, ctypes.c_int)
    free = sig("free", None, vp)
    load = sig("load", ctypes.c_int, cp, cp, ctypes.POINTER(vp), cp,
               ctypes.c_size_t)
    check = sig("check", ctypes.c_int, vp, cp, ctypes.POINTER(vp), cp,
                ctypes.c_size_t)
    new = sig("new", ctypes.c_int, vp, cp, cp, ctypes.POINTER(vp), cp,
              ctypes.c_size_t)
    start = sig("start", ctypes.c_int, vp, cp, ctypes.c_size_t)
    invoke = sig("invoke", ctypes.c_int, vp, cp, cp, cp, cp, i64,
                 ctypes.POINTER(ctypes.c_uint64), cp, ctypes.c_size_t)
    take = sig("take", ctypes.c_int, vp, i64, ctypes.POINTER(vp))
    fd_of = sig("fd", ctypes.c_int, vp)
    stats = sig("stats", ctypes.c_int, vp, ctypes.POINTER(vp))
    shutdown = sig("shutdown", ctypes.c_int, vp, i64)
    unload = sig("unload", None, vp)

    def fail(what, rc):
        msg = errbuf.value.decode("utf-8", "replace")
        sys.stderr.write("%s: %d %s: %s\n" % (
            what, rc, strerror(rc).decode(), msg))
        sys.exit(1)

    def text_of(ptr):
        """A string the facade returned: copied, then freed by the facade."""
        s = ctypes.string_at(ptr.value).decode("utf-8")
        free(ptr)
        return s

    def js(o):
        return json.dumps(o).encode()

    p = vp()
    rc = load(plugin.encode(), js({"copy_dir": copy_dir}), ctypes.byref(p),
              errbuf, len(errbuf))
    if rc:
        fail("load", rc)
    config = open(config_file, "rb").read()
    eff = vp()
    rc = check(p, config, ctypes.byref(eff), errbuf, len(errbuf))
    if rc:
        fail("check", rc)
    effective = json.loads(text_of(eff))
    print("# effective config keys: %d, token shown as %s" % (
        len(effective), effective.get("TWILIO_TOKEN")))
    if effective.get("TWILIO_TOKEN") != "********":
        sys.stderr.write("check: the token is not masked\n")
        sys.exit(1)

    ti = vp()
    rc = new(p, config, js({"max_calls": 8, "max_events": 8}),
             ctypes.byref(ti), errbuf, len(errbuf))
    if rc:
        fail("new", rc)
    rc = start(ti, errbuf, len(errbuf))
    if rc:
        fail("start", rc)

    item = vp()
    rc = take(ti, 0, ctypes.byref(item))
    if rc != ETIMEDOUT:
        fail("take on an empty queue should be ETIMEDOUT", rc)

    call_id = ctypes.c_uint64()
    inputs = {"smsFrom": "+15005550006",
              "smsTo": ["+1 415 555 0100", "+14155550101"],
              "smsBody": "Order ${order} from Python"}
    rc = invoke(ti, b"send_sms", js(inputs), js({"order": 7}),
                b"python-task-1", 20000, ctypes.byref(call_id), errbuf,
                len(errbuf))
    if rc:
        fail("invoke", rc)
    print("# send_sms accepted as call %d" % call_id.value)

    # Pull mode from this (the host's own) thread: wait on the descriptor,
    # then take without blocking; bounded by a deadline on the ABI clock.
    poller = select.poll()
    poller.register(fd_of(ti), select.POLLIN)
    deadline = now_ms() + 30000
    result = None
    while result is None and now_ms() < deadline:
        if not poller.poll(max(0, deadline - now_ms())):
            continue
        rc = take(ti, 0, ctypes.byref(item))
        if rc == ETIMEDOUT:
            continue
        if rc:
            fail("take", rc)
        result = json.loads(text_of(item))
    if result is None:
        sys.stderr.write("no result within 30 s\n")
        sys.exit(1)
    if result.get("call_id") != call_id.value:
        sys.stderr.write("result for another call: %r\n" % result)
        sys.exit(1)
    with open(out_file, "w") as f:
        json.dump(result, f)

    st = vp()
    if stats(ti, ctypes.byref(st)) == 0:
        s = json.loads(text_of(st))
        print("# stats: calls_started %s, in flight %s" % (
            s.get("calls_started"), s["text"]["calls_in_flight"]))
    rc = shutdown(ti, 5000)
    if rc:
        fail("shutdown", rc)
    unload(p)
    print("# shut down and unloaded")


if __name__ == "__main__":
    main()
