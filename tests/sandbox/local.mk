# tests/sandbox: rules for this directory (included by the top Makefile.am)
#
# The GSM-7/UCS-2 segment counter lives in plugin/ but is owned here: the
# plugin and the sandbox both link the convenience library.
noinst_LTLIBRARIES += plugin/libtwsegments.la
plugin_libtwsegments_la_SOURCES = plugin/segments.c plugin/segments.h

check_PROGRAMS += tests/test_segments
TESTS += tests/test_segments
tests_test_segments_SOURCES = tests/test_segments.c
tests_test_segments_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugin \
	-I$(top_srcdir)/tests
tests_test_segments_LDADD = plugin/libtwsegments.la

# The sandbox server: installed (users test their processes against it, as
# they would with Twilio's test credentials); the demo and the tests run it
# from the build tree.
bin_PROGRAMS += tests/sandbox/twilio-sandbox
tests_sandbox_twilio_sandbox_SOURCES = tests/sandbox/main.c \
	tests/sandbox/http.c tests/sandbox/api.c tests/sandbox/fault.c \
	tests/sandbox/util.c tests/sandbox/sandbox.h
tests_sandbox_twilio_sandbox_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/plugin $(MHD_CFLAGS)
tests_sandbox_twilio_sandbox_LDADD = plugin/libtwsegments.la $(MHD_LIBS) \
	$(PTHREAD_LIBS)

TESTS += tests/test_sandbox.sh tests/sandbox_interop_python.sh
dist_noinst_SCRIPTS += tests/test_sandbox.sh tests/sandbox_interop_python.sh \
	tests/sandbox/make-test-ca.sh


# Fuzz target of the parsers owned here (segments, form, base64, routes,
# --fault): replays generated inputs in `make check`; `make fuzz-sandbox`
# builds a libFuzzer binary with clang.
check_PROGRAMS += tests/sandbox/fuzz_sandbox
TESTS += tests/sandbox/fuzz_sandbox
tests_sandbox_fuzz_sandbox_SOURCES = tests/sandbox/fuzz_sandbox.c \
	tests/sandbox/util.c tests/sandbox/fault.c tests/sandbox/api.c \
	tests/sandbox/sandbox.h
tests_sandbox_fuzz_sandbox_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugin
tests_sandbox_fuzz_sandbox_LDADD = plugin/libtwsegments.la $(PTHREAD_LIBS)

fuzz-sandbox:
	@test -n "$(CLANG)" || { echo "fuzz-sandbox: clang not found"; exit 1; }
	$(MKDIR_P) tests/sandbox
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -DSB_LIBFUZZER \
	  -I$(top_srcdir)/tests/sandbox -I$(top_srcdir)/plugin -pthread \
	  -o tests/sandbox/fuzz_sandbox-libfuzzer \
	  $(top_srcdir)/tests/sandbox/fuzz_sandbox.c \
	  $(top_srcdir)/tests/sandbox/util.c $(top_srcdir)/tests/sandbox/fault.c \
	  $(top_srcdir)/tests/sandbox/api.c $(top_srcdir)/plugin/segments.c
	@echo "run: tests/sandbox/fuzz_sandbox-libfuzzer -max_total_time=60"
.PHONY: fuzz-sandbox
CLEANFILES += tests/sandbox/fuzz_sandbox-libfuzzer

# The sandbox's inbound side: `twilio-sandbox inbound` signs and posts
# webhooks (plugin/libtwsig.la), numbers.c serves IncomingPhoneNumbers.
tests_sandbox_twilio_sandbox_SOURCES += tests/sandbox/inbound.c \
	tests/sandbox/numbers.c
tests_sandbox_twilio_sandbox_LDADD += plugin/libtwsig.la plugin/libtwwire.la \
	$(CRYPTO_LIBS)
TESTS += tests/sandbox_inbound.sh
dist_noinst_SCRIPTS += tests/sandbox_inbound.sh
