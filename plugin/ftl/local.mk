# plugin/ftl: rules for this directory (included by the top Makefile.am)
