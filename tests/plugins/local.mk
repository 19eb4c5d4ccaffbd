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
