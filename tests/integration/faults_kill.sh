#!/usr/bin/env bash
# Crash tests under load (behind nginx): 8 clients do full issuances with
# http-01 (tests/integration/faults_load.py) while
#   1. workers are SIGKILLed at random moments, 5 times;
#   2. acme-validator's working process is SIGKILLed, twice: its
#      supervising process starts another; then the whole daemon
#      (supervisor and child) is SIGKILLed and started again;
#   3. a worker is stopped (SIGSTOP) in the middle of a request, as if stuck
#      on a lock: the master's watchdog (-t 5 here) must kill and replace it;
#   4. acme-validator's working process is stopped (SIGSTOP), as if stuck on
#      a lock a killed process held: its supervisor's watchdog (-t 10 here)
#      must kill and replace it.
# After each: acme-admin verify passes, the store agrees with what the
# clients saw (no serial twice, one certificate per finalized order, every
# order a client was told is valid has its certificate, no order stuck in
# processing), issuance goes on. The time service was degraded (from the
# fault to the last failed request) and the time to the next certificate
# are reported as comments ("# degraded: ..."), and how often the
# validator's supervisor found it stuck on its own. At the end the clients
# finish and every flow must have ended with a certificate.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

KILLS=${FAULT_KILLS:-5}
stack__valgrind && KILLS=${FAULT_KILLS:-2}
plan $((29 + KILLS))
test_tmpdir
need /usr/bin/python3 pebble-challtestsrv spawn-fcgi nginx curl || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
watchdog=5
vwatchdog=10
stack__valgrind && watchdog=20 && vwatchdog=40
export STACK_WORKERS=3 STACK_WATCHDOG=$watchdog STACK_VALIDATOR_WATCHDOG=$vwatchdog
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 &&
	stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts (3 workers, watchdog ${watchdog}s)"
else
	not_ok "the stack starts"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
# Generous bounds: the sanitizer and valgrind builds are slower.
bound=60
clients=8
# Under valgrind everything is many times slower: fewer clients, longer bounds.
stack__valgrind && bound=300 && clients=3

load_start "$state" "$port" "$h01" "$TEST_TMP/load" "$clients"
check "the clients issue certificates (warm-up)" load_wait 20 "$bound" || diag_file "$LOAD_OUT/driver.log"

# report DESC T0: the degradation figures of the fault that began at T0.
report() {
	diag "degraded: $1: $(load_degraded "$2")"
}

