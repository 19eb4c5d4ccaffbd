# lib.sh - the one cleanup pattern of the shell tests and examples (sourced
# by tests/*.sh and examples/demo.sh; POSIX sh, run by bash or dash).
#
# Why it exists: a non-interactive bash that has an EXIT trap also catches
# SIGTERM, SIGINT and SIGHUP, to run that trap before it dies. Every child
# it forks (a `( ... ) &` subshell, a background command before its exec, a
# command substitution) starts with the same handlers and the same EXIT trap,
# until it resets them a moment later. A signal in that window runs the
# parent's EXIT trap in the child: killing a freshly started watchdog
# `(sleep 60; kill -KILL $PID) &` ran the test's `rm -rf "$T"` under the
# running test (tests/test_sandbox.sh failed at random, more often on a
# loaded machine; tests/test_lib.sh reproduces it). So here:
#   - the cleanup does nothing unless it runs in the shell that sourced this
#     file ($BASHPID is the current process in bash; dash has no BASHPID and
#     runs no EXIT trap in a child);
#   - no watchdog subshells: bounded waits poll (wait_pid, wait_until).
#
#   tmpdir TEMPLATE      T=$(mktemp -d TEMPLATE.XXXXXX), removed at exit
#   at_exit COMMAND      eval COMMAND at exit (last registered runs first),
#                        before T is removed; e.g. at_exit 'kill_pid "$PID"'
#   kill_pid PID         end PID if set and alive (SIGTERM, SIGKILL after
#                        10 s), and reap it
#   wait_pid PID SECS    wait for PID's exit, at most SECS s (then SIGKILL);
#                        returns its exit status (137 after the SIGKILL)
#   wait_until SECS CMD...  run CMD every 50 ms until it succeeds; 1 after
#                        SECS s
#
# And the TAP helpers every shell test shares (a test may define its own):
#   ok DESC / nok DESC   print "ok N - DESC" / "not ok N - DESC" (counts
#                        n and failed)
#   check DESC CMD...    ok when CMD succeeds, nok otherwise
#   has FILE TEXT        FILE holds TEXT (fixed string)
#   run CODE DESC ARGS...  "$CH" ARGS (connector-host, under $WRAP), stdout
#                        in $T/out, stderr in $T/err; ok when it exits CODE
# bash also runs the cleanup when a signal (INT, TERM, HUP) ends the test.
# No signal traps are set for dash: its subshells keep a caught signal's
# handler, so a killed `( ... ) &` would finish its command first; a dash
# test killed by a signal leaves its directory behind.

_lib_pid=$$
_lib_exit=
_lib_tmp=

at_exit() {
	_lib_exit="$1
$_lib_exit"
}

tmpdir() {
	T=$(mktemp -d "$1.XXXXXX") || {
		echo "Bail out! mktemp -d $1.XXXXXX failed"
		exit 1
	}
	_lib_tmp=$T
}

kill_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	wait_pid "$1" 10 >/dev/null 2>&1
	return 0
}

wait_until() {
	_lib_n=$(($1 * 20))
	shift
	until "$@"; do
		_lib_n=$((_lib_n - 1))
		[ "$_lib_n" -gt 0 ] || return 1
		sleep 0.05
	done
}

wait_pid() {
	if ! wait_until "$2" _lib_gone "$1"; then
		echo "# pid $1 still running after $2 s: SIGKILL"
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1"
}

# a child that exited but was not reaped is a zombie: gone for our purpose
_lib_gone() {
	! kill -0 "$1" 2>/dev/null ||
		grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

_lib_cleanup() {
	_lib_rc=$?
	[ "${BASHPID:-$$}" = "$_lib_pid" ] || return 0
	trap - EXIT
	eval "$_lib_exit"
	[ -n "$_lib_tmp" ] && rm -rf "$_lib_tmp"
	exit "$_lib_rc"
}

trap _lib_cleanup EXIT

# ---- TAP helpers -------------------------------------------------------

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
has() { grep -q -F -- "$2" "$1"; }
run() {
	want=$1 d=$2; shift 2
	$WRAP "$CH" "$@" >"$T/out" 2>"$T/err" </dev/null
	got=$?
	if [ "$got" = "$want" ]; then ok "$d (exit $got)"; else
		nok "$d (exit $got, expected $want)"
		sed 's/^/#   /' "$T/err" | head -n 20
	fi
}
