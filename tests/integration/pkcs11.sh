#!/usr/bin/env bash
# shellcheck disable=SC2317  # the helper functions below run through check
# The issuing CA's key in a PKCS#11 token. A SoftHSM2 token is made in the
# temp directory, an EC P-256 key pair is generated inside it, and openssl
# (through the pkcs11 engine) makes a self-signed CA certificate with it.
# acme-admin init --import-ca/--import-key takes that CA (refusing a token
# key that does not match it); the stack runs behind nginx with
# SOFTHSM2_CONF in its environment, each FastCGI worker opening the token
# after fork; certbot gets a certificate, which verifies with the CA
# certificate alone, and revokes it, and the CRL (signed in the token too)
# verifies and lists it. The key never leaves the token: no CA key file in
# the state, the token object is non-extractable, and the PIN appears in no
# configuration or log. TAP.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

MODULE=/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
PIN=p1n-S3cret-7391     # distinctive, so that finding it in a log means something
NAMES=(hsm1.example.com hsm2.example.com)

plan 15
test_tmpdir
if [ ! -r "$MODULE" ] || ! need softhsm2-util pkcs11-tool openssl certbot pebble-challtestsrv \
	spawn-fcgi nginx curl python3; then
	done_testing
fi
admin=$(stack__build)/acme-admin
[ -x "$admin" ] || { diag "$admin not built"; done_testing; }

# --- the token ---
export SOFTHSM2_CONF=$TEST_TMP/softhsm2.conf
mkdir -p "$TEST_TMP/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$TEST_TMP" >"$SOFTHSM2_CONF"
# logged LOG CMD...: CMD with its output in LOG (not in the TAP stream).
logged() {
	local log=$1
	shift
	"$@" >"$log" 2>&1
}
p11() { timeout 30 pkcs11-tool --module "$MODULE" --login --pin "$PIN" "$@"; }
token() {
	timeout 30 softhsm2-util --init-token --free --label acme --pin "$PIN" --so-pin 5678 &&
		p11 --keypairgen --key-type EC:prime256v1 --label ca --id 01 &&
		p11 --keypairgen --key-type EC:prime256v1 --label other --id 02
}
check "a SoftHSM2 token with two EC P-256 key pairs generated inside it" \
	logged "$TEST_TMP/token.log" token || { diag_file "$TEST_TMP/token.log"; done_testing; }

uri="pkcs11:token=acme;object=ca;type=private"
cat >"$TEST_TMP/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3
[dn]
CN = acme-server HSM test CA
[v3]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
ca=$TEST_TMP/ca.pem
check "openssl signs a CA certificate with the token's key (pkcs11 engine)" \
	logged "$TEST_TMP/req.log" env PKCS11_MODULE_PATH="$MODULE" timeout 30 openssl req \
	-engine pkcs11 -keyform engine -key "$uri;pin-value=$PIN" -new -x509 -days 30 -sha256 \
	-config "$TEST_TMP/ca.cnf" -out "$ca" || { diag_file "$TEST_TMP/req.log"; done_testing; }

# --- acme-admin init ---
if ! { pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 &&
	pick_port port 14443; }; then
	not_ok "free ports"
	done_testing
fi
state=$TEST_TMP/state
# As root the workers run as the service user (stack__user): the state is
# laid out for it, and the token is its to read (softhsm keeps it in files).
as_user=()
pin_mode=600
if stack__user; then
	as_user=(--user "${STACK_USER-acme}")
	pin_mode=400
	chown -R "${STACK_USER-acme}:" "$TEST_TMP/tokens" "$SOFTHSM2_CONF"
	chmod o+x "$TEST_TMP"
fi
init() { # KEY-URI
	timeout 60 "$admin" init --state "$state" --base-url "https://localhost:$port" \
		--resolver "127.0.0.1:$dns" --http01-port "$h01" --allow-private \
		--import-ca "$ca" --import-key "$1" --pkcs11-module "$MODULE" "${as_user[@]}"
}
refused() {
	! init "pkcs11:token=acme;object=other;type=private;pin-value=$PIN" \
		>"$TEST_TMP/init-other.log" 2>&1 &&
		grep -q 'does not belong to the certificate' "$TEST_TMP/init-other.log" &&
		[ ! -e "$state/acme.conf" ]
}
check "init refuses a token key that does not match the certificate" refused ||
	diag_file "$TEST_TMP/init-other.log"
check "init --import-ca --import-key 'pkcs11:...;pin-value=...' --pkcs11-module" \
	logged "$TEST_TMP/init.log" init "$uri;pin-value=$PIN" ||
	{ diag_file "$TEST_TMP/init.log"; done_testing; }
