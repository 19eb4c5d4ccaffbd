#!/bin/sh
# test_lib.sh - tests/lib.sh, the shell tests' cleanup pattern, under bash
# and under sh: a subshell killed as soon as it starts never runs the
# test's cleanup (the old `trap 'rm -rf "$T"' EXIT` + watchdog pattern lost
# its directory that way, at random); the cleanup runs once at exit, on
# `exit N` (status kept) and, under bash, on SIGTERM, and ends the background processes
# registered with at_exit; wait_pid and wait_until are bounded.
set -u
: "${top_srcdir:=.}"
LIB=$top_srcdir/tests/lib.sh
. "$LIB"
tmpdir "${TMPDIR:-/tmp}/test_lib"

n=0 failed=0
is() { # EXPECTED ACTUAL DESCRIPTION
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"; else
		echo "not ok $n - $3"
		echo "#   expected: '$1'"
		echo "#        got: '$2'"
		failed=$((failed + 1))
	fi
}

shells=sh
command -v bash >/dev/null 2>&1 && shells="bash sh"

# 40 watchdogs, each killed right after it starts (the window in which a
# child still carries the parent's EXIT trap); then report whether the
# test's directory survived. A killed subshell leaves its sleep behind:
# short, and away from the test's stdout. bash complains on stderr when the
# window is hit ("wait_for: No record of process"): into a file.
cat >"$T/watchdogs.sh" <<'EOF'
. "$LIB"
tmpdir "$DIR/wd"
echo "$T" >"$DIR/wd.path"
i=0
while [ $i -lt 40 ]; do
	(sleep 2; echo never) >/dev/null &
	kill "$!"
	wait "$!" 2>/dev/null
	i=$((i + 1))
done
[ -d "$T" ] && echo kept || echo deleted
EOF
# the same with the old pattern, for the record (not an assertion: it
# depends on the shell and on scheduling)
cat >"$T/old.sh" <<'EOF'
T=$(mktemp -d "$DIR/old.XXXXXX")
trap 'rm -rf "$T"' EXIT
i=0
while [ $i -lt 40 ]; do
	(sleep 2; echo never) >/dev/null &
	kill "$!"
	wait "$!" 2>/dev/null
	i=$((i + 1))
done
[ -d "$T" ] && echo kept || echo deleted
EOF
cat >"$T/exit.sh" <<'EOF'
. "$LIB"
tmpdir "$DIR/ex"
echo "$T" >"$DIR/ex.path"
sleep 60 &
bg=$!
echo "$bg" >"$DIR/ex.bg"
at_exit 'kill_pid "$bg"'
at_exit 'echo second >>"$DIR/ex.order"'
at_exit 'echo first >>"$DIR/ex.order"'
case $MODE in
exit3) exit 3 ;;
term) echo ready >"$DIR/ex.ready"; while :; do sleep 1; done ;;
esac
EOF
cat >"$T/wait.sh" <<'EOF'
. "$LIB"
sh -c 'exit 5' &
wait_pid "$!" 10
echo "status $?"
sh -c 'trap "" TERM; echo >"$DIR/stubborn.ready"; exec sleep 30' &
p=$!
wait_until 30 test -s "$DIR/stubborn.ready"
kill -TERM "$p"
start=$(date +%s)
wait_pid "$p" 1 >/dev/null
echo "stubborn $? $(( $(date +%s) - start < 20 ))"
wait_until 1 false
echo "until $?"
EOF

for sh in $shells; do
	DIR=$T/$sh
	mkdir "$DIR"
	export LIB DIR

	is kept "$("$sh" "$T/watchdogs.sh" 2>"$DIR/wd.err")" "$sh: 40 killed subshells never ran the cleanup"
	is no "$([ -d "$(cat "$DIR/wd.path")" ] && echo yes || echo no)" \
		"$sh: the directory is removed at the end"
	echo "# $sh, the old pattern: the directory was $("$sh" "$T/old.sh" 2>/dev/null)"

	MODE=normal "$sh" "$T/exit.sh"
	is 0 $? "$sh: exit status 0 kept"
	is "first second" "$(tr '\n' ' ' <"$DIR/ex.order" | sed 's/ $//')" \
		"$sh: at_exit commands run once, last registered first"
	is no "$([ -d "$(cat "$DIR/ex.path")" ] && echo yes || echo no)" \
		"$sh: the directory is removed"
	is dead "$(kill -0 "$(cat "$DIR/ex.bg")" 2>/dev/null && echo alive || echo dead)" \
		"$sh: the background process registered is ended"

	rm -f "$DIR/ex.order"
	MODE=exit3 "$sh" "$T/exit.sh"
	is 3 $? "$sh: exit 3 kept"
	is first "$(head -n 1 "$DIR/ex.order")" "$sh: cleanup on exit 3"

	if [ "$sh" = bash ]; then
		rm -f "$DIR/ex.order" "$DIR/ex.ready"
		MODE=term "$sh" "$T/exit.sh" &
		pid=$!
		wait_until 30 test -s "$DIR/ex.ready"
		kill -TERM "$pid"
		wait_pid "$pid" 30 >/dev/null
		is 143 $? "$sh: SIGTERM: exit 143"
		is "first second" "$(tr '\n' ' ' <"$DIR/ex.order" 2>/dev/null | sed 's/ $//')" \
			"$sh: SIGTERM runs the cleanup"
		is no "$([ -d "$(cat "$DIR/ex.path")" ] && echo yes || echo no)" \
			"$sh: SIGTERM removes the directory"
		is dead "$(kill -0 "$(cat "$DIR/ex.bg")" 2>/dev/null && echo alive || echo dead)" \
			"$sh: SIGTERM ends the background process registered"
	fi

	is "status 5
stubborn 137 1
until 1" "$("$sh" "$T/wait.sh")" "$sh: wait_pid returns the status, SIGKILLs after its bound; wait_until is bounded"
done

echo "1..$n"
[ "$failed" -eq 0 ]
