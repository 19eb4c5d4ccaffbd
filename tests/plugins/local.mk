# tests/plugins: the fake connector (two versions) and the bad plugins the
# host library must refuse, each a real shared object (check_LTLIBRARIES
# need -rpath to become one). Included from tests/local.mk.

PLUGIN_LDFLAGS = -module -avoid-version -rpath /nowhere -no-undefined \
	-Wl,-z,now -export-symbols-regex '^conn_plugin_get$$'
PLUGIN_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

check_LTLIBRARIES += tests/plugins/fake-v1.la tests/plugins/fake-v2.la
tests_plugins_fake_v1_la_SOURCES = tests/plugins/fake.c
tests_plugins_fake_v1_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAKE_VERSION=1
tests_plugins_fake_v1_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_fake_v1_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_fake_v1_la_LIBADD = $(JSONC_LIBS)
tests_plugins_fake_v2_la_SOURCES = tests/plugins/fake.c
tests_plugins_fake_v2_la_CPPFLAGS = $(AM_CPPFLAGS) -DFAKE_VERSION=2
tests_plugins_fake_v2_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_fake_v2_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_fake_v2_la_LIBADD = $(JSONC_LIBS)

# The bad plugins: each breaks one rule and must be refused at load with
# its own message (tests/host/test_load.c). bad-unresolved is linked without
# -no-undefined (it references a function nobody defines); bad-noentry
# exports its entry under another name.
BAD_PLUGINS = tests/plugins/bad-unresolved.la tests/plugins/bad-noentry.la \
	tests/plugins/bad-nullentry.la tests/plugins/bad-major.la \
	tests/plugins/bad-minor.la tests/plugins/bad-small.la \
	tests/plugins/bad-nullslot.la
check_LTLIBRARIES += $(BAD_PLUGINS)
noinst_HEADERS += tests/plugins/stub.h
BAD_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -rpath /nowhere -Wl,-z,now
tests_plugins_bad_unresolved_la_SOURCES = tests/plugins/bad-unresolved.c
tests_plugins_bad_unresolved_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_unresolved_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -rpath /nowhere
tests_plugins_bad_noentry_la_SOURCES = tests/plugins/bad-noentry.c
tests_plugins_bad_noentry_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_noentry_la_LDFLAGS = $(BAD_LDFLAGS) -no-undefined
tests_plugins_bad_nullentry_la_SOURCES = tests/plugins/bad-nullentry.c
tests_plugins_bad_nullentry_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_nullentry_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_bad_major_la_SOURCES = tests/plugins/bad-major.c
tests_plugins_bad_major_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_major_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_bad_minor_la_SOURCES = tests/plugins/bad-minor.c
tests_plugins_bad_minor_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_minor_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_bad_small_la_SOURCES = tests/plugins/bad-small.c
tests_plugins_bad_small_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_small_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
# ABI 1.1 (issue #11): a table saying minor 1 must be 1.1's size
check_LTLIBRARIES += tests/plugins/bad-small11.la
tests_plugins_bad_small11_la_SOURCES = tests/plugins/bad-small11.c
tests_plugins_bad_small11_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_small11_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_bad_nullslot_la_SOURCES = tests/plugins/bad-nullslot.c
tests_plugins_bad_nullslot_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_bad_nullslot_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)

# Unit tests of libconnhost, one per module, and the CLI tests.
HOST_TEST_LDADD = host-api/libconnhost.la $(JSONC_LIBS) $(PTHREAD_LIBS)
HOST_TESTS = tests/host/test_store tests/host/test_config tests/host/test_log \
	tests/host/test_load tests/host/test_calls tests/host/test_subs tests/host/test_instance
# the hot swap (connhost_instance_swap) between fake-v1 and fake-v2
HOST_TESTS += tests/host/test_swap
check_PROGRAMS += $(HOST_TESTS)
TESTS += $(HOST_TESTS)
noinst_HEADERS += tests/plugins/hosttest.h
# store.c and log.c compiled in: connhost__store_slab_bytes() and the
# logger are not exported.
tests_host_test_store_SOURCES = tests/host/test_store.c host-api/store.c \
	host-api/log.c