conf_ok() {
	grep -qxF "ca_key = $uri" "$state/acme.conf" &&
		grep -qxF "pkcs11_module = $MODULE" "$state/acme.conf" &&
		grep -qxF "pkcs11_pin_file = ca/pkcs11.pin" "$state/acme.conf" &&
		[ "$(stat -c %a "$state/ca/pkcs11.pin")" = "$pin_mode" ] &&
		[ "$(cat "$state/ca/pkcs11.pin")" = "$PIN" ]
}
check "acme.conf names the key by its URI, the PIN moved to ca/pkcs11.pin (mode $pin_mode)" conf_ok ||
	diag_cmd grep -E '^(ca_|pkcs11)' "$state/acme.conf"
no_key_file() {
	local f
	[ ! -e "$state/ca/intermediate.key" ] && [ ! -e "$state/ca/root.key" ] || return 1
	# The only private key in the state is the web server's.
	f=$(grep -rl -- '-----BEGIN .*PRIVATE KEY-----' "$state" | sort | tr '\n' ' ')
	[ "$f" = "$state/tls/server.key " ] || { diag "private keys in the state: $f"; return 1; }
	cmp -s "$ca" "$state/ca/root.pem" && cmp -s "$ca" "$state/ca/intermediate.pem"
}
check "the state holds no CA key file; ca/root.pem and intermediate.pem are the imported CA" \
	no_key_file
check "the web server's certificate is signed by the token's key" \
	verifies "$ca" "$ca" "$state/tls/server.pem"

# --- the stack ---
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" ||
	{ not_ok "pebble-challtestsrv starts"; diag_file "$TEST_TMP/cts.err"; done_testing; }
if stack_start "$state" nginx "$port" >"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts on nginx (SOFTHSM2_CONF reaches acme-fcgi through spawn-fcgi)"
else
	not_ok "the stack starts on nginx (SOFTHSM2_CONF reaches acme-fcgi through spawn-fcgi)"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi

# --- certbot ---
dir="https://localhost:$port/acme/default/directory"
cb=$TEST_TMP/certbot
live=$cb/config/live/${NAMES[0]}
certbot_() {
	REQUESTS_CA_BUNDLE=$ca timeout -k 5 300 certbot "$@" --non-interactive \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" >>"$cb.out" 2>&1
}
check "certbot certonly (http-01) for two names" certbot_ certonly --standalone \
	--http-01-port "$h01" --http-01-address 127.0.0.1 --server "$dir" \
	-d "${NAMES[0]}" -d "${NAMES[1]}" --agree-tos -m test@example.org --no-eff-email ||
	diag_file "$cb.out" 40
check "openssl verify -CAfile ca.pem: the certificate verifies against the HSM CA" \
	diag_cmd_status openssl verify -CAfile "$ca" "$live/cert.pem"
check "the certificate names exactly ${NAMES[*]}" sans_are "$live/cert.pem" "${NAMES[@]}"
serial=$(openssl x509 -in "$live/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2 | tr 'A-F' 'a-f')
check "certbot revokes it" certbot_ revoke --server "$dir" --cert-path "$live/cert.pem" \
	--reason keycompromise --no-delete-after-revoke || diag_file "$cb.out" 40
crl_ok() {
	curl -sS --max-time 10 --cacert "$ca" -o "$TEST_TMP/crl.der" \
		"https://localhost:$port/acme/default/crl" &&
		openssl crl -inform DER -in "$TEST_TMP/crl.der" -CAfile "$ca" -noout -verify 2>&1 |
		grep -q 'verify OK' &&
		openssl crl -inform DER -in "$TEST_TMP/crl.der" -noout -text | tr '[:upper:]' '[:lower:]' |
		grep -q "serial number: $serial"
}
check "the CRL, signed in the token, verifies with ca.pem and lists the serial" crl_ok

# --- the key stayed in the token ---
# Each worker opened the token itself, after fork.
workers_loaded() {
	local n
	n=$(grep -h 'pkcs11: CA key .* loaded' "$state"/log/* 2>/dev/null |
		grep -o '\[[0-9]*\]' | sort -u | wc -l)
	[ "$n" -ge 2 ] || { diag "$n processes loaded the key"; return 1; }
}
check "every FastCGI worker (2) loaded the key in its own process" workers_loaded
sealed() {
	p11 --list-objects --type privkey 2>/dev/null >"$TEST_TMP/objects.txt" &&
		grep -q 'never extractable' "$TEST_TMP/objects.txt" &&
		grep -q 'sensitive' "$TEST_TMP/objects.txt" &&
		! grep -rqF -- "$PIN" "$state/acme.conf" "$state/log" "$TEST_TMP/stack.log" "$cb.out" \
			"$TEST_TMP/init.log" "$TEST_TMP/init-other.log"
}
check "the token key is sensitive and never extractable; the PIN is in no log or config" sealed ||
	diag_file "$TEST_TMP/objects.txt"

stack_stop "$state"
if [ "$TAP_FAILED" -gt 0 ]; then
	stack_logs "$state" 60 | sed 's/^/# /'
fi
done_testing
