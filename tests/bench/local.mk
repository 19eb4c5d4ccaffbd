# tests/bench: benchmarks (make bench) and interop checks (included by the top Makefile.am)

# The baseline client: built with the tests so it keeps compiling, run only
# by `make bench`.
check_PROGRAMS += tests/bench/raw-curl
tests_bench_raw_curl_SOURCES = tests/bench/raw_curl.c
tests_bench_raw_curl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
tests_bench_raw_curl_LDADD = $(CURL_LIBS)

# The request shape against Twilio's OpenAPI spec, through Prism (SKIPs
# without $PRISM or the spec; see the test's header for the install).
TESTS += tests/openapi_prism.sh
EXTRA_DIST += tests/openapi_prism.sh tests/bench/prism_shim.js

# make bench: throughput, CPU and memory of send_sms against the sandbox,
# beside raw libcurl and the official helper libraries (minutes; never part
# of check). Results in bench-results/ of the build directory; the plot goes
# to docs/throughput.png in the source tree. Knobs (environment):
# BENCH_REPS (3), BENCH_RUN_SECONDS (2), BENCH_SOAK_SECONDS (240),
# BENCH_QUICK=1 (one short pass), BENCH_NPM_CACHE.
BENCH_TARGETS += bench-send-sms
BENCH_PY = $(PYTHON3)
bench-send-sms: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	@test -n "$(BENCH_PY)" || { echo "bench: python3 not found"; exit 1; }
	$(BENCH_PY) $(abs_top_srcdir)/tests/bench/run_bench.py \
	  --builddir $(abs_top_builddir) --srcdir $(abs_top_srcdir) \
	  --out $(abs_top_builddir)/bench-results \
	  --png $(abs_top_srcdir)/docs/throughput.png
.PHONY: bench-send-sms
# Instructions and system calls per message (callgrind, strace): the
# repeatable comparison with raw libcurl; not part of `make bench`.
bench-instructions: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	$(SHELL) $(abs_top_srcdir)/tests/bench/instructions.sh \
	  $(abs_top_builddir) 16
	$(SHELL) $(abs_top_srcdir)/tests/bench/instructions.sh \
	  $(abs_top_builddir) 256
.PHONY: bench-instructions
EXTRA_DIST += tests/bench/instructions.sh
EXTRA_DIST += tests/bench/run_bench.py tests/bench/peer_python.py \
	tests/bench/peer_node.js tests/bench/throughput.gp

# The benchmark driver on libconnhost (waiting memory and the long run).
check_PROGRAMS += tests/bench/connhost-bench
tests_bench_connhost_bench_SOURCES = tests/bench/connhost_bench.c
tests_bench_connhost_bench_LDADD = host-api/libconnhost.la $(JSONC_LIBS)

# The host of bench-webhook's "connector" contender: publish enqueues, one
# thread drops the events (as the peers do); serve runs beside it.
check_PROGRAMS += tests/bench/webhook-host
tests_bench_webhook_host_SOURCES = tests/bench/webhook_host.c
tests_bench_webhook_host_LDADD = host-api/libconnhost.la $(JSONC_LIBS) -lpthread

# make bench-webhook: signed SMS_RECEIVED webhooks per second end to end,
# the connector (connector-host serve + twilio.so) beside an express + npm
# twilio peer and a gunicorn + Flask + python3-twilio peer in the same run,
# wrk replaying distinct pre-signed requests; p50/p99 at 32 and 4
# connections; the connector's RSS after 200,000 and 1,000,000 webhooks
# (minutes; never part of check; docs/benchmarks.md "SMS_RECEIVED webhooks").
# Results in bench-results/webhook/ of the build directory. Knobs: BENCH_REPS
# (5), BENCH_WEBHOOK_SECONDS (10), BENCH_WEBHOOK_SLICES (5: the
# 32-connection point in slices alternated between the contenders),
# BENCH_WEBHOOK_WARMUP (3),
# BENCH_WEBHOOK_REQUESTS (200000), BENCH_WEBHOOK_RSS (1), BENCH_WEBHOOK_ONLY,
# BENCH_WEBHOOK_HOST (serve | listen), BENCH_NPM_CACHE, BENCH_QUICK=1.
BENCH_TARGETS += bench-webhook
bench-webhook: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	@test -n "$(BENCH_PY)" || { echo "bench: python3 not found"; exit 1; }
	$(BENCH_PY) $(abs_top_srcdir)/tests/bench/webhook_bench.py \
	  --builddir $(abs_top_builddir) --srcdir $(abs_top_srcdir) \
	  --out $(abs_top_builddir)/bench-results
.PHONY: bench-webhook
EXTRA_DIST += tests/bench/webhook_bench.py tests/bench/webhook_requests.py \
	tests/bench/webhook_peer_express.js tests/bench/webhook_peer_flask.py \
	tests/bench/webhook.lua
# The benchmark's request file checked against python3-twilio (SKIPs
# without it): a correctness test, no timing.
TESTS += tests/bench/webhook_requests_test.sh
dist_noinst_SCRIPTS += tests/bench/webhook_requests_test.sh

# Hot swap under load (issue 11): tests/bench/swap_soak.c swaps twilio.so
# and twilio-v2.so while send_sms callers and keep-alive webhook clients run;
# tests/bench/swap_soak.sh checks it against the sandbox's record. A short
# run (6 swaps) is part of check; `make soak-swap` runs 1,000 swaps (CI runs
# it once, in the plain build); `make bench-swap` runs 100 and writes the
# figures (swap pause, first call on the new version, the throughput dip)
# to bench-results/swap.json (docs/benchmarks.md "Hot swap").
check_PROGRAMS += tests/bench/swap-soak
tests_bench_swap_soak_SOURCES = tests/bench/swap_soak.c
tests_bench_swap_soak_LDADD = host-api/libconnhost.la $(JSONC_LIBS) -lpthread
TESTS += tests/bench/swap_soak.sh
dist_noinst_SCRIPTS += tests/bench/swap_soak.sh
SOAK_SWAPS = 1000
soak-swap: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
	  SWAP_GAP_MS=20 \
	  $(SHELL) $(abs_top_srcdir)/tests/bench/swap_soak.sh $(SOAK_SWAPS)
BENCH_TARGETS += bench-swap
bench-swap: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	@mkdir -p $(abs_top_builddir)/bench-results
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
	  SWAP_SOAK_OUT=$(abs_top_builddir)/bench-results/swap.json \
	  $(SHELL) $(abs_top_srcdir)/tests/bench/swap_soak.sh 100
.PHONY: soak-swap bench-swap
