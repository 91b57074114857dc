#!/usr/bin/env bash
# RA mode against a real upstream: Pebble with External Account Binding
# required, pebble-challtestsrv as the DNS of everyone (our validator,
# Pebble's VA, the dns-01 hook of the RA). Our RA directory validates
# certbot and lego itself (http-01), then obtains their certificates from
# Pebble (dns-01 through tests/integration/ra/dns-hook). Checked: the
# certificates chain to Pebble's root; a client's revocation and an
# operator's (acme-admin certs revoke) reach Pebble; the
# validator killed with SIGKILL in the middle of an upstream job (while the
# hook holds) and started again finishes the same upstream order, with
# exactly one certificate from Pebble; a wrong EAB key gives the client the
# upstream's problem as a subproblem; the stored account key is sealed; a
# requested notAfter is forwarded to Pebble where the directory says so,
# and refused at newOrder where it does not.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 25
test_tmpdir
need pebble pebble-challtestsrv certbot lego spawn-fcgi nginx openssl curl /usr/bin/python3 ||
	done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 &&
	pick_port pport 14000 && pick_port pmgmt 15000 || { not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
pb=$TEST_TMP/pebble
mkdir -p "$pb"
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
admin() { "$(stack__build)/acme-admin" -c "$state/acme.conf" "$@"; }
fails() { ! "$@"; }

# --- Pebble: its own TLS certificate (a throw-away CA), EAB required ---
# shellcheck source=tests/integration/ra/pebble.sh
. "$LIB_DIR/ra/pebble.sh"
if pebble_start "$pb" "$pport" "$pmgmt" "$h01" 5001 "$dns" kid-ra; then
	ok "pebble (EAB required) listens on 127.0.0.1:$pport"
else
	not_ok "pebble (EAB required) listens on 127.0.0.1:$pport"
	done_testing
fi
eab_key=$pebble_eab_key
issued() { pebble_issued "$pb"; }

# --- our stack with two RA directories: ra (the right EAB key) and rabad ---
# Secret files: only their owner may read them, and the owner is the
# validator's user when the stack drops to one (scripts/stack.sh).
secret() {
	(umask 077; printf '%s\n' "$2" >"$1")
	if stack__vuser; then chown "${STACK_VALIDATOR_USER:-acme-validator}" "$1"; fi
}
mkdir -p "$state"
secret "$TEST_TMP/eab.key" "$eab_key"
secret "$TEST_TMP/eab-wrong.key" "$(openssl rand 48 | base64 | tr '+/' '-_' | tr -d '=\n')"
secret "$TEST_TMP/pass" "correct horse battery staple"
secret "$TEST_TMP/pass-wrong" "not the passphrase"
# The hook runs as the validator's user: its scratch files go where it may write.
mkdir -p "$TEST_TMP/hook" && chmod 1777 "$TEST_TMP/hook"
export RA_CTS_MGMT=$mgmt RA_HOOK_HOLD=$TEST_TMP/hook/hold RA_HOOK_LOG=$TEST_TMP/hook/log
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1; then
	# Short leases: a killed validator's job is taken up again within seconds.
	sed -i 's/^base_url = .*/&\nlease = 5s/' "$state/acme.conf"
	for d in ra rabad; do
		key=$TEST_TMP/eab.key
		[ "$d" = rabad ] && key=$TEST_TMP/eab-wrong.key
		cat >>"$state/acme.conf" <<EOC

[directory $d]
mode = ra
upstream_url = https://127.0.0.1:$pport/dir
upstream_contact = mailto:ra@example.org
upstream_eab_kid = kid-ra
upstream_eab_hmac_file = $key
upstream_key_type = p256
upstream_ca_file = $pb/ca.pem
upstream_timeout = 5s
upstream_passphrase_file = $TEST_TMP/pass
upstream_dns_hook = $LIB_DIR/ra/dns-hook
upstream_retry_base = 1s
upstream_retry_cap = 5s
upstream_deadline = 10m
allow_private = yes
cert_keys = rsa p256 p384
EOC
		# Pebble honours notBefore/notAfter: ra forwards them, rabad refuses them.
		if [ "$d" = ra ]; then echo "upstream_forward_validity = yes" >>"$state/acme.conf"; fi
	done
fi
if stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts with RA directories"
else
	not_ok "the stack starts with RA directories"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
base="https://localhost:$port"
root=$state/ca/root.pem
dir="$base/acme/ra/directory"
check "meta.upstream names the upstream directory" bash -c \
	'curl -sf --cacert "$1" "$2" | grep -q "\"upstream\":\"https://127.0.0.1:$3/dir\""' _ "$root" "$dir" "$pport"
check "the RA directory has no CRL of its own (404)" bash -c \
	'[ "$(curl -s -o /dev/null -w %{http_code} --cacert "$1" "$2/acme/ra/crl")" = 404 ]' _ "$root" "$base"
curl -sk "https://127.0.0.1:$pmgmt/roots/0" >"$TEST_TMP/pebble-root.pem"
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
# A certificate and its chain verify up to Pebble's root.
pebble_verifies() { verifies "$TEST_TMP/pebble-root.pem" "$1" "$2"; }

# --- certbot ---
cb=$TEST_TMP/certbot
certbot_() {
	REQUESTS_CA_BUNDLE=$root timeout -k 5 300 certbot "$@" --non-interactive \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" >>"$cb.out" 2>&1
}
before=$(issued)
check "certbot obtains a certificate through the RA" certbot_ certonly --standalone \
	--http-01-port "$h01" --http-01-address 127.0.0.1 --server "$dir" -d ra1.example.com \
	-d ra2.example.com --agree-tos -m cb@example.org --no-eff-email || diag_file "$cb.out" 30
live=$cb/config/live/ra1.example.com
cb_cert_ok() { pebble_verifies "$live/chain.pem" "$live/cert.pem" && sans_are "$live/cert.pem" ra1.example.com ra2.example.com; }
check "certbot's certificate chains to Pebble's root and names both" cb_cert_ok
check "Pebble issued exactly one certificate for it" [ "$(($(issued) - before))" -eq 1 ]
rserial=$(serial_of "$live/cert.pem")
check "certbot revokes it through the RA" certbot_ revoke --server "$dir" --cert-path "$live/cert.pem" \
	--reason keycompromise --no-delete-after-revoke || diag_file "$cb.out" 30
check "the revocation reached Pebble" pebble_revoked "$pb" "$pmgmt" "$rserial"

# --- lego ---
lg=$TEST_TMP/lego
lego_() {
	LEGO_CA_CERTIFICATES=$root timeout -k 5 300 lego --server "$dir" --email lego@example.org \
		--accept-tos --http --http.port "127.0.0.1:$h01" --path "$lg" "$@" >>"$lg.out" 2>&1
}
before=$(issued)
check "lego obtains a certificate through the RA" lego_ --domains lg.example.com run || diag_file "$lg.out" 30
lc=$lg/certificates/lg.example.com
check "lego's certificate chains to Pebble's root" bash -c \
	'awk "/BEGIN/{n++} n>1" "$1.crt" >"$1.chain" && openssl verify -CAfile "$2" -untrusted "$1.chain" "$1.crt" >/dev/null' \
	_ "$lc" "$TEST_TMP/pebble-root.pem"
check "Pebble issued exactly one certificate for it" [ "$(($(issued) - before))" -eq 1 ]

# --- a requested validity: forwarded to Pebble, or refused at newOrder ---
validity() {
	PROTO="$LIB_DIR/../protocol" timeout -k 5 300 /usr/bin/python3 "$LIB_DIR/ra/validity.py" "$@"
}
check "an order with notAfter through the RA gets a certificate from Pebble that ends then" \
	validity forward "$dir" "$root" "$h01"
check "an RA directory without upstream_forward_validity refuses notAfter at newOrder (malformed)" \
	validity refuse "$base/acme/rabad/directory" "$root"

# --- an operator's revocation (acme-admin) reaches Pebble like a client's ---
# The store keys certificates by the serial's DER content bytes: a leading
# 00 where the high bit is set, which openssl leaves out.
lserial=$(serial_of "$lc.crt")
case $lserial in [89a-f]*) store_serial=00$lserial ;; *) store_serial=$lserial ;; esac
admin_revokes() {
	admin --json certs revoke --reason 4 "$store_serial" >"$TEST_TMP/revoke.json" 2>&1 &&
		grep -q '"upstream_revocation": *"queued"' "$TEST_TMP/revoke.json" ||
		{ sed 's/^/# /' "$TEST_TMP/revoke.json"; return 1; }
}
check "acme-admin certs revoke of lego's certificate queues the upstream revocation" admin_revokes
check "the operator's revocation reached Pebble" pebble_revoked "$pb" "$pmgmt" "$lserial"
check "a second acme-admin revocation is refused (already revoked)" fails admin certs revoke "$store_serial"

