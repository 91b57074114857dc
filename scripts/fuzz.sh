#!/usr/bin/env bash
# Run libFuzzer harnesses for a bounded time each (make fuzz).
#
#   scripts/fuzz.sh build-fuzz/fuzz_json build-fuzz/fuzz_jws ...
#
#   FUZZ_SECONDS  seconds per harness (default 60; CI runs 10)
#   FUZZ_JOBS     harnesses run at once (default: the number of CPUs)
#   FUZZ_OUT      where corpora, crashes and logs go (default build-fuzz)
#
# Each harness starts from its committed seeds, tests/fuzz/corpus/<name>/,
# and its regression inputs, tests/fuzz/regress/<name>/, which it only
# reads; what it finds goes to $FUZZ_OUT/corpus/<name>/, kept from one run
# to the next. tests/fuzz/<name>.dict, when there is one, is its
# dictionary. A crash, leak, timeout or out-of-memory is saved in
# $FUZZ_OUT/crashes/ and printed with the command that reproduces it; the
# exit status is then non-zero. The last lines are a table of runs, speed
# and coverage per harness.
set -u
cd "$(dirname "$0")/.."

SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
OUT=${FUZZ_OUT:-build-fuzz}
SEEDS=tests/fuzz/corpus

if [ $# -eq 0 ]; then
	echo "usage: $0 build-fuzz/fuzz_NAME..." >&2
	exit 2
fi
case $SECS in ''|*[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2; exit 2;; esac
mkdir -p "$OUT/crashes" "$OUT/logs" "$OUT/corpus" "$OUT/results"

# The longest input each harness gets: what its parser sees in practice,
# plus room to cross each size limit it enforces.
max_len() {
	case $1 in
	csr) echo 20000 ;;          # DER CSRs; the limit is 16 KiB
	fcgi) echo 12000 ;;         # parameters and a body past max_body (8 KiB)
	request) echo 9000 ;;       # payloads, CSRs and inner JWSs before signing
	jws|json|config|http01) echo 9000 ;;
	ident) echo 1200 ;;
	*) echo 4096 ;;
	esac
}

# The sanitizers stop at the first error, in a form libFuzzer reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() { # binary
	local bin=$1 name log res work start rc arts
	name=$(basename "$bin")
	name=${name#fuzz_}
	log=$OUT/logs/$name.log
	res=$OUT/results/$name
	work=$OUT/corpus/$name
	mkdir -p "$work" "$SEEDS/$name"
	rm -f "$res"
	start=$(date +%s)
	local dict=() regress=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	[ -d "tests/fuzz/regress/$name" ] && regress=("tests/fuzz/regress/$name")
	# A harness that hangs past its time (a stuck process) is killed.
	timeout -k 10 $((SECS + 180)) "$bin" "$work" "$SEEDS/$name" "${regress[@]}" \
		-max_total_time="$SECS" -max_len="$(max_len "$name")" -timeout=30 \
		-rss_limit_mb=3072 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$OUT/crashes/$name-" >"$log" 2>&1
	rc=$?
	arts=$(find "$OUT/crashes" -maxdepth 1 -newermt "@$start" \
		\( -name "$name-crash-*" -o -name "$name-leak-*" -o -name "$name-timeout-*" \
		-o -name "$name-oom-*" \) 2>/dev/null | sort)
	{
		printf 'rc=%q\n' "$rc"
		printf 'arts=%q\n' "$(echo $arts)"
		printf 'runs=%q\n' "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
		printf 'eps=%q\n' "$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
		printf 'rss=%q\n' "$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
		grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 |
			sed -nE 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+)\/.*/cov=\1 ft=\2 corp=\3/p' |
			tr ' ' '\n'
	} >"$res"
}

# Run the harnesses, JOBS at a time.
running=0
for bin in "$@"; do
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built" >&2
		exit 2
	fi
	run_one "$bin" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

failed=0
printf '%-10s %-6s %12s %9s %6s %7s %6s %7s\n' harness result runs exec/s cov ft corpus rss_mb
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	rc= arts= runs= eps= rss= cov= ft= corp=
	# shellcheck disable=SC1090
	[ -f "$OUT/results/$name" ] && . "$OUT/results/$name"
	result=ok
	if [ -n "$arts" ] || [ "${rc:-1}" -ne 0 ]; then
		result=FAIL
		failed=$((failed + 1))
	fi
	printf '%-10s %-6s %12s %9s %6s %7s %6s %7s\n' "$name" "$result" "${runs:-?}" "${eps:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}"
	if [ "$result" = FAIL ]; then
		echo "    log: $OUT/logs/$name.log (exit status ${rc:-?})"
		grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: .*invariant)' "$OUT/logs/$name.log" | sed 's/^/    /'
		for a in $arts; do
			echo "    reproduce: $bin $a"
			echo "    keep it:   mkdir -p tests/fuzz/regress/$name && cp $a tests/fuzz/regress/$name/<what>"
		done
	fi
done
if [ "$failed" -gt 0 ]; then
	echo "fuzz: $failed of $# harnesses failed"
	exit 1
fi
echo "fuzz: $# harnesses, ${SECS}s each, no crash, leak or timeout"
