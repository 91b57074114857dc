# shellcheck shell=bash
#
# tests/integration/lib.sh: helpers for the integration tests, on top of
# scripts/stack.sh. A test sources it first:
#
#   . "$(dirname "$0")/lib.sh"
#
# TAP        plan N | ok DESC | not_ok DESC | check DESC CMD... | diag TEXT...
#            diag_file FILE [LINES] | diag_cmd CMD... | done_testing
# cleanup    at_cleanup CMD ARGS... runs at exit in reverse order, however
#            the test ends (normal end, failure, timeout's SIGTERM, Ctrl-C)
# temp dir   test_tmpdir: $TEST_TMP, removed at exit (kept with ACME_KEEP=1)
# ports      pick_port VAR [PREFERRED [udp]] | port_free PORT [udp]
#            wait_port HOST PORT SECONDS
# tools      need CMD... (fails, naming what is missing)
# issuance   issue_matrix CLIENT FN: the certbot/lego scenario, see below
# faults     load_start, load_wait, load_stop, load_check, load_degraded:
#            the load driver of the fault tests (faults_load.py), see below
# sanitizers at exit, every state directory stack_start started is checked
#            for sanitizer reports (STATE/log/asan.*, ubsan.*) and, with
#            ACME_VALGRIND=1, valgrind errors and definite leaks: each one
#            found is a "not ok" line and fails the test
#
# Everything binds to loopback. Every wait is bounded.

# Run rather than sourced (tests/run.sh runs every *.sh here): not a test.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP lib.sh is the helper library, not a test"
	exit 0
fi

set -u
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/stack.sh
. "$LIB_DIR/../../scripts/stack.sh"

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=0
TEST_TMP=
LIB_CLEANUP=()
LIB_PORTS_USED=

plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

# check DESC CMD...: one TAP line for the command's status. Returns it.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	return 1
}

# diag TEXT...: each line of each argument as a TAP comment.
diag() {
	local a
	for a in "$@"; do
		printf '%s\n' "$a" | sed 's/^/# /'
	done
}

# diag_cmd CMD...: the command's output (stdout and stderr) as comments.
diag_cmd() {
	"$@" 2>&1 | sed 's/^/# /'
}

# diag_file FILE [LINES]: the last LINES (60) lines of FILE as comments.
diag_file() {
	local f=$1 n=${2:-60}
	if [ -s "$f" ]; then
		echo "# --- $f (last $n lines)"
		tail -n "$n" "$f" | sed 's/^/# /'
	else
		echo "# --- $f: missing or empty"
	fi
}

# done_testing: a failure for every planned test that did not run; exit 1
# if anything failed.
done_testing() {
	while [ "$TAP_N" -lt "$TAP_PLANNED" ]; do
		not_ok "planned test $((TAP_N + 1)) did not run"
	done
	[ "$TAP_FAILED" -eq 0 ] && exit 0
	exit 1
}

at_cleanup() {
	LIB_CLEANUP+=("$(printf '%q ' "$@")")
}

lib__exit() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#LIB_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${LIB_CLEANUP[$i]}" >/dev/null 2>&1
	done
	stack_challtestsrv_stop
	lib__report_checks || rc=1
	if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
		if [ "${ACME_KEEP:-0}" = 1 ]; then
			echo "# kept $TEST_TMP"
		else
			rm -rf "$TEST_TMP"
		fi
	fi
	exit "$rc"
}
# secret_note SECRET...: secrets the test made (EAB HMAC keys, passphrases)
# that no log of its stacks may hold; checked at exit with the state's own
# keys and secret files (scan_secrets.py).
LIB_SECRETS=()
secret_note() {
	LIB_SECRETS+=("$@")
}

