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
