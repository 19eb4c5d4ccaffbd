#!/bin/sh
# send_sms_symbols.sh - the plugin exports exactly one symbol.
so="$top_builddir/plugin/.libs/twilio.so"
command -v nm >/dev/null 2>&1 || { echo "1..0 # SKIP nm not found"; exit 0; }
[ -f "$so" ] || { echo "1..0 # SKIP $so not built"; exit 0; }
syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sort)
echo "1..1"
if [ "$syms" = "conn_plugin_get" ]; then
	echo "ok 1 - only conn_plugin_get is exported"
else
	echo "not ok 1 - exported: $(echo $syms)"
	exit 1
fi
