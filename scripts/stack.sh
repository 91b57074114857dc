# shellcheck shell=bash
#
# scripts/stack.sh: start and stop the ACME server stack on loopback ports.
# A library: source it (scripts/run.sh, tests/integration/lib.sh); it sets
# no shell options of its own. The stack is
#
#   nginx or lighttpd (TLS, 127.0.0.1:PORT and [::1]:PORT)
#     -> STATE/run/fcgi.sock -> acme-fcgi (spawn-fcgi -n; master + workers)
#   acme-validator (outbound validation)
#   pebble-challtestsrv (optional: fake DNS for the tests)
#
# Functions (each documented where it is defined):
#   stack_init STATE [--port N] [--resolver IP:PORT] [--http01-port N]
#              [--tlsalpn01-port N] [--workers N] [--allow-private] ...
#   stack_start STATE WEBSERVER PORT
#   stack_stop STATE
#   stack_alive STATE            (which component died, if one did)
#   stack_logs STATE [LINES]     (the tail of every log, for a failure report)
#   stack_valgrind_check STATE
#   stack_challtestsrv_start [DNS_PORT [MANAGEMENT_PORT]]
#   stack_challtestsrv_stop
#
# Environment:
#   BUILD           where acme-fcgi, acme-validator and acme-admin are
#                   (default build/, relative to the repository)
#   ACME_VALGRIND=1 run acme-fcgi (master and workers) and acme-validator
#                   under valgrind memcheck; logs in STATE/log/valgrind-*.log,
#                   suppressions in tests/valgrind.supp
#   ACME_VALGRIND_OPTS  more valgrind options (e.g. --track-origins=yes)
#   STACK_WORKERS   passed to acme-fcgi as -w (default: acme.conf's workers)
#   STACK_WAIT      seconds stack_start waits for the directory (30; 180
#                   under valgrind)
#   STACK_IPV6=0    do not listen on [::1]
#
# Files: STATE/run/<web>.conf (rendered from contrib/<web>/acme.conf.in),
# STATE/run/stack-<name>.pid (one per process started), STATE/log/*.out
# (stdout and stderr of each process), the web server's own logs in STATE/log/.
# Processes are stopped by the pid recorded at start, after checking that the
# pid still runs the program that was started.

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_CTS_PID=
STACK_CTS_LOG=${STACK_CTS_LOG:-}
# Every state directory stack_start started (tests/integration/lib.sh
# checks their sanitizer and valgrind logs at exit).
STACK_STARTED=()

stack__say() {
	echo "stack: $*" >&2
}

