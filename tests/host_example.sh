#!/bin/sh
# host_example.sh - examples/minimal-host runs against the fake connector;
# the installed headers compile on their own under -std=c11 -pedantic; and
# the build line documented in examples/minimal-host.c works as written
# against a `make install DESTDIR=...` tree (issue 8, item 13).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/host_example"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
echo "1..7"
printf 'FAKE_NAME=example\n' >"$T/conf"
printf '{"n":1}' >"$T/in1"
out=$(${CONN_TEST_WRAP:-} "$top_builddir/examples/minimal-host" \
	"$top_builddir/tests/plugins/fake-v1.la" "$T/conf" echo <"$T/in1")
code=$?
[ $code = 0 ] && echo "ok 1 - minimal-host exits 0" ||
	echo "not ok 1 - minimal-host exits 0 (got $code)"
want='{"echo":{"n":1},"vars":null,"name":"example","version":1}'
[ "$out" = "$want" ] && echo "ok 2 - prints the outputs" ||
	{ echo "not ok 2 - prints the outputs"; echo "# got: $out"; }

# The headers on their own, in strict C11 (connector.h needs POSIX's
# clock_gettime(CLOCK_MONOTONIC), which -std=c11 hides).
CC=${CC:-cc}
JSONC_CFLAGS=$(pkg-config --cflags json-c 2>/dev/null)
for h in connector.h connhost.h; do
	printf '#include "%s"\n' "$h" >"$T/h_$h.c"
	# shellcheck disable=SC2086
	if $CC -std=c11 -pedantic -Wall -Werror -fsyntax-only \
		-I"$top_srcdir/host-api" $JSONC_CFLAGS "$T/h_$h.c" 2>"$T/h.err"; then
		echo "ok - $h compiles with -std=c11 -pedantic -Wall -Werror"
	else
		echo "not ok - $h compiles with -std=c11 -pedantic -Wall -Werror"
		sed 's/^/# /' "$T/h.err" | head -n 10
	fi
done

# Install the headers, the library and connector.pc into a DESTDIR tree,
# then build minimal-host with the line its header documents.
if make -C "$top_builddir" DESTDIR="$T/inst" install-libLTLIBRARIES \
	install-connectorincludeHEADERS install-pkgconfigDATA >"$T/install.log" 2>&1; then
	echo "ok - make install DESTDIR (library, headers, connector.pc)"
else
	echo "not ok - make install DESTDIR (library, headers, connector.pc)"
	tail -n 20 "$T/install.log" | sed 's/^/# /'
fi
pc=$(find "$T/inst" -name connector.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
line=$(sed -n 's/^ \*   \(cc minimal-host\.c .*\)$/\1/p' "$top_srcdir/examples/minimal-host.c")
cp "$top_srcdir/examples/minimal-host.c" "$T/"
if [ -n "$pc" ] && [ -n "$line" ] && (cd "$T" &&
	PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$T/inst" \
	CONN_LINE=$line sh -c "eval \"\$CONN_LINE\"") >"$T/cc.log" 2>&1; then
	echo "ok - the documented build line works: $line"
else
	echo "not ok - the documented build line works: ${line:-(not found)}"
	sed 's/^/# /' "$T/cc.log" | head -n 20
fi
# An ASan-built library needs its runtime first: the plain a.out lets it
# come later. A TSan-built one cannot come later (the uninstrumented a.out
# crashes in TSan's interceptors before main): preload it, as a host built
# without TSan would have to.
TSAN_PRELOAD=
if [ "${CONN_TSAN:-no}" = yes ]; then
	TSAN_PRELOAD=$(ldd "$top_builddir/host-api/.libs/libconnhost.so" |
		sed -n 's/^[[:space:]]*libtsan[^ ]* => \([^ ]*\) .*/\1/p')
fi
printf '{"n":2}' >"$T/in2"
out=$(cd "$T" && LD_LIBRARY_PATH=$libdir LD_PRELOAD=$TSAN_PRELOAD \
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 \
	./a.out "$top_builddir/tests/plugins/fake-v1.la" "$T/conf" echo <"$T/in2" 2>"$T/run.err")
want='{"echo":{"n":2},"vars":null,"name":"example","version":1}'
if [ "$out" = "$want" ]; then
	echo "ok - the installed build runs"
else
	echo "not ok - the installed build runs"
	echo "# got: $out"
	sed 's/^/# /' "$T/run.err" | head -n 10
fi
