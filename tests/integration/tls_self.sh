#!/usr/bin/env bash
# Self-service TLS: the validator daemon obtains the web server's own
# certificate (tls/server.pem and .key) from an ACME CA and reloads the web
# server. The CA is Pebble with External Account Binding required,
# pebble-challtestsrv its DNS, dns-01 answered through the hook
# tests/integration/ra/dns-hook. Checked: the stack starts with the
# certificate acme-admin init made; the daemon replaces it with one from
# Pebble for tls_names with a new key of tls_key_type (mode 0600, the owner
# of the key it replaced); the reload command ran (no shell: its argument
# arrives as written) and nginx then serves the new certificate; an audit
# line records the renewal; a restarted daemon finds the certificate good
# and orders none; a DNS hook that fails is logged as a failure and retried
# by the backoff without touching the files; once the hook works again, the
# daemon killed with SIGKILL in the middle of the renewal resumes the same
# upstream order after a restart and gets the certificate for the new names.
#
# The daemon runs as root here (STACK_USER=): the reload signals nginx's
# master, which runs as root (docs/configuration.md, self-service TLS).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 24
test_tmpdir
need pebble pebble-challtestsrv spawn-fcgi nginx openssl curl || done_testing
[ "$(id -u)" -eq 0 ] || { ok "# SKIP needs root (the reload signals nginx's master)"; done_testing; }
export STACK_USER=
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 &&
	pick_port pport 14000 && pick_port pmgmt 15000 && pick_port ptls 5001 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
pb=$TEST_TMP/pebble
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
log=$state/log/acme.log

# --- Pebble, EAB required ---
# shellcheck source=tests/integration/ra/pebble.sh
. "$LIB_DIR/ra/pebble.sh"
pebble_start "$pb" "$pport" "$pmgmt" "$h01" "$ptls" "$dns" kid-tls ||
	{ not_ok "pebble listens on 127.0.0.1:$pport"; done_testing; }
eab_key=$pebble_eab_key
issued() { pebble_issued "$pb"; }

# --- the stack, with self-service TLS from Pebble ---
secret() { (umask 077; printf '%s\n' "$2" >"$1"); }
secret "$TEST_TMP/eab.key" "$eab_key"
secret "$TEST_TMP/pass" "correct horse battery staple"
mkdir -p "$TEST_TMP/hook"
export RA_CTS_MGMT=$mgmt RA_HOOK_HOLD=$TEST_TMP/hook/hold RA_HOOK_LOG=$TEST_TMP/hook/log
# The reload command: records how it was called, then reloads nginx.
cat >"$TEST_TMP/reload-nginx" <<EOS
#!/bin/sh
echo "reload \$*" >>"$TEST_TMP/reload.log"
exec nginx -p "$state/run/" -e "$state/log/nginx-error.log" -c "$state/run/nginx.conf" -s reload
EOS
cat >"$TEST_TMP/bad-hook" <<'EOS'
#!/bin/sh
echo "bad-hook: the DNS provider said no" >&2
exit 3
EOS
chmod 755 "$TEST_TMP/reload-nginx" "$TEST_TMP/bad-hook"
want_names="localhost tls-self.example.com"
: >"$RA_HOOK_HOLD"          # the renewal waits in the hook until the stack is up
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" >"$TEST_TMP/stack.log" 2>&1; then
	cat >"$TEST_TMP/tls.conf" <<EOC
tls_acme_url = https://127.0.0.1:$pport/dir
tls_names = $want_names
tls_ca_file = $pb/ca.pem
tls_eab_kid = kid-tls
tls_eab_hmac_file = $TEST_TMP/eab.key
tls_passphrase_file = $TEST_TMP/pass
tls_dns_hook = $LIB_DIR/ra/dns-hook
tls_key_type = p384
tls_reload_command = $TEST_TMP/reload-nginx renewed
tls_timeout = 5s
tls_retry_base = 1s
tls_retry_cap = 3s
lease = 5s
EOC
	# Global settings go before the first section.
	sed -i "/^base_url = /r $TEST_TMP/tls.conf" "$state/acme.conf"
	# The key is someone else's: the new one must be theirs too.
	chown nobody "$state/tls/server.key"
fi
init_fp=$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256 2>/dev/null)
if stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts with self-service TLS configured"
else
	not_ok "the stack starts with self-service TLS configured"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
served_fp() {
	openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
check "nginx serves the certificate acme-admin init made" [ "$(served_fp)" = "$init_fp" ]
wait_for() { # TRIES CMD...: CMD every 0.2 s until it succeeds
	local n=$1 i
	shift
	for i in $(seq "$n"); do "$@" && return 0; sleep 0.2; done
	return 1
}
# The daemon may log it just after the directory answers (under valgrind,
# seconds after).
check "the daemon found it does not name exactly tls_names and queued a renewal" \
	wait_for 300 grep -q "self-service TLS: the certificate in .* does not name exactly tls_names: renewal queued" "$log"
rm -f "$RA_HOOK_HOLD"
replaced() { [ "$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256 2>/dev/null)" != "$init_fp" ]; }
check "the daemon replaces tls/server.pem" wait_for 300 replaced
curl -sk "https://127.0.0.1:$pmgmt/roots/0" >"$TEST_TMP/pebble-root.pem"
awk '/BEGIN/{n++} n>1' "$state/tls/server.pem" >"$TEST_TMP/chain.pem"
check "the new certificate chains to Pebble's root and names tls_names" bash -c \
	'openssl verify -CAfile "$1" -untrusted "$2" "$3" >/dev/null && [ -s "$2" ]' _ \
	"$TEST_TMP/pebble-root.pem" "$TEST_TMP/chain.pem" "$state/tls/server.pem"
# shellcheck disable=SC2086
check "... for exactly tls_names" sans_are "$state/tls/server.pem" $want_names
key_ok() {
	[ "$(stat -c '%a %U' "$state/tls/server.key")" = "600 nobody" ] &&
		openssl pkey -in "$state/tls/server.key" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-384' &&
		[ "$(openssl pkey -in "$state/tls/server.key" -pubout 2>/dev/null | sha256sum)" = \
			"$(openssl x509 -in "$state/tls/server.pem" -noout -pubkey | sha256sum)" ]
}
check "the new key is P-384, mode 0600, owned by the old key's owner, and the certificate's" key_ok
check "the reload command ran once, with its argument" wait_for 100 bash -c \
	'[ "$(cat "$1" 2>/dev/null)" = "reload renewed" ]' _ "$TEST_TMP/reload.log"
new_fp=$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256)
serves_new() { [ "$(served_fp)" = "$new_fp" ]; }
check "nginx serves the new certificate" wait_for 100 serves_new
check "the renewal is in the audit log" grep -q '"event":"tls.renew".*"tls-self.example.com"' \
	"$state/log/audit.log"