tests_host_test_store_CPPFLAGS = $(AM_CPPFLAGS) # its own objects
tests_host_test_store_LDADD = $(HOST_TEST_LDADD)
tests_host_test_config_LDADD = $(HOST_TEST_LDADD)
# log.c is compiled into its test too, to reach connhost__logf(), which
# the library does not export.
tests_host_test_log_SOURCES = tests/host/test_log.c host-api/log.c
tests_host_test_log_CPPFLAGS = $(AM_CPPFLAGS) # its own object for log.c
tests_host_test_log_LDADD = $(HOST_TEST_LDADD)
tests_host_test_load_LDADD = $(HOST_TEST_LDADD)
tests_host_test_calls_LDADD = $(HOST_TEST_LDADD)
tests_host_test_subs_LDADD = $(HOST_TEST_LDADD)
tests_host_test_instance_LDADD = $(HOST_TEST_LDADD)
tests_host_test_swap_LDADD = $(HOST_TEST_LDADD)

TESTS += tests/host_cli.sh
dist_noinst_SCRIPTS += tests/host_cli.sh
TESTS += tests/host_example.sh
dist_noinst_SCRIPTS += tests/host_example.sh

# pin.la links libpcre2-8, which the tests do not: after unloading it,
# libpcre2-8 must stay mapped (pinned) rather than be unmapped with it.
check_LTLIBRARIES += tests/plugins/pin.la
tests_plugins_pin_la_SOURCES = tests/plugins/pin.c
tests_plugins_pin_la_CFLAGS = $(PLUGIN_CFLAGS) $(PCRE2_CFLAGS)
tests_plugins_pin_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_pin_la_LIBADD = $(PCRE2_LIBS)

# fake_events publishes the JSON lines sent to its socket and records the
# actions it runs: `connector-host serve` without the real webhook.
check_LTLIBRARIES += tests/plugins/fake_events.la
tests_plugins_fake_events_la_SOURCES = tests/plugins/fake_events.c
tests_plugins_fake_events_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_fake_events_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_fake_events_la_LIBADD = $(JSONC_LIBS) $(PTHREAD_LIBS)

# connector-host serve and its triggers file (host-api/serve.c, triggers.c)
TESTS += tests/serve.sh
dist_noinst_SCRIPTS += tests/serve.sh
check_PROGRAMS += tests/fuzz/fuzz_triggers
TESTS += tests/fuzz/fuzz_triggers
tests_fuzz_fuzz_triggers_SOURCES = tests/fuzz/fuzz_triggers.c \
	tests/fuzz/fuzz_replay.h host-api/triggers.c host-api/triggers.h
tests_fuzz_fuzz_triggers_CPPFLAGS = $(AM_CPPFLAGS) \
	-I$(top_srcdir)/host-api
tests_fuzz_fuzz_triggers_LDADD = $(JSONC_LIBS)
EXTRA_DIST += tests/fuzz/corpus/triggers
fuzz-host:
	@test -n "$(CLANG)" || { echo "fuzz-host: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -DTW_LIBFUZZER \
	  -I$(top_srcdir)/host-api -I$(top_builddir) \
	  $(JSONC_CFLAGS) -o tests/fuzz/fuzz_triggers-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_triggers.c \
	  $(top_srcdir)/host-api/triggers.c $(JSONC_LIBS)
	@echo "run: tests/fuzz/fuzz_triggers-libfuzzer NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/triggers"
CLEANFILES += tests/fuzz/fuzz_triggers-libfuzzer
.PHONY: fuzz-host

# ABI 1.0 compatibility (issue #11): plugin10 is compiled against the
# frozen 1.0 header beside it (tests/plugins/abi-1.0/connector.h, found
# first because plugin10.c includes it with quotes), so its table has 1.0's
# layout; test_abi_compat loads it through the 1.1 libconnhost, and drives
# the 1.1 twilio.so directly with a host table of exactly 1.0's size that
# ends at a PROT_NONE guard page.
check_LTLIBRARIES += tests/plugins/plugin10.la
noinst_HEADERS += tests/plugins/abi-1.0/connector.h
tests_plugins_plugin10_la_SOURCES = tests/plugins/abi-1.0/plugin10.c
tests_plugins_plugin10_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_plugins_plugin10_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_LDFLAGS)
tests_plugins_plugin10_la_LIBADD = $(JSONC_LIBS) $(PTHREAD_LIBS)
HOST_TESTS += tests/host/test_abi_compat
tests_host_test_abi_compat_LDADD = $(HOST_TEST_LDADD)
EXTRA_tests_host_test_abi_compat_DEPENDENCIES = plugin/twilio.la \
	tests/plugins/plugin10.la
EXTRA_DIST += tests/plugins/abi-1.0/README.md