# The build directory, absolute.
stack__build() {
	local b=${BUILD:-build}
	case $b in
	/*) printf '%s\n' "$b" ;;
	*) printf '%s\n' "$STACK_ROOT/$b" ;;
	esac
}

stack__abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

stack__valgrind() {
	[ "${ACME_VALGRIND:-0}" = 1 ]
}

# stack__wrap STATE NAME: sets STACK__WRAP to the command prefix that runs
# NAME (under valgrind when ACME_VALGRIND=1).
stack__wrap() {
	STACK__WRAP=()
	if stack__valgrind; then
		# spawn-fcgi execs without a PATH search.
		# Definite and indirect leaks are errors (a cycle nothing points
		# to is only "indirectly lost"); --vgdb=no: no pipes left in /tmp
		# by a process that dropped root and cannot remove them.
		# shellcheck disable=SC2054
		STACK__WRAP=("$(command -v valgrind)" --tool=memcheck --error-exitcode=99 --leak-check=full
			--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
			--vgdb=no --num-callers=30 --suppressions="$STACK_ROOT/tests/valgrind.supp"
			--log-file="$1/log/valgrind-$2.%p.log")
		# More options, e.g. ACME_VALGRIND_OPTS=--track-origins=yes.
		if [ -n "${ACME_VALGRIND_OPTS:-}" ]; then
			# shellcheck disable=SC2206
			STACK__WRAP+=($ACME_VALGRIND_OPTS)
		fi
	fi
	return 0
}

# stack__running PID NAME: PID is alive (not a zombie) and runs NAME.
stack__running() {
	local pid=$1 name=$2 stat cmd
	[ -n "$pid" ] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmd == *"$name"* ]]
}

stack__pidfile() { # STATE NAME
	printf '%s/run/stack-%s.pid\n' "$1" "$2"
}

stack__save() { # STATE NAME PID
	printf '%s\n' "$3" >"$(stack__pidfile "$1" "$2")"
}

stack__pid() { # STATE NAME
	local f
	f=$(stack__pidfile "$1" "$2")
	[ -f "$f" ] && cat "$f"
}

# The components in stop order: the web server first, so that no request
# arrives while acme-fcgi drains.
STACK__NAMES=(nginx lighttpd acme-validator acme-fcgi)

# stack_init STATE [--port N] [--resolver IP:PORT] [--http01-port N]
#            [--tlsalpn01-port N] [--workers N] [--allow-private]
#            [--key-type TYPE] [--tls-name NAME]
# Create a state directory with acme-admin init (configuration, CA, TLS
# certificate for localhost, store) whose base URL is https://localhost:PORT
# (PORT default 14443); the other options go to acme-admin init as they are
# (--allow-private: validation may connect to loopback and private
# addresses, which a stack on loopback needs). Does nothing when
# STATE/acme.conf exists. As root with the service users present (see
# stack__user), the state is set up for them (acme-admin init --user).
stack_init() {
	if [ $# -lt 1 ]; then
		stack__say "usage: stack_init STATE [--port N] [--resolver IP:PORT] [--http01-port N] [--tlsalpn01-port N] [--workers N] [--allow-private]"
		return 2
	fi
	local state port=14443 admin
	local -a args=()
	state=$(stack__abs "$1")
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--port)
			[ $# -ge 2 ] || { stack__say "stack_init: --port needs a value"; return 2; }
			port=$2
			shift 2
			;;
		--resolver | --http01-port | --tlsalpn01-port | --workers | --key-type | --tls-name)
			[ $# -ge 2 ] || { stack__say "stack_init: $1 needs a value"; return 2; }
			args+=("$1" "$2")
			shift 2
			;;
		--allow-private)
			args+=("$1")
			shift
			;;
		*)
			stack__say "stack_init: unknown option $1"
			return 2
			;;
		esac
	done
	if [ -f "$state/acme.conf" ]; then
		stack__say "$state/acme.conf exists: using it as it is"
		return 0
	fi
	admin=$(stack__build)/acme-admin
	if [ ! -x "$admin" ]; then
		stack__say "$admin not found: build it first (make all)"
		return 1
	fi
	# As root: the store, logs and run/ go to the service user and group,
	# the CA key to the service user alone (docs/security.md).
	if stack__user; then
		if ! setpriv --reuid="${STACK_USER-acme}" --regid="$(id -gn "${STACK_USER-acme}")" \
			--clear-groups test -x "$(dirname "$state")"; then
			stack__say "${STACK_USER-acme} cannot reach $(dirname "$state"): make it searchable, or STACK_USER= to run as root"
			return 1
		fi
		args+=(--user "${STACK_USER-acme}")
	fi
	"$admin" init --state "$state" --base-url "https://localhost:$port" "${args[@]}"
}

# stack__render WEB STATE PORT: the web server configuration on stdout.
stack__render() {
	local web=$1 state=$2 port=$3 tmpl line mark ipv6=1 root=0 head=1
	tmpl=$STACK_ROOT/contrib/$web/acme.conf.in
	[ -f "$tmpl" ] || { stack__say "no template $tmpl"; return 1; }
	if [ "${STACK_IPV6:-1}" = 0 ] || ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
		ipv6=0
	fi
	[ "$(id -u)" -eq 0 ] && root=1
	echo "# Generated from contrib/$web/acme.conf.in by scripts/stack.sh: edit the template."
	while IFS= read -r line || [ -n "$line" ]; do
		# The template's opening comment documents the template itself.
		if [ "$head" = 1 ]; then
			[[ $line == "#"* ]] && continue
			head=0
		fi
		for mark in IPV6 ROOT; do
			[[ $line == *"# @$mark@"* ]] || continue
			if [ "$mark" = IPV6 ] && [ "$ipv6" = 0 ]; then continue 2; fi
			if [ "$mark" = ROOT ] && [ "$root" = 0 ]; then continue 2; fi
			line=${line%%"# @$mark@"*}
			line=${line%"${line##*[! ]}"}
		done
		line=${line//@STATE@/$state}
		line=${line//@PORT@/$port}
		line=${line//@BUILD@/$(stack__build)}
		printf '%s\n' "$line"
	done <"$tmpl"
}

# Warn when the configuration's base URL names another port than the one
# the web server listens on: every URL in the directory would be wrong.
stack__check_base_url() { # STATE PORT
	local url
	url=$(sed -n 's/^[[:space:]]*base_url[[:space:]]*=[[:space:]]*//p' "$1/acme.conf" | head -n 1)
	if [ -n "$url" ] && [ "$url" != "https://localhost:$2" ]; then
		stack__say "warning: $1/acme.conf has base_url = $url but the web server listens on port $2"
	fi
}

