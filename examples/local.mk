# examples: rules for this directory (included by the top Makefile.am)

# The minimal embedding host, compiled and run (tests/host_example.sh)
# during make check.
check_PROGRAMS += examples/minimal-host
examples_minimal_host_SOURCES = examples/minimal-host.c
examples_minimal_host_LDADD = host-api/libconnhost.la $(JSONC_LIBS)

# The product's demo (the README's first command), run against this build.
TESTS += tests/example_order_number.sh
dist_noinst_SCRIPTS += tests/example_order_number.sh
EXTRA_DIST += examples/order-number/run.sh examples/order-number/triggers.json
