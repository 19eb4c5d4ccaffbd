# tests: rules for this directory (included by the top Makefile.am)

# The shell tests' cleanup pattern (sourced by every tests/*.sh and
# examples/demo.sh), and its test.
TESTS += tests/test_lib.sh
dist_noinst_SCRIPTS += tests/test_lib.sh
EXTRA_DIST += tests/lib.sh

# The man pages (docs/man, installed by the top Makefile.am) against the
# programs' --help.
TESTS += tests/man_pages.sh
dist_noinst_SCRIPTS += tests/man_pages.sh

# The fake conn_host shared by the plugin's C tests (tests/fake_host.h):
# its claim store, publish modes, completions and log.
check_PROGRAMS += tests/test_fake_host
TESTS += tests/test_fake_host
tests_test_fake_host_SOURCES = tests/test_fake_host.c tests/fake_host.c \
	tests/fake_host.h
tests_test_fake_host_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests \
	$(JSONC_CFLAGS)
tests_test_fake_host_LDADD = $(JSONC_LIBS) $(PTHREAD_LIBS)