# --- a wrong EAB key at the upstream: the client hears why ---
cbb=$TEST_TMP/certbot-bad
check "certbot through an RA with a wrong upstream EAB key fails" fails env REQUESTS_CA_BUNDLE="$root" \
	timeout -k 5 300 certbot certonly --non-interactive --config-dir "$cbb/config" --work-dir "$cbb/work" \
	--logs-dir "$cbb/logs" --standalone --http-01-port "$h01" --http-01-address 127.0.0.1 \
	--server "$base/acme/rabad/directory" -d bad.example.com --agree-tos -m cb@example.org --no-eff-email
check "the order is invalid with the upstream's problem as a subproblem" bash -c \
	'grep -q "refused to create this RA.s account" "$1" && grep -q "subproblems" "$1"' _ "$cbb/logs/letsencrypt.log"

# --- SIGKILL of the validator in the middle of an upstream job ---
# The kill makes the next store open run recovery, which restarts the
# FastCGI workers: a client request in flight then may get a 503, which
# certbot does not retry. So certbot is not judged here; the order is,
# through acme-admin.
before=$(issued)
: >"$RA_HOOK_HOLD"
rm -f "$RA_HOOK_HOLD.seen"
certbot_ certonly --standalone --http-01-port "$h01" --http-01-address 127.0.0.1 --server "$dir" \
	-d crash.example.com --agree-tos -m cb@example.org --no-eff-email &