# The sanitizer and valgrind reports of every stack this test started
# (stopped by now: leaks are reported at exit). A report is a failure even
# when the test's own checks passed.
lib__report_checks() {
	local s out bad=0
	declare -A seen=()
	for s in "${STACK_STARTED[@]}"; do
		[ -n "${seen[$s]:-}" ] && continue
		seen[$s]=1
		stack_stop "$s" >/dev/null 2>&1
		if ! out=$(stack_san_check "$s"); then
			TAP_N=$((TAP_N + 1))
			echo "not ok $TAP_N - sanitizer reports from the stack in $s"
			printf '%s\n' "$out" | head -200 | sed 's/^/# /'
			bad=1
		fi
		# Secrets never reach a log: the state's keys, the secret files its
		# configuration names, and what the test noted (secret_note).
		if [ -x /usr/bin/python3 ] && ! out=$(/usr/bin/python3 "$LIB_DIR/scan_secrets.py" "$s" \
			${LIB_SECRETS[@]+"${LIB_SECRETS[@]}"} 2>&1); then
			TAP_N=$((TAP_N + 1))
			echo "not ok $TAP_N - secrets in the logs of the stack in $s"
			printf '%s\n' "$out" | head -50 | sed 's/^/# /'
			bad=1
		fi
		if stack__valgrind && ! out=$(stack_valgrind_check "$s"); then
			TAP_N=$((TAP_N + 1))
			echo "not ok $TAP_N - valgrind errors or definite leaks in the stack in $s"
			printf '%s\n' "$out" | head -200 | sed 's/^/# /'
			bad=1
		fi
	done
	return $bad
}
trap lib__exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

test_tmpdir() {
	TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/acme-it.XXXXXX") || exit 1
	# As root, the server's users must reach the state directory inside.
	[ "$(id -u)" -eq 0 ] && chmod 0711 "$TEST_TMP"
	export STACK_CTS_LOG=$TEST_TMP/challtestsrv.log
}

# need CMD...: 0 when every command is installed; otherwise a TAP comment
# naming the missing ones and 1.
need() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	diag "not installed: ${missing[*]} (make deps installs them)"
	return 1
}

# port_free PORT [udp]: nothing is bound to PORT on 127.0.0.1 (nor on ::1
# when IPv6 is up), TCP and with udp UDP too.
port_free() {
	python3 - "$1" "${2:-tcp}" <<'PY'
import errno, socket, sys
port, proto = int(sys.argv[1]), sys.argv[2]
kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if proto == "udp" else [])
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for kind in kinds:
        s = socket.socket(fam, kind)
        try:
            s.bind((host, port))
        except OSError as e:
            if fam == socket.AF_INET6 and e.errno == errno.EADDRNOTAVAIL:
                continue
            sys.exit(1)
        finally:
            s.close()
sys.exit(0)
PY
}

# pick_port VAR [PREFERRED [udp]]: set VAR to PREFERRED when it is free,
# else to a free port in 20000-29999, never one this test picked before.
# With ACME_PORTS=LO-HI, a port in LO-HI and never PREFERRED: test runs
# that go on at the same time (.ci/run) get disjoint ranges, so that two
# tests cannot both find a port free and then race to bind it.
pick_port() {
	local var=$1 pref=${2:-} proto=${3:-tcp} p i lo=20000 hi=29999
	if [[ ${ACME_PORTS:-} =~ ^([0-9]+)-([0-9]+)$ ]]; then
		lo=${BASH_REMATCH[1]}
		hi=${BASH_REMATCH[2]}
		pref=
	fi
	for ((i = 0; i < 200; i++)); do
		if [ "$i" -eq 0 ] && [ -n "$pref" ]; then
			p=$pref
		else
			p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		fi
		[[ " $LIB_PORTS_USED " == *" $p "* ]] && continue
		if port_free "$p" "$proto"; then
			LIB_PORTS_USED+=" $p"
			printf -v "$var" '%s' "$p"
			return 0
		fi
	done
	diag "no free port found"
	return 1
}

# wait_port HOST PORT SECONDS: until a TCP connection to HOST:PORT succeeds.
wait_port() {
	local deadline=$((SECONDS + $3))
	until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# The names every issuance asks for.
ISSUE_NAMES=(a.example.com b.example.com)

# sans_are CERT NAME...: the certificate's subjectAltName is exactly these
# DNS names (in any order).
sans_are() {
	local cert=$1 got want
	shift
	got=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
		tr ',' '\n' | sed 's/^[[:space:]]*//;/^$/d' | sort | tr '\n' ' ')
	want=$(printf 'DNS:%s\n' "$@" | sort | tr '\n' ' ')
	if [ "$got" != "$want" ]; then
		diag "subjectAltName: got '$got', want '$want'"
		return 1
	fi
}

