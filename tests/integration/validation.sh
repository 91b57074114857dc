#!/usr/bin/env bash
# Validation end to end against the real stack (nginx), with
# pebble-challtestsrv as the validation resolver (DNS on 8053, management
# API on 8055, or free ports) and every responder on loopback:
#
#   lego tls-alpn-01; lego dns-01 through its exec provider (dns-hook puts
#   the TXT records into challtestsrv); a wildcard certificate with lego via
#   dns-01; certbot dns-01 through manual hooks; lego http-01 in a directory
#   that checks CAA, the name's CAA naming us.
#   Then tests/integration/validation_cases.py, at once: http-01, tls-alpn-01
#   and dns-01 failing in each way that must end invalid with a given problem
#   type, a TXT record published late and picked up by a retry, a private
#   address refused, and CAA allowing or refusing issuance (issue, accounturi,
#   validationmethods).
#
# The configuration shortens the validator's timeouts and retries
# (validation_timeout 4s, retry_base 1s) and adds directories "caa"
# (caa_check), "neg" and "strict" (no allow_private) with 15 s / 10 s
# authorization lifetimes, so that every failing case ends within seconds.
# TAP; on a failure, the clients' and the stack's logs follow as comments.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
OURS=ca.acme.test
PY=/usr/bin/python3

test_tmpdir
if ! need lego certbot pebble-challtestsrv spawn-fcgi nginx openssl curl "$PY"; then
	plan 1; not_ok "tools"; done_testing
