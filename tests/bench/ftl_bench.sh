#!/bin/sh
# ftl_bench.sh BENCH_BINARY [ASAN]: `make bench` for the template engine.
# Renders the reference SMS template with ftl_bench (C, one thread) and with
# Apache FreeMarker in a warmed-up Java loop (one thread), in the same run,
# and prints both figures and the ratio. Java is optional: without javac or
# the Debian jar only the C figure is printed.
BIN=$1
ASAN=${2:-no}
SECS=${FTL_BENCH_SECONDS:-3}
JAR=${FREEMARKER_JAR:-/usr/share/java/freemarker.jar}
HERE=$(dirname "$0")
if [ "$ASAN" = yes ]; then
	echo "bench-ftl: note: this build has ASan/UBSan; use a plain build for real figures"
fi
C_LINE=$(taskset -c 0 "$BIN" "$SECS" 2>/dev/null || "$BIN" "$SECS") || exit 1
echo "$C_LINE"
if ! command -v javac > /dev/null 2>&1 || ! command -v java > /dev/null 2>&1 || [ ! -f "$JAR" ]; then
	echo "bench-ftl: skipping the FreeMarker comparison (needs javac, java and $JAR)"
	exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ftlbench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
javac -nowarn -cp "$JAR" -d "$TMP" "$HERE/FtlBench.java" || exit 1
J_LINE=$(taskset -c 0 java -XX:+UseSerialGC -cp "$JAR:$TMP" FtlBench "$SECS" 2>/dev/null ||
	java -cp "$JAR:$TMP" FtlBench "$SECS") || exit 1
echo "$J_LINE"
C_NS=$(echo "$C_LINE" | sed -n 's/.*ns_per_render=\([0-9.]*\).*/\1/p')
J_NS=$(echo "$J_LINE" | sed -n 's/.*ns_per_render=\([0-9.]*\).*/\1/p')
C_OUT=$(echo "$C_LINE" | sed -n 's/.* output=//p')
J_OUT=$(echo "$J_LINE" | sed -n 's/.* output=//p')
[ "$C_OUT" = "$J_OUT" ] || echo "bench-ftl: WARNING: outputs differ"
awk -v c="$C_NS" -v j="$J_NS" 'BEGIN {
	printf "ftl-c %.0f ns/render, freemarker-java %.0f ns/render: C is %.2fx as fast (target >= 1.5x)\n", c, j, j / c }'
