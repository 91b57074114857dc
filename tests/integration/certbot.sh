#!/usr/bin/env bash
# certbot (standalone http-01) gets one certificate for two names, through
# nginx and then lighttpd, with pebble-challtestsrv as the validation
# resolver. TAP; see issue_matrix in lib.sh for the checks.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2317  # called by issue_matrix
run_certbot() { # WEB DIR_URL ROOT WORKDIR H01
	local dir=$2 root=$3 work=$4 h01=$5 cb=$4/certbot
	local -a names=()
	local n
	for n in "${ISSUE_NAMES[@]}"; do
		names+=(-d "$n")
	done
	mkdir -p "$cb"
	CLIENT_LOG=$cb/logs/letsencrypt.log
	ISSUED_CERT=$cb/config/live/${ISSUE_NAMES[0]}/cert.pem
	ISSUED_CHAIN=$cb/config/live/${ISSUE_NAMES[0]}/chain.pem
	REQUESTS_CA_BUNDLE=$root timeout -k 5 300 certbot certonly --standalone \
		--http-01-port "$h01" --http-01-address 127.0.0.1 \
		--server "$dir" "${names[@]}" \
		--agree-tos -m test@example.org --no-eff-email --non-interactive \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
		>"$work/certbot.out" 2>&1
	local rc=$?
	[ "$rc" -eq 0 ] || diag_file "$work/certbot.out" 40
	return "$rc"
}

issue_matrix certbot run_certbot
