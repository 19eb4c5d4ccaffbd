# host-api: rules for this directory (included by the top Makefile.am)
# libconnhost (the host library), its public header, and connector-host.

lib_LTLIBRARIES += host-api/libconnhost.la
host_api_libconnhost_la_SOURCES = \
	host-api/calls.c \
	host-api/config.c \
	host-api/file.c \
	host-api/instance.c \
	host-api/load.c \
	host-api/log.c \
	host-api/store.c \
	host-api/subs.c \
	host-api/connhost-int.h
host_api_libconnhost_la_LIBADD = $(LTDL_LIBS) $(JSONC_LIBS) $(LIBS)
host_api_libconnhost_la_LDFLAGS = $(AM_LDFLAGS) -version-info 1:0:1 \
	-no-undefined -export-symbols-regex '^connhost_[a-z]'
connectorinclude_HEADERS += host-api/connhost.h
# libconnhost's ABI as last released, and the check CI runs against it
# (host-api/abi/abi-check.sh: abidiff, and -version-info's libtool rule)
EXTRA_DIST += host-api/abi/libconnhost-1.0.abi host-api/abi/abi-check.sh

bin_PROGRAMS += host-api/connector-host
host_api_connector_host_SOURCES = host-api/connector-host.c \
	host-api/serve.c host-api/triggers.c host-api/triggers.h
host_api_connector_host_CPPFLAGS = $(AM_CPPFLAGS) \
	-DPACKAGE_VERSION='"$(PACKAGE_VERSION)"' -DPACKAGE_NAME='"$(PACKAGE_NAME)"'
host_api_connector_host_LDADD = host-api/libconnhost.la $(JSONC_LIBS) $(PTHREAD_LIBS)

# The fake and bad plugins and the tests of libconnhost and connector-host
# live in their own fragment (tests/plugins/local.mk) so that tests/local.mk
# stays free for the other directories' tests.
include tests/plugins/local.mk

# The JSON-text facade for hosts in other languages (issue #11): part of
# libconnhost, its header installed beside connhost.h.
host_api_libconnhost_la_SOURCES += host-api/text.c
connectorinclude_HEADERS += host-api/connhost_text.h
check_PROGRAMS += tests/host/test_text
TESTS += tests/host/test_text
tests_host_test_text_LDADD = $(HOST_TEST_LDADD)
TESTS += tests/host/facade_py.sh
dist_noinst_SCRIPTS += tests/host/facade_py.sh
EXTRA_DIST += tests/host/facade_host.py

# The facade's argument parser (text.c's first part, alone): its corpus is
# replayed in make check; `make fuzz-text` builds the libFuzzer target.
check_PROGRAMS += tests/fuzz/fuzz_text
TESTS += tests/fuzz/fuzz_text
tests_fuzz_fuzz_text_SOURCES = tests/fuzz/fuzz_text.c tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_text_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/host-api
tests_fuzz_fuzz_text_LDADD = $(JSONC_LIBS)
EXTRA_DIST += tests/fuzz/corpus/text
fuzz-text:
	@test -n "$(CLANG)" || { echo "fuzz-text: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -DTW_LIBFUZZER \
	  -I$(top_srcdir)/host-api -I$(top_builddir) \
	  $(JSONC_CFLAGS) -o tests/fuzz/fuzz_text-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_text.c $(JSONC_LIBS)
	@echo "run: tests/fuzz/fuzz_text-libfuzzer NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/text"
CLEANFILES += tests/fuzz/fuzz_text-libfuzzer
.PHONY: fuzz-text