# stack_logs STATE [LINES]: the last LINES (40) lines of every log of the
# stack written since the last stack_start, each file under a header line,
# on stdout. (Logs are appended to across runs.)
stack_logs() {
	local state=$1 n=${2:-40} f size path
	local -A mark=()
	if [ -f "$state/run/stack-logmark" ]; then
		while read -r size path; do
			mark[$path]=$size
		done <"$state/run/stack-logmark"
	fi
	for f in "$state"/log/*; do
		[ -f "$f" ] || continue
		size=${mark[$f]:-0}
		[ "$(stat -c %s "$f")" -gt "$size" ] || continue
		echo "--- $f (last $n lines)"
		tail -c +"$((size + 1))" "$f" | tail -n "$n"
	done
}

# Remember how long each log is, for stack_logs.
stack__logmark() { # STATE
	local f
	for f in "$1"/log/*; do
		[ -f "$f" ] && printf '%s %s\n' "$(stat -c %s "$f")" "$f"
	done >"$1/run/stack-logmark"
}

# stack_alive STATE: 0 when every component started by stack_start still
# runs; otherwise names the first dead one on stdout and returns 1.
stack_alive() {
	local state=$1 name pid
	for name in "${STACK__NAMES[@]}"; do
		pid=$(stack__pid "$state" "$name") || continue
		if ! stack__running "$pid" "$name"; then
			echo "$name"
			return 1
		fi
	done
	return 0
}

stack__fail() { # STATE MESSAGE
	stack__say "$2"
	stack_logs "$1" 40 >&2
	stack_stop "$1"
	return 1
}

# The environment of acme-fcgi and acme-validator: the caller's ASAN_OPTIONS
# and UBSAN_OPTIONS (tests/run.sh sets them) with the reports going to
# STATE/log/asan.PID and STATE/log/ubsan.PID, where stack_san_check finds
# them (spawn-fcgi sends nothing to a terminal). GCC's libubsan ignores
# log_path and writes to stderr, STATE/log/<name>.out, which
# stack_san_check reads too. LeakSanitizer reads its suppressions
# (tests/lsan.supp) at exit, after the processes dropped to their users:
# a copy in STATE/log, which they can read. Harmless for binaries built
# without sanitizers.
stack__san_env() { # STATE
	local a=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} u=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	mkdir -p "$1/log" && install -m 0644 "$STACK_ROOT/tests/lsan.supp" "$1/log/lsan.supp"
	STACK__ENV=("ASAN_OPTIONS=$a:log_path=$1/log/asan" "UBSAN_OPTIONS=$u:log_path=$1/log/ubsan"
		"LSAN_OPTIONS=suppressions=$1/log/lsan.supp")
}

# The unprivileged users, when started as root (see docs/security.md):
# acme-fcgi drops to STACK_USER (acme) itself (-u), acme-validator to
# STACK_VALIDATOR_USER (acme-validator) with STACK_USER's group (-u USER:GROUP).
# STACK_USER= (empty) keeps everything as root. Without those users (a
# machine where scripts/deps.sh did not run as root) nothing is dropped.
stack__user() {
	[ "$(id -u)" -eq 0 ] || return 1
	[ -n "${STACK_USER-acme}" ] || return 1
	id -u "${STACK_USER-acme}" >/dev/null 2>&1
}

stack__vuser() {
	stack__user || return 1
	id -u "${STACK_VALIDATOR_USER:-acme-validator}" >/dev/null 2>&1
}

# stack__start_fcgi STATE: spawn-fcgi -n, socket STATE/run/fcgi.sock.
stack__start_fcgi() {
	local state=$1 bin
	local -a args
	bin=$(stack__build)
	args=(-c "$state/acme.conf")
	[ -n "${STACK_WORKERS:-}" ] && args+=(-w "$STACK_WORKERS")
	[ -n "${STACK_WATCHDOG:-}" ] && args+=(-t "$STACK_WATCHDOG")
	stack__user && args+=(-u "${STACK_USER-acme}")
	stack__wrap "$state" acme-fcgi
	stack__san_env "$state"
	env "${STACK__ENV[@]}" spawn-fcgi -n -s "$state/run/fcgi.sock" -M 0660 -- \
		"${STACK__WRAP[@]}" "$bin/acme-fcgi" "${args[@]}" >>"$state/log/acme-fcgi.out" 2>&1 &
	stack__save "$state" acme-fcgi $!
}

# stack__start_validator STATE: in the foreground (-f), so that the pid
# recorded is the daemon's supervising process (its child does the work:
# stack_validator_child). STACK_VALIDATOR_WATCHDOG: its -t (seconds).
stack__start_validator() {
	local state=$1 bin
	local -a args
	bin=$(stack__build)
	args=(-c "$state/acme.conf" -f)
	[ -n "${STACK_VALIDATOR_WATCHDOG:-}" ] && args+=(-t "$STACK_VALIDATOR_WATCHDOG")
	stack__vuser && args+=(-u "${STACK_VALIDATOR_USER:-acme-validator}:$(id -gn "${STACK_USER-acme}")")
	stack__wrap "$state" acme-validator
	stack__san_env "$state"
	(umask 007; exec env "${STACK__ENV[@]}" "${STACK__WRAP[@]}" "$bin/acme-validator" \
		"${args[@]}") >>"$state/log/acme-validator.out" 2>&1 &
	stack__save "$state" acme-validator $!
}

# stack__start_web STATE WEB PORT: in the foreground as a background child.
stack__start_web() {
	local state=$1 web=$2 port=$3
	stack__render "$web" "$state" "$port" >"$state/run/$web.conf" || return 1
	printf '%s %s\n' "$web" "$port" >"$state/run/stack-web"
	case $web in
	nginx)
		nginx -p "$state/run/" -e "$state/log/nginx-error.log" -c "$state/run/nginx.conf" \
			>>"$state/log/nginx.out" 2>&1 &
		;;
	lighttpd)
		lighttpd -D -f "$state/run/lighttpd.conf" >>"$state/log/lighttpd.out" 2>&1 &
		;;
	esac
	stack__save "$state" "$web" $!
}

# stack_start STATE WEBSERVER PORT
# Start acme-fcgi (under spawn-fcgi, socket STATE/run/fcgi.sock), the
# validator and WEBSERVER (nginx or lighttpd, in the foreground as a
# background child, TLS on 127.0.0.1:PORT and [::1]:PORT), then wait until
# https://localhost:PORT/acme/default/directory answers 200 with the
# state's root certificate as the only trust anchor. On failure prints the
# logs, stops what was started and returns 1. Run as root, acme-fcgi and
# acme-validator drop to unprivileged users (see stack__user).
stack_start() {
	if [ $# -ne 3 ]; then
		stack__say "usage: stack_start STATE nginx|lighttpd PORT"
		return 2
	fi
	local state web=$2 port=$3 bin sock name pid deadline
	state=$(stack__abs "$1")
	bin=$(stack__build)
	sock=$state/run/fcgi.sock
	case $web in
	nginx | lighttpd) ;;
	*) stack__say "unknown web server '$web' (nginx or lighttpd)"; return 2 ;;
	esac
	for name in "$bin/acme-fcgi" "$bin/acme-validator"; do
		[ -x "$name" ] || { stack__say "$name not found: build it first (make all)"; return 1; }
	done
	for name in spawn-fcgi "$web" curl; do
		command -v "$name" >/dev/null || { stack__say "$name is not installed (make deps)"; return 1; }
	done
	if stack__valgrind && ! command -v valgrind >/dev/null; then
		stack__say "ACME_VALGRIND=1 but valgrind is not installed"
		return 1
	fi
	[ -f "$state/acme.conf" ] || { stack__say "$state/acme.conf missing: stack_init first"; return 1; }
	for name in "${STACK__NAMES[@]}"; do
		pid=$(stack__pid "$state" "$name") || continue
		if stack__running "$pid" "$name"; then
			stack__say "$name (pid $pid) is already running on $state: stack_stop it first"
			return 1
		fi
	done
	mkdir -p "$state/run/empty" "$state/log" || return 1
	stack__check_base_url "$state" "$port"
	rm -f "$sock" "$state"/run/stack-*.pid
	stack__logmark "$state"
	STACK_STARTED+=("$state")

	stack__start_fcgi "$state"
	stack__start_validator "$state"

	# The socket exists once spawn-fcgi has bound it, before acme-fcgi runs.
	deadline=$((SECONDS + 10))
	while [ ! -S "$sock" ]; do
		[ $SECONDS -lt "$deadline" ] || { stack__fail "$state" "no socket $sock after 10s"; return 1; }
		name=$(stack_alive "$state") || { stack__fail "$state" "$name exited at start"; return 1; }
		sleep 0.1
	done

	stack__start_web "$state" "$web" "$port" || { stack__fail "$state" "no $web configuration"; return 1; }
	stack__wait_up "$state" "$port" || return 1
	stack__say "up: $web on https://localhost:$port (state $state)"
	return 0
}

# stack__wait_up STATE PORT: until the directory answers 200 (STACK_WAIT
# seconds, 30; 180 under valgrind); on failure the logs, stack_stop, 1.
stack__wait_up() {
	local state=$1 port=$2 wait_s deadline code name url
	url="https://localhost:$port/acme/default/directory"
	wait_s=${STACK_WAIT:-30}
	stack__valgrind && wait_s=${STACK_WAIT:-180}
	deadline=$((SECONDS + wait_s))
	while :; do
		name=$(stack_alive "$state") || { stack__fail "$state" "$name exited at start"; return 1; }
		code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
			--cacert "$state/ca/root.pem" "$url" 2>/dev/null) || code=000
		[ "$code" = 200 ] && return 0
		if [ $SECONDS -ge "$deadline" ]; then
			curl -sS -o /dev/null --max-time 5 --cacert "$state/ca/root.pem" "$url" 2>&1 |
				sed 's/^/stack: curl: /' >&2
			stack__fail "$state" "$url did not answer 200 within ${wait_s}s (last: $code)"
			return 1
		fi
		sleep 0.2
	done
}

# stack__stop_pids BOUND PID NAME [PID NAME]...: SIGTERM each that still
# runs NAME, wait up to BOUND seconds, then SIGKILL what is left; reap.
stack__stop_pids() {
	local bound=$1 deadline left i
	local -a pids=() names=()
	shift
	while [ $# -ge 2 ]; do
		if stack__running "$1" "$2"; then
			kill -TERM "$1" 2>/dev/null
			pids+=("$1")
			names+=("$2")
		fi
		shift 2
	done
	deadline=$((SECONDS + bound))
	while :; do
		left=0
		for i in "${!pids[@]}"; do
			stack__running "${pids[$i]}" "${names[$i]}" && left=$((left + 1))
		done
		[ "$left" -eq 0 ] && break
		if [ $SECONDS -ge "$deadline" ]; then
			for i in "${!pids[@]}"; do
				if stack__running "${pids[$i]}" "${names[$i]}"; then
					stack__say "${names[$i]} (pid ${pids[$i]}) still running after ${bound}s: SIGKILL"
					kill -KILL "${pids[$i]}" 2>/dev/null
				fi
			done
			break
		fi
		sleep 0.1
	done
	# Reap our own children (a no-op for the others).
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" 2>/dev/null
	done
	return 0
}

# stack_pid STATE NAME: the pid of component NAME (acme-fcgi: the master,
# acme-validator, nginx or lighttpd) when it runs; 1 otherwise.
stack_pid() {
	local pid
	pid=$(stack__pid "$(stack__abs "$1")" "$2") || return 1
	stack__running "$pid" "$2" || return 1
	printf '%s\n' "$pid"
}

# stack_workers STATE: the pids of acme-fcgi's workers (the master's
# children), one a line.
stack_workers() {
	local master
	master=$(stack_pid "$1" acme-fcgi) || return 1
	pgrep -P "$master" 2>/dev/null
}

# stack_validator_child STATE: the pid of the acme-validator process that
# does the work (the child of the supervising process stack_pid names).
stack_validator_child() {
	local sup
	sup=$(stack_pid "$1" acme-validator) || return 1
	pgrep -P "$sup" 2>/dev/null | head -n 1 | grep .
}

# stack_component_stop STATE NAME: stop one component (acme-validator, the
# web server, acme-fcgi) gracefully, SIGKILL after 20 s.
stack_component_stop() {
	local state pid
	state=$(stack__abs "$1")
	pid=$(stack__pid "$state" "$2") || return 0
	stack__stop_pids 20 "$pid" "$2"
	rm -f "$(stack__pidfile "$state" "$2")"
}

# stack_component_start STATE NAME: start one component again after
# stack_component_stop or after it died (acme-validator, acme-fcgi, or
# the web server stack_start started, on the same port). The web server:
# waits until the directory answers.
stack_component_start() {
	local state web port
	state=$(stack__abs "$1")
	if stack_pid "$state" "$2" >/dev/null; then
		stack__say "$2 is running already"
		return 1
	fi
	case $2 in
	acme-fcgi) rm -f "$state/run/fcgi.sock"; stack__start_fcgi "$state" ;;
	acme-validator) stack__start_validator "$state" ;;
	nginx | lighttpd)
		read -r web port <"$state/run/stack-web" || return 1
		stack__start_web "$state" "$web" "$port" || return 1
		stack__wait_up "$state" "$port"
		;;
	*) stack__say "unknown component $2"; return 2 ;;
	esac
}

# stack_stop STATE
# Stop what stack_start started: SIGTERM to each (web server first), then
# wait for all of them, and SIGKILL whatever still runs after 20 s (120 s
# under valgrind). Safe to call twice, or when nothing runs.
stack_stop() {
	[ $# -eq 1 ] || { stack__say "usage: stack_stop STATE"; return 2; }
	local state name pid bound=20
	local -a args=()
	state=$(stack__abs "$1")
	[ -d "$state/run" ] || return 0
	for name in "${STACK__NAMES[@]}"; do
		pid=$(stack__pid "$state" "$name") || continue
		args+=("$pid" "$name")
	done
	stack__valgrind && bound=120
	stack__stop_pids "$bound" "${args[@]}"
	rm -f "$state"/run/stack-*.pid "$state/run/fcgi.sock"
	return 0
}

# stack_san_check STATE: print the AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer reports the stack's processes wrote (to
# STATE/log/asan.PID, ubsan.PID, and on stderr, STATE/log/*.out) and
# return 1 if there is any. Call it after stack_stop (leaks are reported
# at exit).
stack_san_check() {
	local state f bad=0
	state=$(stack__abs "$1")
	for f in "$state"/log/asan.* "$state"/log/ubsan.*; do
		[ -s "$f" ] || continue
		echo "--- $f"
		head -c 20000 "$f"
		bad=1
	done
	for f in "$state"/log/*.out; do
		[ -f "$f" ] || continue
		if grep -qE ': runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$f"; then
			echo "--- $f (sanitizer reports on stderr)"
			grep -E -A30 ': runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer' "$f" |
				head -c 20000
			bad=1
		fi
	done
	return $bad
}

# stack_valgrind_check STATE: with ACME_VALGRIND=1, print the valgrind
# reports that show errors or definite or indirect leaks and return 1 if
# any does. A process killed before its summary (SIGKILL in the fault
# tests) counts when its log holds an error's stack trace. Returns 0 (and
# prints nothing) otherwise. Call it after stack_stop.
stack_valgrind_check() {
	local state f bad=0
	state=$(stack__abs "$1")
	stack__valgrind || return 0
	for f in "$state"/log/valgrind-*.log; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR SUMMARY: [1-9]|(definitely|indirectly) lost: [1-9]' "$f" ||
			{ ! grep -q 'ERROR SUMMARY: ' "$f" && grep -qE '^==[0-9]+== +(at|by) 0x' "$f"; }; then
			echo "--- $f"
			head -c 30000 "$f"
			bad=1
		fi
	done
	return $bad
}

# stack_challtestsrv_start [DNS_PORT [MANAGEMENT_PORT]]
# pebble-challtestsrv as the validation resolver: DNS on 127.0.0.1:DNS_PORT
# (8053), management API on 127.0.0.1:MANAGEMENT_PORT (8055), every name
# answering A 127.0.0.1 and no AAAA; its own http-01, https-01 and
# tls-alpn-01 responders off (the ACME clients under test answer those).
# Log: $STACK_CTS_LOG (default a file under $TMPDIR). Waits until the
# management port answers (10 s at most).
stack_challtestsrv_start() {
	local dns=${1:-8053} mgmt=${2:-8055} deadline
	command -v pebble-challtestsrv >/dev/null ||
		{ stack__say "pebble-challtestsrv is not installed (apt-get install pebble)"; return 1; }
	if [ -n "$STACK_CTS_PID" ] && kill -0 "$STACK_CTS_PID" 2>/dev/null; then
		stack__say "pebble-challtestsrv already running (pid $STACK_CTS_PID)"
		return 1
	fi
	[ -n "$STACK_CTS_LOG" ] || STACK_CTS_LOG=${TMPDIR:-/tmp}/challtestsrv.$$.log
	pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$mgmt" \
		-http01 "" -https01 "" -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
		>>"$STACK_CTS_LOG" 2>&1 &
	STACK_CTS_PID=$!
	deadline=$((SECONDS + 10))
	until (exec 3<>"/dev/tcp/127.0.0.1/$mgmt") 2>/dev/null; do
		if ! kill -0 "$STACK_CTS_PID" 2>/dev/null || [ $SECONDS -ge "$deadline" ]; then
			stack__say "pebble-challtestsrv did not come up on 127.0.0.1:$mgmt:"
			tail -n 20 "$STACK_CTS_LOG" >&2
			stack_challtestsrv_stop
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# stack_challtestsrv_stop: stop the pebble-challtestsrv this shell started.
stack_challtestsrv_stop() {
	local pid=$STACK_CTS_PID i
	[ -n "$pid" ] || return 0
	STACK_CTS_PID=
	stack__running "$pid" pebble-challtestsrv || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		stack__running "$pid" pebble-challtestsrv || break
		[ "$i" -eq 50 ] && kill -KILL "$pid" 2>/dev/null
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	return 0
}
