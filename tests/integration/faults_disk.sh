#!/usr/bin/env bash
# Disk full under load (behind nginx; root only: the store goes on a tmpfs).
# The state's db/ is a 48 MiB tmpfs; 8 clients do full issuances while a
# file fills the rest of it. Requests that need to write get 503 problem
# documents (serverInternal, with Retry-After), reads go on, nothing
# crashes (no worker killed by a signal, no 502 from nginx); once the file
# is removed issuance resumes, and acme-admin verify and the comparison of
# the store with what the clients saw pass. The time service was degraded
# is reported as "# degraded: ..." comments.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP mounting a tmpfs needs root"
	exit 0
fi
plan 13
test_tmpdir
need /usr/bin/python3 pebble-challtestsrv spawn-fcgi nginx curl || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop

# db/ on a tmpfs, with what acme-admin init put there and its owner and mode.
mount_db() {
	local db=$state/db save=$TEST_TMP/db.save own mode
	own=$(stat -c %u:%g "$db") && mode=$(stat -c %a "$db") &&
		mkdir "$save" && cp -a "$db/." "$save/" &&
		mount -t tmpfs -o "size=48m,mode=$mode" acme-faults "$db" &&
		chown "$own" "$db" && chmod "$mode" "$db" && cp -a "$save/." "$db/"
}
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 && mount_db >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup umount "$state/db"
	ok "db/ is on a 48 MiB tmpfs"
else
	not_ok "db/ is on a 48 MiB tmpfs"
	diag_file "$TEST_TMP/stack.log"
	done_testing
fi
export STACK_WATCHDOG=10 STACK_VALIDATOR_WATCHDOG=10
stack__valgrind && STACK_WATCHDOG=30 STACK_VALIDATOR_WATCHDOG=40
if stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts"
else
	not_ok "the stack starts"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
bound=60
clients=8
# Under valgrind everything is many times slower: fewer clients, longer bounds.
stack__valgrind && bound=300 && clients=3

load_start "$state" "$port" "$h01" "$TEST_TMP/load" "$clients"
check "the clients issue certificates (warm-up)" load_wait 20 "$bound" || diag_file "$LOAD_OUT/driver.log"

# Fill the tmpfs. The store's log and databases grow as the load goes on,
# so the filler is topped up while the disk is meant to be full.
fill() {
	dd if=/dev/zero of="$state/db/filler.$1" bs=64k status=none 2>/dev/null
	[ "$(df --output=avail "$state/db" | tail -n 1)" -lt 64 ]
}
logmark=$(stat -c %s "$state/log/acme.log")
t0=$(now)
check "the disk is full" fill 0
n=1
deadline=$((SECONDS + 8))
while [ $SECONDS -lt "$deadline" ]; do
	fill "$n"
	n=$((n + 1))
	sleep 0.5
done
t1=$(now)
events() { # FROM TO: the errors the clients saw between two times
	awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $2 == "err" { print $3 }' "$LOAD_OUT/events.log"
}
e=$(events "$t0" "$t1")
n503=$(grep -c ':503:serverInternal:[0-9]' <<<"$e")
check "the clients got 503 serverInternal with Retry-After while the disk was full ($n503 times)" \
	[ "$n503" -gt 0 ]
other=$(grep -v ':503:serverInternal:[0-9]' <<<"$e" | grep -v '^$' | sort | uniq -c | sort -rn | head -5)
check "and no other error (no 502: no worker crashed)" [ -z "$other" ] || diag "$other"
check "every component still runs with the disk full" stack_alive "$state"
rm -f "$state"/db/filler.*
t2=$(now)
if load_wait 10 "$bound"; then
	ok "space back: issuance resumes"
else
	not_ok "space back: issuance resumes"
	diag_file "$LOAD_OUT/driver.log" 20
	stack_logs "$state" 40 | sed 's/^/# /'
fi
diag "degraded: disk full for $(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s; $(load_degraded "$t0") (from the fill)"
diag "degraded: after space returned: $(load_degraded "$t2")"
killed=$(tail -c +"$((logmark + 1))" "$state/log/acme.log" | grep -c 'was killed by signal')
check "no worker was killed by a signal" [ "$killed" -eq 0 ] ||
	tail -c +"$((logmark + 1))" "$state/log/acme.log" | grep 'was killed by signal' | head -5 | sed 's/^/# /'
load_check "$state" "after the disk was full"
check "the clients stop within the bound" load_stop
bad=$(grep -vc '"outcome": "valid"' "$LOAD_OUT/orders.jsonl")
check "every one of the $(wc -l <"$LOAD_OUT/orders.jsonl") flows ended with a certificate" [ "$bad" -eq 0 ] ||
	grep -v '"outcome": "valid"' "$LOAD_OUT/orders.jsonl" | head -5 | sed 's/^/# /'
diag "acme-validator found stuck and restarted by its supervisor: $(grep -c 'has not gone round its loop' "$state/log/acme.log") time(s)"
done_testing
