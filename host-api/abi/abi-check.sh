#!/usr/bin/env bash
# abi-check.sh BUILDDIR - libconnhost's ABI against the last release's.
#
# The baseline, libconnhost-1.0.abi, is `abidw` of the last released
# libconnhost (version-info BASE below: ABI 1.0's host library, before the
# hot swap and the text facade); BUILDDIR holds a build with debug
# information (the default CFLAGS, -g -O2). abidiff (abigail-tools)
# compares the two through the public headers only (connector.h,
# connhost.h, connhost_text.h: the instance and plugin handles stay
# opaque). It fails when
#   - anything is removed or changed incompatibly (a program linked with
#     the release would break), or
#   - functions were added but host-api/local.mk's -version-info does not
#     say so the libtool way (current and age one up at least, the same
#     current - age: the soname libconnhost.so.0 stays).
# At a release: regenerate the baseline (docs/abi.md, "The host library's
# version") and set BASE to its -version-info.
set -u
BASE=0:0:0
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-.}
so=$build/host-api/.libs/libconnhost.so
baseline=$top/host-api/abi/libconnhost-1.0.abi

command -v abidiff >/dev/null || { echo "abi-check: abidiff missing (apt-get install abigail-tools)"; exit 1; }
[ -f "$so" ] || { echo "abi-check: $so not built"; exit 1; }
hdrs=$(mktemp -d "${TMPDIR:-/tmp}/abi-check.XXXXXX")
trap 'rm -rf "$hdrs"' EXIT
cp "$top/host-api/connector.h" "$top/host-api/connhost.h" \
	"$top/host-api/connhost_text.h" "$hdrs/"
abidiff --headers-dir2 "$hdrs" "$baseline" "$so" >"$hdrs/report"
rc=$?
cat "$hdrs/report"
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: abidiff failed (status $rc)"; exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "abi-check: FAIL: an incompatible ABI change (above): a program linked with the last release would break"; exit 1
fi
read -r removed changed added < <(sed -n \
	's/^Functions changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*, \([0-9]*\) Added.*/\1 \2 \3/p' \
	"$hdrs/report")
read -r vremoved vchanged < <(sed -n \
	's/^Variables changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\1 \2/p' "$hdrs/report")
if [ "${removed:-0}" != 0 ] || [ "${changed:-0}" != 0 ] ||
	[ "${vremoved:-0}" != 0 ] || [ "${vchanged:-0}" != 0 ]; then
	echo "abi-check: FAIL: functions or variables removed or changed (above)"; exit 1
fi
vi=$(sed -n 's/.*-version-info \([0-9]*:[0-9]*:[0-9]*\).*/\1/p' "$top/host-api/local.mk")
IFS=: read -r cur rev age <<<"$vi"
IFS=: read -r bcur brev bage <<<"$BASE"
if [ $((cur - age)) -ne $((bcur - bage)) ]; then
	echo "abi-check: FAIL: -version-info $vi changes the soname (current - age $((cur - age)), was $((bcur - bage))) with no incompatible change"; exit 1
fi
if [ "${added:-0}" != 0 ] && { [ "$cur" -le "$bcur" ] || [ "$age" -le "$bage" ]; }; then
	echo "abi-check: FAIL: $added functions added since $BASE but -version-info is $vi: raise current and age by one, revision 0"; exit 1
fi
echo "abi-check: libconnhost ABI compatible with the release ($BASE -> $vi; $added functions added, none removed or changed)"
