# plugin/ftl: the FreeMarker subset (libftl.la) and the ftl-render CLI.

noinst_LTLIBRARIES += plugin/ftl/libftl.la
plugin_ftl_libftl_la_SOURCES = \
	plugin/ftl/ftl.h plugin/ftl/ftl_int.h plugin/ftl/eval.h \
	plugin/ftl/num.c plugin/ftl/text.c plugin/ftl/parse.c \
	plugin/ftl/eval.c plugin/ftl/builtins.c plugin/ftl/template.c
plugin_ftl_libftl_la_CFLAGS = $(AM_CFLAGS) -fPIC
plugin_ftl_libftl_la_LIBADD = $(JSONC_LIBS) $(PTHREAD_LIBS) -lm

bin_PROGRAMS += ftl-render
ftl_render_SOURCES = plugin/ftl/ftl-render.c
ftl_render_LDADD = plugin/ftl/libftl.la $(JSONC_LIBS)