check "Pebble issued one certificate" [ "$(issued)" -eq 1 ]
self_account() {
	local adm
	adm=$(stack__build)/acme-admin
	"$adm" -c "$state/acme.conf" --json upstream show | /usr/bin/python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["directory"] == "self-tls"]
sys.exit(0 if len(rows) == 1 and rows[0]["account"].startswith("https://") else 1)' &&
		"$adm" -c "$state/acme.conf" upstream check --directory self-tls >/dev/null
}
check "acme-admin upstream show lists the self-tls account, and its key decrypts" self_account

# --- a restart with a fresh certificate orders nothing ---
goods() { grep -c "self-service TLS: the certificate in .* is good" "$log"; }
goods_before=$(goods)
more_goods() { [ "$(goods)" -gt "$goods_before" ]; }
stack_component_stop "$state" acme-validator
stack_component_start "$state" acme-validator
check "the restarted daemon finds the certificate good" wait_for 100 more_goods
sleep 2
check "... and orders none" [ "$(issued)" -eq 1 ]
check "... and leaves the files alone" [ "$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256)" = "$new_fp" ]

# --- a failing DNS hook: a logged failure, retried, the files untouched ---
key_sum=$(sha256sum <"$state/tls/server.key")
sed -i "s|^tls_dns_hook = .*|tls_dns_hook = $TEST_TMP/bad-hook|; s|^tls_names = .*|tls_names = $want_names www.tls-self.example.com|" \
	"$state/acme.conf"
failures() { grep -c "self-service TLS: renewing the certificate for .* failed: .*bad-hook: the DNS provider said no" "$log"; }
two_failures() { [ "$(failures)" -ge 2 ]; }
check "a failing hook is logged as a failed renewal, and retried" wait_for 150 two_failures
check "the retries are the job's backoff" grep -q "job tls-server (tls_renew): attempt 1 failed, again in" "$log"
files_untouched() {
	[ "$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256)" = "$new_fp" ] &&
		[ "$(sha256sum <"$state/tls/server.key")" = "$key_sum" ] &&
		[ "$(wc -l <"$TEST_TMP/reload.log")" -eq 1 ] &&
		! ls "$state"/tls/*.new-* >/dev/null 2>&1
}
check "the files were not touched and no reload ran" files_untouched

# --- the hook works again, and the daemon is killed in the middle ---
# The next retry holds in the hook; the daemon is killed with SIGKILL there
# and started again: it resumes the same upstream order with the same key
# (sealed in the job), and Pebble issues one certificate for it.
before=$(issued)
order_before=$(grep -o 'job tls-server: upstream order https://[^ ]*' "$log" | tail -n 1)
order_before=${order_before#job tls-server: upstream order }
: >"$RA_HOOK_HOLD"
rm -f "$RA_HOOK_HOLD.seen"
sed -i "s|^tls_dns_hook = .*|tls_dns_hook = $LIB_DIR/ra/dns-hook|" "$state/acme.conf"
killed=0
if wait_for 300 test -e "$RA_HOOK_HOLD.seen" && vpid=$(stack_pid "$state" acme-validator) &&
	kill -KILL "$vpid"; then
	wait "$vpid" 2>/dev/null
	killed=1
fi
rm -f "$RA_HOOK_HOLD"
stack_component_start "$state" acme-validator
check "the daemon was killed while the renewal's hook held, and restarted" [ "$killed" = 1 ]
three_names() { sans_are "$state/tls/server.pem" $want_names www.tls-self.example.com >/dev/null 2>&1; }
check "the restarted daemon gets the certificate for the new names" wait_for 300 three_names
resumed() {
	[ -n "$order_before" ] && grep -qF "resuming upstream order $order_before" "$log" &&
		grep -q "job tls-server (tls_renew) started, attempt [0-9]*, resuming" "$log"
}
check "... resuming the same upstream order" resumed
check "... of which Pebble issued one certificate" [ "$(($(issued) - before))" -eq 1 ]
check "... and reloads nginx again" wait_for 100 bash -c '[ "$(wc -l <"$1")" -eq 2 ]' _ "$TEST_TMP/reload.log"
new_fp=$(openssl x509 -in "$state/tls/server.pem" -noout -fingerprint -sha256)
check "nginx serves it" wait_for 100 serves_new

if [ "$TAP_FAILED" -gt 0 ]; then
	diag_file "$log" 60
	diag_file "$pb/pebble.log" 30
	diag_file "$RA_HOOK_LOG" 20
fi
done_testing
