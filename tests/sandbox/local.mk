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

# The sandbox server: built by `make all` too, so the demo can start it.
noinst_PROGRAMS += tests/sandbox/twilio-sandbox
tests_sandbox_twilio_sandbox_SOURCES = tests/sandbox/main.c \
	tests/sandbox/http.c tests/sandbox/api.c tests/sandbox/fault.c \
	tests/sandbox/util.c tests/sandbox/sandbox.h
tests_sandbox_twilio_sandbox_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/plugin $(MHD_CFLAGS)
tests_sandbox_twilio_sandbox_LDADD = plugin/libtwsegments.la $(MHD_LIBS) \
	$(PTHREAD_LIBS)
