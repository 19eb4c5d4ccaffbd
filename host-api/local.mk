# host-api: rules for this directory (included by the top Makefile.am)
