noinst_LTLIBRARIES += plugin/ftl/libftl.la
plugin_ftl_libftl_la_SOURCES = plugin/ftl/stub.c plugin/ftl/ftl.h
plugin_ftl_libftl_la_CFLAGS = $(AM_CFLAGS) -Wno-error -w