# 1. SIGKILL a random worker at a random moment.
for i in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 10))"
	mapfile -t workers < <(stack_workers "$state")
	victim=${workers[$((RANDOM % ${#workers[@]}))]}
	t0=$(now)
	kill -KILL "$victim"
	if load_wait 10 "$bound"; then
		ok "worker $victim SIGKILLed ($i/$KILLS): issuance goes on"
	else
		not_ok "worker $victim SIGKILLed ($i/$KILLS): issuance goes on"
		diag_file "$LOAD_OUT/driver.log" 20
		stack_logs "$state" 30 | sed 's/^/# /'
	fi
	report "worker SIGKILL $i" "$t0"
done
load_check "$state" "after $KILLS worker kills"
# nworkers_is N: acme-fcgi's master has N children, within the bound: a
# worker may be on its way out for a store recovery, or blocked on a lock
# its killed sibling held until the watchdog kills it too.
nworkers_is() {
	local deadline=$((SECONDS + bound))
	until [ "$(stack_workers "$state" | wc -l)" -eq "$1" ]; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.2
	done
}
check "every worker killed was replaced ($STACK_WORKERS workers run)" nworkers_is "$STACK_WORKERS"

# 2. SIGKILL acme-validator's working process: its supervisor starts
# another, whose store open runs recovery. starttime tells a new process
# from an old one with a reused pid.
starttime() { cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null; }
# vchild_new PID START: a validator child that is not PID started at START.
vchild_new() {
	local deadline=$((SECONDS + bound)) c
	while [ $SECONDS -lt "$deadline" ]; do
		c=$(stack_validator_child "$state") && [ "$c:$(starttime "$c")" != "$1:$2" ] && return 0
		sleep 0.1
	done
	return 1
}
for i in 1 2; do
	sleep "0.$((RANDOM % 10))"
	vchild=$(stack_validator_child "$state")
	vstart=$(starttime "$vchild")
	t0=$(now)
	kill -KILL "$vchild"
	check "validator child $vchild SIGKILLed ($i/2): the supervisor starts another" \
		vchild_new "$vchild" "$vstart"
	if load_wait 10 "$bound"; then
		ok "validator child SIGKILLed ($i/2): issuance goes on"
	else
		not_ok "validator child SIGKILLed ($i/2): issuance goes on"
		diag_file "$LOAD_OUT/driver.log" 20
		stack_logs "$state" 30 | sed 's/^/# /'
	fi
	report "validator child SIGKILL $i" "$t0"
	load_check "$state" "after validator kill $i"
done
# The whole daemon: the child goes with its supervisor (PR_SET_PDEATHSIG),
# and the daemon is started again as an init system would.
sleep "0.$((RANDOM % 10))"
vchild=$(stack_validator_child "$state")
vstart=$(starttime "$vchild")
t0=$(now)
sup=$(stack_pid "$state" acme-validator)
kill -KILL "$sup"
wait "$sup" 2>/dev/null
gone() { # PID START: no such process within the bound
	local deadline=$((SECONDS + bound))
	while [ "$(starttime "$1")" = "$2" ]; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.1
	done
}
check "the validator's supervisor SIGKILLed: its child ends too" gone "$vchild" "$vstart"
sleep 1
check "the validator is started again" stack_component_start "$state" acme-validator
if load_wait 10 "$bound"; then
	ok "the whole validator SIGKILLed: issuance goes on"
else
	not_ok "the whole validator SIGKILLed: issuance goes on"
	diag_file "$LOAD_OUT/driver.log" 20
	stack_logs "$state" 30 | sed 's/^/# /'
fi
report "validator and supervisor SIGKILL" "$t0"
load_check "$state" "after the whole validator was killed"

# 3. A worker stuck in the middle of a request. SIGSTOP stands for a lock
# that is never released. The watchdog acts on a worker that is busy with a
# request, so the worker is stopped while it is not waiting in
# epoll_pwait() (an idle worker waits there: /proc/PID/syscall; ppoll() in
# older workers); one stopped while idle after all is let go, and another
# try is made.
case $(uname -m) in
x86_64) idle_sc=" 271 281 " ;;
aarch64) idle_sc=" 73 22 " ;;
*) idle_sc=" none " ;;
esac
# stop_busy: SIGSTOP a worker that is not idle; its pid in $victim.
stop_busy() {
	local w sc i
	for i in $(seq 2000); do
		mapfile -t workers < <(stack_workers "$state")
		w=${workers[$((RANDOM % ${#workers[@]}))]}
		sc=$(cut -d' ' -f1 "/proc/$w/syscall" 2>/dev/null) || continue
		[[ $idle_sc == *" $sc "* ]] && { sleep 0.005; continue; }
		kill -STOP "$w" 2>/dev/null || continue
		sleep 0.05
		sc=$(cut -d' ' -f1 "/proc/$w/syscall" 2>/dev/null)
		if [[ $idle_sc != *" $sc "* ]]; then
			victim=$w
			return 0
		fi
		kill -CONT "$w" 2>/dev/null
	done
	return 1
}
stuck=
for i in $(seq 6); do
	stop_busy || break
	stuck_start=$(starttime "$victim")
	mark=$(stat -c %s "$state/log/acme.log")
	t0=$(now)
	deadline=$((SECONDS + watchdog + 5))
	while [ $SECONDS -lt "$deadline" ]; do
		if tail -c +"$((mark + 1))" "$state/log/acme.log" |
			grep -q "worker $victim has been on one request"; then
			stuck=$victim
			break
		fi
		sleep 0.2
	done
	[ -n "$stuck" ] && break
	kill -CONT "$victim" 2>/dev/null
	sleep 1
done
if [ -n "$stuck" ]; then
	ok "a worker stopped in a request is killed by the watchdog (try $i)"
	# Gone: no process with its pid and start time (pids are reused quickly
	# on a busy machine with pid_max 32768).
	gone_and_replaced() {
		[ "$(starttime "$1")" != "$2" ] && nworkers_is "$STACK_WORKERS"
	}
	if ! check "the stuck worker is gone and replaced" gone_and_replaced "$stuck" "$stuck_start"; then
		diag "workers now: $(stack_workers "$state" | tr '\n' ' ')"
		stack_logs "$state" 30 | sed 's/^/# /'
	fi
	check "issuance goes on after the watchdog" load_wait 10 "$bound"
	report "worker stuck (SIGSTOP), watchdog ${watchdog}s" "$t0"
else
	not_ok "a worker stopped in a request is killed by the watchdog"
	not_ok "the stuck worker is gone and replaced"
	not_ok "issuance goes on after the watchdog"
	stack_logs "$state" 30 | sed 's/^/# /'
fi

# 4. acme-validator's working process stuck: SIGSTOP stands for a wait on
# a Berkeley DB mutex that a killed process held (not robust in libdb 5.3:
# the waiter never wakes). Its loop stops going round, and the supervisor
# must kill it and start another, whose store open runs recovery.
vchild=$(stack_validator_child "$state")
vstart=$(starttime "$vchild")
mark=$(stat -c %s "$state/log/acme.log")
t0=$(now)
kill -STOP "$vchild"
vstuck_seen() {
	local deadline=$((SECONDS + vwatchdog + bound))
	while [ $SECONDS -lt "$deadline" ]; do
		tail -c +"$((mark + 1))" "$state/log/acme.log" |
			grep -q "validator process $vchild has not gone round its loop" && return 0
		sleep 0.2
	done
	return 1
}
check "a stuck validator child is killed by its supervisor's watchdog (${vwatchdog}s)" vstuck_seen ||
	stack_logs "$state" 30 | sed 's/^/# /'
check "and another one runs" vchild_new "$vchild" "$vstart"
check "issuance goes on after the validator's watchdog" load_wait 10 "$bound"
report "validator child stuck (SIGSTOP), watchdog ${vwatchdog}s" "$t0"
kill -CONT "$vchild" 2>/dev/null

# The end: the clients finish what they started; every flow has its
# certificate; the store is consistent and nothing is left in processing.
check "the clients stop within the bound" load_stop
read -r done_n left <"$LOAD_OUT/finished" 2>/dev/null || { done_n=0; left=?; }
flows=$(wc -l <"$LOAD_OUT/orders.jsonl")
bad=$(grep -vc '"outcome": "valid"' "$LOAD_OUT/orders.jsonl")
check "every one of the $flows flows ended with a certificate ($done_n downloaded)" [ "$bad" -eq 0 ] ||
	grep -v '"outcome": "valid"' "$LOAD_OUT/orders.jsonl" | head -5 | sed 's/^/# /'
load_check "$state" "at the end" --final
check "every component still runs" stack_alive "$state" || stack_logs "$state" 40 | sed 's/^/# /'
# How often the validator got stuck on a lock of a killed process by
# itself (the SIGSTOP of part 4 is one of these lines).
diag "the validator's supervisor found it stuck $(grep -c 'has not gone round its loop' "$state/log/acme.log") time(s), part 4 included"
done_testing
