#!/usr/bin/env bash
# lego (http-01) gets one certificate for two names, through nginx and then
# lighttpd, with pebble-challtestsrv as the validation resolver. TAP; see
# issue_matrix in lib.sh for the checks.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2317  # called by issue_matrix
run_lego() { # WEB DIR_URL ROOT WORKDIR H01
	local dir=$2 root=$3 work=$4 h01=$5 path=$4/lego
	local -a names=()
	local n
	for n in "${ISSUE_NAMES[@]}"; do
		names+=(--domains "$n")
	done
	CLIENT_LOG=$work/lego.out
	ISSUED_CERT=$path/certificates/${ISSUE_NAMES[0]}.crt
	ISSUED_CHAIN=$path/certificates/${ISSUE_NAMES[0]}.issuer.crt
	LEGO_CA_CERTIFICATES=$root timeout -k 5 300 lego --server "$dir" \
		--email test@example.org --accept-tos "${names[@]}" \
		--http --http.port "127.0.0.1:$h01" --path "$path" run \
		>"$CLIENT_LOG" 2>&1
}

issue_matrix lego run_lego
