#!/bin/sh
# instructions.sh - instructions and system calls per message, connector
# against raw libcurl: the repeatable half of docs/benchmarks.md (wall time
# and CPU seconds swing with whatever else the machine runs; callgrind's
# instruction counts and strace's call counts do not).
#
#   tests/bench/instructions.sh BUILDDIR [K [N]]
#
# BUILDDIR is a plain (not --enable-asan) build where `make check` has
# built tests/bench/raw-curl and tests/bench/connhost-bench. K requests in
# flight (default 16), N messages (default 5000). Starts a sandbox on a free
# loopback port, then, one after the other:
#   raw-curl (body as POSTFIELDS), raw-curl --upload readfn, and the
#   connector (connhost-bench: one call of N, TWILIO_MAX_CONCURRENCY=K),
# each under `valgrind --tool=callgrind` (whole process, so the plugin's
# load and shutdown count against the connector), then each under
# `strace -f -c` for sendto/recvfrom/poll/epoll_wait counts.
# Needs valgrind; strace is optional. Outputs go to a temporary directory
# that is removed at the end (KEEP=1 keeps it and prints its path).
set -eu

B=${1:?usage: instructions.sh BUILDDIR [K [N]]}
K=${2:-16}
N=${3:-5000}
B=$(cd "$B" && pwd)
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not found" >&2; exit 2; }
T=$(mktemp -d)
SP=
cleanup() {
	[ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM

"$B/tests/sandbox/twilio-sandbox" --port-file "$T/port" >/dev/null 2>&1 &
SP=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/port" ] || { echo "instructions.sh: the sandbox did not start" >&2; exit 1; }
URL=http://127.0.0.1:$(cat "$T/port")
cat >"$T/cfg" <<EOF
TWILIO_ACCOUNT=AC00000000000000000000000000000000
TWILIO_TOKEN=sandbox-token
TWILIO_BASE_URL=$URL
TWILIO_MAX_CONCURRENCY=$K
TWILIO_MAX_RECIPIENTS=100000
TWILIO_QUEUE_CAPACITY=100000
EOF
LT="$B/libtool --mode=execute"
RAW="$B/tests/bench/raw-curl --url $URL --messages $N --inflight $K --from +15005550006"
CONN="$B/tests/bench/connhost-bench $B/plugin/.libs/twilio.so --config $T/cfg --mode soak --messages $N --per-call $N --calls-in-flight 1"
export RAW_CURL_TOKEN=sandbox-token

per_msg() { # callgrind log -> instructions per message (all threads)
	grep -h 'refs:' "$1" | tr -d , | awk -v n="$N" '{s += $NF} END {printf "%.0f", s / n}'
}
echo "K=$K N=$N ($(curl --version | head -1 | cut -d' ' -f1-2))"
printf '%-18s %14s %8s %8s %8s %8s\n' client instr/msg sendto recvfrom poll epoll_wait
for who in raw-curl raw-curl-readfn connector; do
	case $who in
	raw-curl) cmd="$RAW --body Hello" lt= ;;
	raw-curl-readfn) cmd="$RAW --body Hello --upload readfn" lt= ;;
	connector) cmd="$CONN" lt=$LT ;;
	esac
	# shellcheck disable=SC2086
	$lt valgrind --tool=callgrind --callgrind-out-file="$T/$who.cg" $cmd >/dev/null 2>"$T/$who.log"
	s=0 r=0 p=0 e=0
	if command -v strace >/dev/null; then
		# shellcheck disable=SC2086
		$lt strace -f -c -o "$T/$who.st" $cmd >/dev/null 2>&1
		s=$(awk '$NF == "sendto" {print $4}' "$T/$who.st")
		r=$(awk '$NF == "recvfrom" {print $4}' "$T/$who.st")
		p=$(awk '$NF == "poll" {print $4}' "$T/$who.st")
		e=$(awk '$NF == "epoll_wait" {print $4}' "$T/$who.st")
	fi
	printf '%-18s %14s %8s %8s %8s %8s\n' "$who" "$(per_msg "$T/$who.log")" \
		"${s:-0}" "${r:-0}" "${p:-0}" "${e:-0}"
done