# verifies ROOT CHAIN CERT: openssl verify, the chain as untrusted intermediates.
verifies() {
	local out
	if out=$(openssl verify -CAfile "$1" -untrusted "$2" "$3" 2>&1); then
		return 0
	fi
	diag "openssl verify: $out"
	return 1
}

# issue_matrix CLIENT FN
# The scenario of tests/integration/{certbot,lego}.sh, run against nginx,
# then lighttpd: pebble-challtestsrv as DNS (every name -> 127.0.0.1), a
# fresh state (stack_init --resolver 127.0.0.1:DNS --http01-port H01
# --allow-private: the names resolve to 127.0.0.1) and
# the stack on a free port; then FN WEB DIR_URL ROOT WORKDIR H01 runs the
# client, which must leave in ISSUED_CERT and ISSUED_CHAIN the paths of the
# certificate and its chain, and in CLIENT_LOG its log file. TAP lines per
# web server: stack starts, client exits 0, the certificate verifies, its
# SANs are exactly ISSUE_NAMES (and, with ACME_VALGRIND=1, valgrind is
# clean). On a failure the client's log and the stack's logs follow as
# comments.
issue_matrix() {
	local client=$1 fn=$2 webs=(nginx lighttpd) per=4 dns mgmt h01 web
	local state port dir root work rc failed start
	stack__valgrind && per=5
	test_tmpdir
	plan $((1 + per * ${#webs[@]}))
	if ! need "$client" pebble-challtestsrv spawn-fcgi nginx lighttpd openssl curl python3; then
		done_testing
	fi
	if ! pick_port dns 8053 udp || ! pick_port mgmt 8055 || ! pick_port h01 5002; then
		done_testing
	fi
	diag "temp $TEST_TMP; DNS 127.0.0.1:$dns, http-01 port $h01"
	if stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/challtestsrv.err"; then
		ok "pebble-challtestsrv answers DNS on 127.0.0.1:$dns"
	else
		not_ok "pebble-challtestsrv answers DNS on 127.0.0.1:$dns"
		diag_file "$TEST_TMP/challtestsrv.err"
		done_testing
	fi
	for web in "${webs[@]}"; do
		work=$TEST_TMP/$web
		state=$work/state
		mkdir -p "$work"
		pick_port port 14443 || done_testing
		dir="https://localhost:$port/acme/default/directory"
		root=$state/ca/root.pem
		failed=0
		start=$TAP_N
		if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" \
			--http01-port "$h01" --allow-private >"$work/stack.log" 2>&1 &&
			stack_start "$state" "$web" "$port" >>"$work/stack.log" 2>&1; then
			at_cleanup stack_stop "$state"
			ok "$web: the stack starts on port $port"
		else
			not_ok "$web: the stack starts on port $port"
			diag_file "$work/stack.log" 120
			while [ "$TAP_N" -lt $((start + per)) ]; do
				not_ok "$web: not run, the stack did not start"
			done
			continue
		fi

		ISSUED_CERT=
		ISSUED_CHAIN=
		CLIENT_LOG=
		"$fn" "$web" "$dir" "$root" "$work" "$h01"
		rc=$?
		check "$web: $client exits 0" [ "$rc" -eq 0 ] || failed=1
		if [ -s "$ISSUED_CERT" ] && [ -s "$ISSUED_CHAIN" ]; then
			check "$web: the certificate verifies with the issued chain up to root.pem" \
				verifies "$root" "$ISSUED_CHAIN" "$ISSUED_CERT" || failed=1
			check "$web: the certificate names exactly ${ISSUE_NAMES[*]}" \
				sans_are "$ISSUED_CERT" "${ISSUE_NAMES[@]}" || failed=1
		else
			diag "no certificate or chain where $client puts them: '$ISSUED_CERT' '$ISSUED_CHAIN'"
			not_ok "$web: the certificate verifies with the issued chain up to root.pem"
			not_ok "$web: the certificate names exactly ${ISSUE_NAMES[*]}"
			failed=1
		fi
		stack_stop "$state"
		if stack__valgrind; then
			check "$web: valgrind finds no errors or definite leaks" \
				diag_cmd_status stack_valgrind_check "$state" || failed=1
		fi
		if [ "$failed" = 1 ]; then
			[ -n "$CLIENT_LOG" ] && diag_file "$CLIENT_LOG" 80
			diag_file "$work/stack.log" 40
			stack_logs "$state" 60 | sed 's/^/# /'
		fi
	done
	done_testing
}

# diag_cmd_status CMD...: diag_cmd, keeping the command's status.
diag_cmd_status() {
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && diag "$out"
	return $rc
}

# --- fault tests -------------------------------------------------------
# The load driver (faults_load.py run): CLIENTS threads doing full
# issuances with http-01 against the stack, in the background, until
# load_stop. Its files are in LOAD_OUT.
LOAD_PID=
LOAD_OUT=

# load_start STATE PORT H01 OUT [CLIENTS]
load_start() {
	local state=$1 port=$2 h01=$3
	LOAD_OUT=$4
	mkdir -p "$LOAD_OUT"
	/usr/bin/python3 "$LIB_DIR/faults_load.py" run --dir "https://localhost:$port/acme/default/directory" \
		--ca "$state/ca/root.pem" --h01 "$h01" --out "$LOAD_OUT" --clients "${5:-8}" --duration 1800 \
		>>"$LOAD_OUT/stdout" 2>&1 &
	LOAD_PID=$!
	at_cleanup load__kill
}

load__kill() {
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
	[ -n "$LOAD_PID" ] && wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
}

# load_done: certificates the clients downloaded so far.
load_done() {
	local n=0
	[ -f "$LOAD_OUT/progress" ] && read -r n <"$LOAD_OUT/progress"
	echo "${n:-0}"
}

# load_wait N SECONDS: until N more certificates than now are downloaded;
# 1 if that takes longer than SECONDS or the driver died.
load_wait() {
	local want deadline
	want=$(($(load_done) + $1))
	deadline=$((SECONDS + $2))
	while [ "$(load_done)" -lt "$want" ]; do
		[ $SECONDS -lt "$deadline" ] || return 1
		kill -0 "$LOAD_PID" 2>/dev/null || return 1
		sleep 0.2
	done
}

# load_stop: the clients finish the flows in hand (bounded) and exit.
load_stop() {
	local deadline=$((SECONDS + 240))
	[ -n "$LOAD_PID" ] || return 0
	touch "$LOAD_OUT/stop"
	while kill -0 "$LOAD_PID" 2>/dev/null; do
		[ $SECONDS -lt "$deadline" ] || { load__kill; return 1; }
		sleep 0.2
	done
	wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
}

# load_check STATE DESC [--final]: TAP lines: acme-admin verify passes,
# and the store agrees with what the clients saw (faults_load.py check:
# no serial twice, one certificate per finalized order, every order a
# client saw valid has its certificate, nothing stuck in processing).
load_check() {
	local state=$1 desc=$2 admin out
	admin=$(stack__build)/acme-admin
	if out=$("$admin" -c "$state/acme.conf" verify 2>&1); then
		ok "$desc: acme-admin verify passes"
	else
		not_ok "$desc: acme-admin verify passes"
		diag "$out"
	fi
	if out=$(/usr/bin/python3 "$LIB_DIR/faults_load.py" check --out "$LOAD_OUT" --admin "$admin" \
		--conf "$state/acme.conf" ${3:-} 2>&1); then
		ok "$desc: the store agrees with the clients (serials, certificates, no order stuck)"
		printf '%s\n' "$out" | grep '^# store' 
	else
		not_ok "$desc: the store agrees with the clients (serials, certificates, no order stuck)"
		printf '%s\n' "$out" | sed 's/^\([^#]\)/# \1/'
	fi
}

# load_degraded SINCE [UNTIL]: "errors=N degraded_s=D recovered_s=R" for
# the requests after SINCE (Unix seconds): see faults_load.py degraded.
load_degraded() {
	/usr/bin/python3 "$LIB_DIR/faults_load.py" degraded --out "$LOAD_OUT" --since "$1" ${2:+--until "$2"}
}

# now: Unix time with milliseconds.
now() {
	date +%s.%3N
}
