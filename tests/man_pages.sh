#!/bin/sh
# man_pages.sh - docs/man/*.1: each renders without a warning (groff -ww,
# and man --warnings when man-db is there), documents every option its
# program's --help lists, and --help and --version.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
tmpdir "${TMPDIR:-/tmp}/man_pages"
WRAP=${CONN_TEST_WRAP:-}

command -v groff >/dev/null 2>&1 || {
	echo "1..0 # SKIP groff not found (Debian: groff-base)"
	exit 0
}

n=0 failed=0

for prog in host-api/connector-host ftl-render tests/sandbox/twilio-sandbox; do
	name=${prog##*/}
	page=$top_srcdir/docs/man/$name.1
	if [ ! -f "$page" ]; then
		nok "$name.1 exists"
		continue
	fi
	groff -man -ww -z "$page" >"$T/groff.err" 2>&1
	if [ -s "$T/groff.err" ]; then
		nok "$name.1: groff -ww warns"
		sed 's/^/#   /' "$T/groff.err"
	else
		ok "$name.1: groff -ww: no warning"
	fi
	if command -v man >/dev/null 2>&1; then
		# man adds the warnings about lines it cannot break at its width
		for w in 80 60; do
			LC_ALL=C.UTF-8 MANWIDTH=$w man --warnings -l "$page" \
				>"$T/$name.txt" 2>"$T/man.err"
			if [ -s "$T/man.err" ]; then
				nok "$name.1: man --warnings at width $w"
				sed 's/^/#   /' "$T/man.err"
			else
				ok "$name.1: man --warnings at width $w: no warning"
			fi
		done
	fi
	# the rendered text, plain ASCII, overstrikes removed
	groff -man -Tascii -P-cbou "$page" 2>/dev/null >"$T/$name.txt"
	$WRAP "$top_builddir/$prog" --help >"$T/$name.help" 2>&1
	missing=
	for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/$name.help" | sort -u) --help --version; do
		grep -q -e "$opt" "$T/$name.txt" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then
		ok "$name.1 documents every option of --help, --help and --version"
	else
		nok "$name.1 lacks:$missing"
	fi
	grep -q "^NAME" "$T/$name.txt" && grep -q "^SYNOPSIS" "$T/$name.txt" &&
		grep -q "^EXIT STATUS" "$T/$name.txt"
	if [ $? -eq 0 ]; then ok "$name.1: NAME, SYNOPSIS, EXIT STATUS"; else
		nok "$name.1: NAME, SYNOPSIS, EXIT STATUS"
	fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
