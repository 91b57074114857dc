#!/usr/bin/env bash
# The protocol test suite (tests/protocol, one or more tests per checklist
# item of acme-conformance.md) against the real stack behind nginx, with
# pebble-challtestsrv as the DNS server and the suite's own http-01
# responder. The state directory gets extra directories and a profile the
# tests need: "tos" (terms required), "other" (a second directory), "short"
# (10-second order and authorization lifetimes), profile "dnsonly".
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

test_tmpdir
need /usr/bin/python3 pebble-challtestsrv spawn-fcgi nginx curl || { plan 1; not_ok "tools"; done_testing; }
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 || {
	plan 1; not_ok "free ports"; done_testing; }
state=$TEST_TMP/state

if ! stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err"; then
	plan 1; not_ok "pebble-challtestsrv starts"; diag_file "$TEST_TMP/cts.err"; done_testing
fi
at_cleanup stack_challtestsrv_stop
if ! stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1; then
	plan 1; not_ok "stack_init"; diag_file "$TEST_TMP/stack.log"; done_testing
fi

conf=$state/acme.conf
# An alternate chain: the issuing CA cross-signed by a second root (CRT-04).
alt=$state/ca/alt
mkdir -p "$alt"
if ! { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$alt/root.key" \
	-out "$alt/root.pem" -days 30 -subj "/CN=acme-server test alternate root" &&
	openssl x509 -x509toreq -in "$state/ca/intermediate.pem" -signkey "$state/ca/intermediate.key" \
		-out "$alt/inter.csr" &&
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$alt/ext" &&
	openssl x509 -req -in "$alt/inter.csr" -CA "$alt/root.pem" -CAkey "$alt/root.key" -set_serial 4660 \
		-days 30 -extfile "$alt/ext" -out "$alt/cross.pem"; } >"$TEST_TMP/alt.log" 2>&1; then
	plan 1; not_ok "alternate chain"; diag_file "$TEST_TMP/alt.log"; done_testing
fi
sed -i '0,/^\[/s//orders_per_page = 2\n\n[/' "$conf"
sed -i 's/^profiles = shortlived tlsserver$/profiles = shortlived tlsserver dnsonly\nca_alt_chains = ca\/alt\/cross.pem/' "$conf"
cat >>"$conf" <<EOC

[profile dnsonly]
description = DNS names only, 7 days
lifetime = 7d
identifiers = dns

[directory tos]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
terms_of_service = https://example.org/terms/v1
tos_required = yes
allow_private = yes

[directory other]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
allow_private = yes
contact_schemes = mailto tel

[directory eab]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
external_account_required = yes
allow_private = yes

[directory limited]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
allow_private = yes
authz_lifetime = 20s
cert_lifetime_max = 7d
cert_keys = p256 p384
names_deny = .bad.example.com
rate_orders_per_account = 3/6s
rate_failed_validations = 1/1h
rate_certs_per_domain = 2/1h
rate_limit_doc = https://example.org/rate-limits

[directory limitip]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
allow_private = yes
rate_accounts_per_ip = 3/1h

[directory public]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key

[directory short]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
order_lifetime = 10s
authz_lifetime = 10s
allow_private = yes
EOC

if ! stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	plan 1; not_ok "the stack starts"; diag_file "$TEST_TMP/stack.log" 80; done_testing
fi
at_cleanup stack_stop "$state"

ACME_DIR_URL="https://localhost:$port/acme/default/directory" ACME_BASE="https://localhost:$port" \
	ACME_CA="$state/ca/root.pem" ACME_STATE="$state" ACME_HTTP01_PORT="$h01" \
	ACME_ADMIN="$(stack__build)/acme-admin" ACME_MGMT="http://127.0.0.1:$mgmt" \
	/usr/bin/python3 "$(dirname "$0")/../protocol/run.py" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
	stack_logs "$state" 80 | sed 's/^/# /'
fi
exit "$rc"
