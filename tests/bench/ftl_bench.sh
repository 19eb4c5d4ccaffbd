#!/bin/sh
# ftl_bench.sh BENCH_BINARY [ASAN]: `make bench-ftl`, the template engine
# against Apache FreeMarker. The method (pinning, FreeMarker's warm-up,
# alternation, medians, output check) is in ftl_bench.py; this wrapper only
# finds python3 and the source directory. Knobs (environment): BENCH_REPS
# (3), FTL_BENCH_SECONDS (3), FTL_BENCH_CPU (0), FTL_BENCH_MAX_WINDOWS (120),
# FREEMARKER_JAR. See docs/benchmarks-ftl.md.
BIN=$1
ASAN=${2:-no}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON3:-python3}
if ! command -v "$PY" > /dev/null 2>&1; then
	echo "bench-ftl: python3 not found"
	exit 1
fi
exec "$PY" "$HERE/ftl_bench.py" --bin "$BIN" --srcdir "$HERE/../.." --asan "$ASAN"
