#!/bin/sh
# host_example.sh - examples/minimal-host runs against the fake connector.
set -u
: "${top_builddir:?}"
. "${top_srcdir:-.}/tests/lib.sh"
tmpdir "$top_builddir/tests/host_example"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
echo "1..2"
printf 'FAKE_NAME=example\n' >"$T/conf"
out=$(${CONN_TEST_WRAP:-} "$top_builddir/examples/minimal-host" \
	"$top_builddir/tests/plugins/fake-v1.la" "$T/conf" echo '{"n":1}')
code=$?
[ $code = 0 ] && echo "ok 1 - minimal-host exits 0" ||
	echo "not ok 1 - minimal-host exits 0 (got $code)"
want='{"echo":{"n":1},"vars":null,"name":"example","version":1}'
[ "$out" = "$want" ] && echo "ok 2 - prints the outputs" ||
	{ echo "not ok 2 - prints the outputs"; echo "# got: $out"; }
