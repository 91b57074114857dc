# Pebble as the upstream CA of tests/integration/ra.sh and tls_self.sh,
# sourced after lib.sh.
#
# pebble_start DIR PORT MGMT_PORT HTTP01_PORT TLSALPN_PORT DNS_PORT EAB_KID
# Starts Pebble on 127.0.0.1:PORT (management API on MGMT_PORT) with its
# own throw-away TLS CA (DIR/ca.pem, for the clients' trust), External
# Account Binding required with the one key id EAB_KID, whose base64url
# HMAC key goes into $pebble_eab_key, and pebble-challtestsrv on DNS_PORT
# as its DNS. Sets $pebble_pid (stopped at cleanup); log in DIR/pebble.log.
# 0 once it listens; else the log as diagnostics and 1.
pebble_start() {
	local pb=$1 port=$2 mgmt=$3 h01=$4 tlsport=$5 dns=$6 kid=$7
	mkdir -p "$pb"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=pebble-test-ca -keyout "$pb/ca.key" -out "$pb/ca.pem" >/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout "$pb/key.pem" -out "$pb/req.pem" >/dev/null 2>&1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$pb/ext"
	openssl x509 -req -in "$pb/req.pem" -CA "$pb/ca.pem" -CAkey "$pb/ca.key" -CAcreateserial \
		-days 2 -extfile "$pb/ext" -out "$pb/cert.pem" >/dev/null 2>&1
	pebble_eab_key=$(openssl rand 48 | base64 | tr '+/' '-_' | tr -d '=\n')
	cat >"$pb/config.json" <<EOC
{ "pebble": {
    "listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mgmt",
    "certificate": "$pb/cert.pem", "privateKey": "$pb/key.pem",
    "httpPort": $h01, "tlsPort": $tlsport, "ocspResponderURL": "",
    "externalAccountBindingRequired": true,
    "externalAccountMACKeys": { "$kid": "$pebble_eab_key" } } }
EOC
	PEBBLE_VA_NOSLEEP=1 pebble -config "$pb/config.json" -dnsserver "127.0.0.1:$dns" \
		>"$pb/pebble.log" 2>&1 &
	pebble_pid=$!
	at_cleanup kill "$pebble_pid"
	if wait_port 127.0.0.1 "$port" 20 && wait_port 127.0.0.1 "$mgmt" 20; then
		return 0
	fi
	diag_file "$pb/pebble.log"
	return 1
}

# pebble_issued DIR: how many certificates Pebble has issued.
pebble_issued() {
	grep -c 'Issued certificate serial' "$1/pebble.log"
}

# pebble_revoked DIR MGMT_PORT SERIAL: 0 once Pebble's management API says
# the certificate (hex serial) is revoked, within 20 s; else what it says as
# diagnostics and 1.
pebble_revoked() {
	local i
	for i in $(seq 100); do
		curl -sk "https://127.0.0.1:$2/cert-status-by-serial/$3" | grep -qi '"Status": *"Revoked"' &&
			return 0
		sleep 0.2
	done
	curl -sk "https://127.0.0.1:$2/cert-status-by-serial/$3" | sed 's/^/# /'
	return 1
}
