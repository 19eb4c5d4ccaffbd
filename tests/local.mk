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
