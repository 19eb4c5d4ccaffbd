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

# The example plugin of docs/abi.md §7, built by tests/examples_hello.sh
# without libtool, with the line its header comment gives: the compiler,
# json-c flags and sanitizer flags of this build come from build-env.sh,
# written here for it (so the ASan build checks the example too).
TESTS += tests/examples_hello.sh
dist_noinst_SCRIPTS += tests/examples_hello.sh
EXTRA_DIST += examples/hello/hello.c
check_SCRIPTS += examples/hello/build-env.sh
CLEANFILES += examples/hello/build-env.sh
examples/hello/build-env.sh: Makefile
	$(AM_V_GEN)$(MKDIR_P) examples/hello && { \
	  echo "HELLO_CC='$(CC)'"; \
	  echo "HELLO_CFLAGS='$(CFLAGS) $(SAN_CFLAGS)'"; \
	  echo "HELLO_LDFLAGS='$(LDFLAGS) $(SAN_LDFLAGS)'"; \
	  echo "JSONC_CFLAGS='$(JSONC_CFLAGS)'"; \
	  echo "JSONC_LIBS='$(JSONC_LIBS)'"; \
	} >$@
