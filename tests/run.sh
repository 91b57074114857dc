#!/usr/bin/env bash
# The test runner behind `make check`.
#
#   tests/run.sh                 every group: layering unit store validator fuzz integration
#   tests/run.sh unit store      some groups
#   tests/run.sh tests/integration/certbot.sh   one test
#
# Every test program speaks TAP ("ok N - name" / "not ok N - name"); cmocka
# programs do so with CMOCKA_MESSAGE_OUTPUT=TAP. Each test case counts once. A
# program that exits non-zero without reporting a failure counts as one
# failure, as does one that runs past its time limit. Logs go to
# $BUILD/test-logs/. The last line is "N passed, N failed"; the exit status
# is non-zero if any failed.
#
# ACME_TIME_FACTOR=N multiplies every test's time limit (default 1; 3 with
# ACME_VALGRIND=1, where the servers run many times slower). The bounds
# inside the tests stay what they are: tests/integration scales those for
# valgrind itself.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}

TIME_FACTOR=${ACME_TIME_FACTOR:-1}
[ "${ACME_VALGRIND:-0}" = 1 ] && TIME_FACTOR=${ACME_TIME_FACTOR:-3}
if ! [[ $TIME_FACTOR =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: ACME_TIME_FACTOR must be a positive integer, not '$TIME_FACTOR'" >&2
	exit 2
fi

passed=0
failed=0
failures=()

run_one() { # name timeout cmd...
	local name=$1 limit=$(($2 * TIME_FACTOR)); shift 2
	local log="$LOGS/$(echo "$name" | tr '/ ' '__').log"
	local start=$SECONDS rc ok nok
	timeout -k 10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$log")
	nok=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		[ "$rc" -eq 124 ] && echo "# timed out after ${limit}s" >>"$log"
		echo "not ok 0 - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ]; then
		failures+=("$name")
		printf 'FAIL %-44s %3d ok %3d not ok  (%ds)\n' "$name" "$ok" "$nok" $((SECONDS - start))
		grep -E '^not ok|^# ' "$log" | head -20 | sed 's/^/     /'
		echo "     log: $log"
	else
		printf 'PASS %-44s %3d ok  (%ds)\n' "$name" "$ok" $((SECONDS - start))
	fi
}

group_layering() {
	run_one layering 60 bash -c 'if scripts/check-layering.sh; then echo "ok 1 - dependency direction"; else echo "not ok 1 - dependency direction"; fi
		if /usr/bin/python3 scripts/conformance.py --check; then echo "ok 2 - docs/conformance.md is current"; else echo "not ok 2 - docs/conformance.md is current"; fi'
}

group_bins() { # dir
	local t
	for t in "$BUILD"/tests/"$1"/test_*; do
		[ -x "$t" ] || continue
		run_one "$1/$(basename "$t")" 600 "$t"
	done
}

# ACME_SKIP="name ...": integration tests the group leaves out (make
# valgrind sets it; see GNUmakefile). A test named on the command line runs.
group_integration() {
	local t
	for t in tests/integration/[0-9a-z]*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		[ -f "$t" ] || continue
		if [[ " ${ACME_SKIP:-} " == *" $(basename "$t" .sh) "* ]]; then
			printf 'SKIP %-44s (ACME_SKIP)\n' "integration/$(basename "$t" .sh)"
			continue
		fi
		run_one "integration/$(basename "$t" .sh)" 900 bash "$t"
	done
}

if [ $# -eq 0 ]; then
	set -- layering unit store validator fuzz integration
fi
for g in "$@"; do
	case "$g" in
	layering) group_layering ;;
	unit|store|validator|fuzz) group_bins "$g" ;;
	integration) group_integration ;;
	*.sh) run_one "$(basename "$g" .sh)" 900 bash "$g" ;;
	*) if [ -x "$g" ]; then run_one "$(basename "$g")" 600 "$g"; else echo "run.sh: unknown test or group '$g'"; failed=$((failed + 1)); fi ;;
	esac
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