cbpid=$!
for i in $(seq 300); do [ -e "$RA_HOOK_HOLD.seen" ] && break; sleep 0.1; done
vpid=$(stack_pid "$state" acme-validator)
order_before= our_order=
if [ -e "$RA_HOOK_HOLD.seen" ] && [ -n "$vpid" ] && kill -KILL "$vpid"; then
	wait "$vpid" 2>/dev/null
	order_before=$(grep -o 'upstream order https://[^ ]*' "$state/log/acme.log" | tail -n 1)
	our_order=$(grep -o 'job order-[A-Za-z0-9_-]* (upstream_order) started' "$state/log/acme.log" |
		tail -n 1 | sed 's/^job order-//; s/ .*//')
	rm -f "$RA_HOOK_HOLD"
	stack_component_start "$state" acme-validator
	ok "the validator was killed while the upstream job's DNS hook held, and restarted"
else
	rm -f "$RA_HOOK_HOLD"
	not_ok "the validator was killed while the upstream job's DNS hook held, and restarted"
fi
order_valid() {
	local i
	for i in $(seq 120); do
		[ "$(admin --json orders show -- "$our_order" 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null)" = valid ] &&
			return 0
		sleep 0.5
	done
	admin --json orders show -- "$our_order" 2>&1 | head -20 | sed 's/^/# /'
	return 1
}
check "the same order becomes valid after the restart" order_valid
check "the restarted validator resumed the same upstream order" \
	grep -q "resuming upstream order ${order_before#upstream order }" "$state/log/acme.log"
one_cert_for_order() {
	local up=${order_before##*/}
	[ "$(($(issued) - before))" -eq 1 ] && [ "$(grep -c "Issued certificate serial .* for order $up" "$pb/pebble.log")" -eq 1 ]
}
check "Pebble issued exactly one certificate for that order" one_cert_for_order
wait "$cbpid" 2>/dev/null

# --- the account key at rest ---
thumb=$(admin --json upstream show --directory ra | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["thumbprint"])')
check "the stored account key decrypts with the passphrase and matches its thumbprint" \
	bash -c '"$@" | grep -qF -- "$0"' "$thumb" "$(stack__build)/acme-admin" -c "$state/acme.conf" upstream check --directory ra
check "a wrong passphrase does not decrypt it, and the store holds no plain key" bash -c \
	'! "$1" -c "$2" upstream check --directory ra --passphrase-file "$3" 2>/dev/null &&
	 ! grep -qa "PRIVATE KEY" "$4"/db/upstream.db' _ "$(stack__build)/acme-admin" "$state/acme.conf" \
	"$TEST_TMP/pass-wrong" "$state"
if [ "$TAP_FAILED" -gt 0 ]; then
	diag_file "$state/log/acme.log" 60
	diag_file "$pb/pebble.log" 30
	diag_file "$RA_HOOK_LOG" 20
fi
done_testing
