#!/usr/bin/env bash
# Network faults under load (behind nginx): 8 clients do full issuances with
# http-01 (tests/integration/faults_load.py) while
#   1. nginx is stopped and started again, twice (clients see refused
#      connections and retry);
#   2. the DNS server (pebble-challtestsrv) goes away: validation attempts
#      fail with dns or connection problems, shown in the challenges' error
#      while they are retried, and nothing crashes; it comes back and
#      validation works again (retry_cap is 3 s here, so that retries are
#      quick).
# After each: acme-admin verify passes and the store agrees with what the
# clients saw. Degradation times are reported as "# degraded: ..." comments.
# At the end every flow must have ended with a certificate.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 21
test_tmpdir
need /usr/bin/python3 pebble-challtestsrv spawn-fcgi nginx curl || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 &&
	sed -i '0,/^\[/s//retry_base = 1s\nretry_cap = 3s\n\n[/' "$state/acme.conf" &&
	stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
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

# 1. The web server restarted mid-load.
for i in 1 2; do
	sleep "0.$((RANDOM % 10))"
	t0=$(now)
	stack_component_stop "$state" nginx
	sleep 2
	check "nginx stopped and started again ($i/2)" stack_component_start "$state" nginx
	if load_wait 10 "$bound"; then
		ok "nginx restart $i: issuance goes on"
	else
		not_ok "nginx restart $i: issuance goes on"
		diag_file "$LOAD_OUT/driver.log" 20
	fi
	diag "degraded: nginx restart $i (2 s down): $(load_degraded "$t0")"
	load_check "$state" "after nginx restart $i"
done

# 2. The DNS server gone.
t0=$(now)
stack_challtestsrv_stop
seen=
deadline=$((SECONDS + bound))
while [ $SECONDS -lt "$deadline" ]; do
	seen=$(awk -v t="$t0" '$1 >= t && $2 == "chall-error" { print $3 }' "$LOAD_OUT/events.log" | sort -u |
		tr '\n' ' ')
	[ -n "$seen" ] && break
	sleep 0.5
done
check "DNS gone: challenges show the failed attempts (seen: ${seen:-none})" \
	bash -c '[ -n "$1" ] && [ -z "$(printf "%s" "$1" | tr " " "\n" | grep -vxE "dns|connection|")" ]' _ "$seen"
before=$(load_done)
sleep 3
check "DNS gone: every component still runs" stack_alive "$state"
check "DNS gone: no certificate needing a new validation is issued ($(($(load_done) - before)) in 3 s)" \
	bash -c '[ $(($3 - $2)) -le 8 ]' _ x "$before" "$(load_done)"
t1=$(now)
check "the DNS server comes back" stack_challtestsrv_start "$dns" "$mgmt"
if load_wait 10 "$bound"; then
	ok "DNS back: validations work again"
else
	not_ok "DNS back: validations work again"
	diag_file "$LOAD_OUT/driver.log" 20
	stack_logs "$state" 30 | sed 's/^/# /'
fi
diag "degraded: DNS down for $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; $(load_degraded "$t1") (from its return)"
load_check "$state" "after the DNS outage"

check "the clients stop within the bound" load_stop
flows=$(wc -l <"$LOAD_OUT/orders.jsonl")
bad=$(grep -vc '"outcome": "valid"' "$LOAD_OUT/orders.jsonl")
check "every one of the $flows flows ended with a certificate" [ "$bad" -eq 0 ] ||
	grep -v '"outcome": "valid"' "$LOAD_OUT/orders.jsonl" | head -5 | sed 's/^/# /'
load_check "$state" "at the end" --final
done_testing