fi
mapfile -t CASES < <("$PY" "$HERE/validation_cases.py" --list)
# challtestsrv, stack, 5 client runs of 3 checks each, the driver's cases.
plan $((2 + 5 * 3 + ${#CASES[@]}))
if ! pick_port dns 8053 udp || ! pick_port mgmt 8055 || ! pick_port h01 5002 ||
	! pick_port tls 5001 || ! pick_port port 14443; then
	done_testing
fi
diag "temp $TEST_TMP; DNS 127.0.0.1:$dns, management $mgmt, http-01 $h01, tls-alpn-01 $tls"
export ACME_MGMT=http://127.0.0.1:$mgmt
state=$TEST_TMP/state
root=$state/ca/root.pem
FAILED=0

if stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/challtestsrv.err"; then
	ok "pebble-challtestsrv answers DNS on 127.0.0.1:$dns"
else
	not_ok "pebble-challtestsrv answers DNS on 127.0.0.1:$dns"
	diag_file "$TEST_TMP/challtestsrv.err"
	done_testing
fi
at_cleanup stack_challtestsrv_stop

if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--tlsalpn01-port "$tls" --allow-private >"$TEST_TMP/stack.log" 2>&1; then
	conf=$state/acme.conf
	# Global keys go before the first section.
	sed -i '0,/^\[/s//validation_connect_timeout = 2s\nvalidation_timeout = 4s\nretry_base = 1s\nretry_cap = 4s\n\n[/' "$conf"
	cat >>"$conf" <<EOC

[directory caa]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
allow_private = yes
caa_check = yes
caa_identities = $OURS
authz_lifetime = 15s

[directory neg]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
allow_private = yes
authz_lifetime = 15s

[directory strict]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
authz_lifetime = 10s
EOC
fi
if [ -f "$state/acme.conf" ] && stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts on port $port"
else
	not_ok "the stack starts on port $port"
	diag_file "$TEST_TMP/stack.log" 120
	done_testing
fi

# client_checks LABEL RC CERT CHAIN LOG NAME...: the three checks of a run.
client_checks() {
	local label=$1 rc=$2 cert=$3 chain=$4 log=$5 bad=0
	shift 5
	check "$label: the client exits 0" [ "$rc" -eq 0 ] || bad=1
	if [ -s "$cert" ] && [ -s "$chain" ]; then
		check "$label: the certificate verifies up to root.pem" verifies "$root" "$chain" "$cert" || bad=1
		check "$label: the certificate names exactly $*" sans_are "$cert" "$@" || bad=1
	else
		diag "no certificate at $cert"
		not_ok "$label: the certificate verifies up to root.pem"
		not_ok "$label: the certificate names exactly $*"
		bad=1
	fi
	if [ "$bad" = 1 ]; then
		diag_file "$log" 40
		FAILED=1
	fi
}

# lego_run LABEL DIRECTORY NAMES ARGS...: lego run for the comma-separated
# NAMES in DIRECTORY with the challenge options ARGS, then client_checks.
lego_run() {
	local label=$1 dirname=$2 path=$TEST_TMP/lego-$1 log=$TEST_TMP/lego-$1.out rc n file
	local -a names doms=()
	IFS=, read -ra names <<<"$3"
	shift 3
	for n in "${names[@]}"; do
		doms+=(--domains "$n")
	done
	LEGO_CA_CERTIFICATES=$root EXEC_PATH=$HERE/dns-hook EXEC_PROPAGATION_TIMEOUT=30 \
		EXEC_POLLING_INTERVAL=1 timeout -k 5 180 lego \
		--server "https://localhost:$port/acme/$dirname/directory" --email test@example.org \
		--accept-tos "${doms[@]}" --path "$path" "$@" run >"$log" 2>&1
	rc=$?
	file=${names[0]/\*/_}
	client_checks "lego $label" "$rc" "$path/certificates/$file.crt" \
		"$path/certificates/$file.issuer.crt" "$log" "${names[@]}"
}

lego_run tls-alpn-01 default tls.example.com --tls --tls.port "127.0.0.1:$tls"
lego_run dns-01 default dns.example.com \
	--dns exec --dns.resolvers "127.0.0.1:$dns" --dns.disable-cp
lego_run "dns-01 wildcard" default '*.w.example.com,w.example.com' \
	--dns exec --dns.resolvers "127.0.0.1:$dns" --dns.disable-cp

cb=$TEST_TMP/certbot
mkdir -p "$cb"
REQUESTS_CA_BUNDLE=$root timeout -k 5 180 certbot certonly --manual --preferred-challenges dns \
	--manual-auth-hook "$HERE/dns-hook certbot-auth" \
	--manual-cleanup-hook "$HERE/dns-hook certbot-cleanup" \
	--server "https://localhost:$port/acme/default/directory" -d cb-dns.example.com \
	--agree-tos -m test@example.org --no-eff-email --non-interactive \
	--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
	>"$cb/certbot.out" 2>&1
rc=$?
client_checks "certbot dns-01 (manual hooks)" "$rc" "$cb/config/live/cb-dns.example.com/cert.pem" \
	"$cb/config/live/cb-dns.example.com/chain.pem" "$cb/certbot.out" cb-dns.example.com

# CAA: the name's RRset names us; the caa directory checks it.
curl -sS --noproxy '*' --max-time 10 -o /dev/null -d \
	"{\"host\":\"caa-lego.example.com.\",\"policies\":[{\"tag\":\"issue\",\"value\":\"$OURS\"}]}" \
	"$ACME_MGMT/add-caa"
lego_run "http-01, CAA names us" caa caa-lego.example.com --http --http.port "127.0.0.1:$h01"

# The cases the test's own responders drive.
ACME_BASE="https://localhost:$port" ACME_CA=$root ACME_HTTP01_PORT=$h01 ACME_TLSALPN01_PORT=$tls \
	ACME_CAA_IDENTITY=$OURS timeout -k 5 180 "$PY" "$HERE/validation_cases.py" \
	>"$TEST_TMP/cases.out" 2>"$TEST_TMP/cases.err"
for c in "${CASES[@]}"; do
	if grep -qxF -- "PASS $c" "$TEST_TMP/cases.out"; then
		ok "$c"
	else
		not_ok "$c"
		grep -F -- "FAIL $c ::" "$TEST_TMP/cases.out" | sed 's/^/# /'
		FAILED=1
	fi
done
if [ "$FAILED" = 1 ]; then
	diag_file "$TEST_TMP/cases.err" 60
	stack_logs "$state" 80 | sed 's/^/# /'
fi
done_testing
