#!/usr/bin/env bash
# The certificate life cycle with real clients behind nginx: certbot and
# lego each issue, renew and revoke (certbot by account key and by
# certificate key); lego's account key is rolled over (lego 4.9 has no
# command for it, so tests/protocol/keyroll.py does the RFC 8555 7.3.5
# exchange on lego's account and puts the new key in lego's key file) and
# lego renews with the new key. Every certificate is checked with openssl
# verify; the CRL lists every revoked serial and verifies against the CA.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 19
test_tmpdir
need certbot lego pebble-challtestsrv spawn-fcgi nginx openssl curl /usr/bin/python3 || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 &&
	stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts"
else
	not_ok "the stack starts"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
dir="https://localhost:$port/acme/default/directory"
root=$state/ca/root.pem
chain=$state/ca/intermediate.pem
REVOKED=()

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
valid_cert() { verifies "$root" "$chain" "$1" && sans_are "$1" "${@:2}"; }

# --- certbot ---
cb=$TEST_TMP/certbot
certbot_() {
	REQUESTS_CA_BUNDLE=$root timeout -k 5 300 certbot "$@" --non-interactive \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" >>"$cb.out" 2>&1
}
live=$cb/config/live/cb1.example.com
check "certbot: certonly for two names" certbot_ certonly --standalone --http-01-port "$h01" \
	--http-01-address 127.0.0.1 --server "$dir" -d cb1.example.com -d cb2.example.com \
	--agree-tos -m test@example.org --no-eff-email || diag_file "$cb.out" 30
check "certbot: the certificate verifies and names both" valid_cert "$live/cert.pem" cb1.example.com cb2.example.com
first=$(serial_of "$live/cert.pem")
check "certbot: renew --force-renewal" certbot_ renew --force-renewal --http-01-port "$h01" \
	--http-01-address 127.0.0.1 --no-random-sleep-on-renew || diag_file "$cb.out" 30
second=$(serial_of "$live/cert.pem")
check "certbot: the renewed certificate is new and verifies" \
	bash -c '[ "$1" != "$2" ]' _ "$first" "$second"
valid_cert "$live/cert.pem" cb1.example.com cb2.example.com || not_ok "renewed certificate verifies"
check "certbot: revoke by account key (reason superseded)" certbot_ revoke --server "$dir" \
	--cert-path "$live/cert.pem" --reason superseded --no-delete-after-revoke || diag_file "$cb.out" 30
REVOKED+=("$second")
check "certbot: renew again after the revocation" certbot_ renew --force-renewal --http-01-port "$h01" \
	--http-01-address 127.0.0.1 --no-random-sleep-on-renew || diag_file "$cb.out" 30
third=$(serial_of "$live/cert.pem")
# Revocation signed by the certificate's own key (no account involved).
check "certbot: revoke by certificate key" certbot_ revoke --server "$dir" \
	--cert-path "$live/cert.pem" --key-path "$live/privkey.pem" --no-delete-after-revoke ||
	diag_file "$cb.out" 30
REVOKED+=("$third")

# --- lego ---
lg=$TEST_TMP/lego
lego_() {
	LEGO_CA_CERTIFICATES=$root timeout -k 5 300 lego --server "$dir" --email lego@example.org \
		--accept-tos --domains lg1.example.com --domains lg2.example.com \
		--http --http.port "127.0.0.1:$h01" --path "$lg" "$@" >>"$lg.out" 2>&1
}
lcert=$lg/certificates/lg1.example.com.crt
check "lego: run for two names" lego_ run || diag_file "$lg.out" 30
check "lego: the certificate verifies and names both" valid_cert "$lcert" lg1.example.com lg2.example.com
first=$(serial_of "$lcert")
check "lego: renew" lego_ renew --days 100000 --no-random-sleep || diag_file "$lg.out" 30
second=$(serial_of "$lcert")
check "lego: the renewed certificate is new" bash -c '[ "$1" != "$2" ]' _ "$first" "$second"
acct_json=$(find "$lg/accounts" -name account.json | head -n 1)
acct_key=$(find "$lg/accounts" -name '*.key' | head -n 1)
acct_url=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"]["uri"])' "$acct_json")
keyroll() { /usr/bin/python3 "$(dirname "$0")/../protocol/keyroll.py" "$@" >>"$lg.out" 2>&1; }
check "lego: its account key is rolled over (old key refused afterwards)" \
	keyroll "$dir" "$root" "$acct_url" "$acct_key" || diag_file "$lg.out" 20
check "lego: renews with the new account key" lego_ renew --days 100000 --no-random-sleep || diag_file "$lg.out" 30
check "lego: that certificate verifies" valid_cert "$lcert" lg1.example.com lg2.example.com
last=$(serial_of "$lcert")
# lego revoke handles one certificate per --domains; the certificate is named by its first.
check "lego: revoke" env LEGO_CA_CERTIFICATES="$root" timeout -k 5 300 lego --server "$dir" \
	--email lego@example.org --domains lg1.example.com --path "$lg" revoke --reason 4 ||
	diag_file "$lg.out" 10
REVOKED+=("$last")

# --- the CRL ---
curl -sS --cacert "$root" -o "$TEST_TMP/crl.der" "https://localhost:$port/acme/default/crl"
check "the CRL verifies against the issuing CA" \
	openssl crl -inform DER -in "$TEST_TMP/crl.der" -CAfile "$chain" -noout -verify
crl_text=$(openssl crl -inform DER -in "$TEST_TMP/crl.der" -noout -text | tr 'A-Z' 'a-z')
missing=
for s in "${REVOKED[@]}"; do
	grep -q "serial number: $s" <<<"$crl_text" || missing="$missing $s"
done
check "the CRL lists the ${#REVOKED[@]} revoked serials" [ -z "$missing" ] || diag "missing:$missing"
check "the CRL has a number and a next update" bash -c \
	'grep -q "X509v3 CRL Number" <<<"$1" && grep -q "Next Update" <<<"$1"' _ "$(openssl crl -inform DER -in "$TEST_TMP/crl.der" -noout -text)"
done_testing
