#!/usr/bin/env bash
# External Account Binding with real clients, and a directory added by a
# graceful reload under load. A directory "eab" that requires a binding is
# added to a running stack (config change + SIGHUP to acme-fcgi) while a
# client loop keeps requesting: no request fails. Then certbot and lego
# register with --eab-kid/--eab-hmac-key (--eab --kid --hmac) and obtain a
# certificate; without a binding they are refused; a one-time key works once.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 13
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
base="https://localhost:$port"
root=$state/ca/root.pem
admin() { "$(stack__build)/acme-admin" -c "$state/acme.conf" "$@"; }
fails() { ! "$@"; }

# A load that must see no failure across the reload: nonces and directory
# fetches from 4 threads, counted by status.
cat >"$TEST_TMP/load.py" <<'EOP'
import sys, threading, time, requests
base, ca, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
counts, lock = {}, threading.Lock()
def run():
    s = requests.Session(); s.verify = ca; s.trust_env = False
    end = time.time() + seconds
    while time.time() < end:
        for url, m in ((base + "/acme/default/new-nonce", "HEAD"), (base + "/acme/default/directory", "GET")):
            try:
                code = s.request(m, url, timeout=10).status_code
            except Exception as e:
                code = type(e).__name__
            with lock:
                counts[code] = counts.get(code, 0) + 1
ts = [threading.Thread(target=run) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(" ".join("%s=%s" % kv for kv in sorted(counts.items(), key=str)))
bad = sum(v for k, v in counts.items() if k not in (200, 204))
sys.exit(1 if bad else 0)
EOP
/usr/bin/python3 "$TEST_TMP/load.py" "$base" "$root" 8 >"$TEST_TMP/load.out" 2>&1 &
load=$!
sleep 2
cat >>"$state/acme.conf" <<EOC

[directory eab]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
external_account_required = yes
allow_private = yes
EOC
kill -HUP "$(cat "$state/run/stack-acme-fcgi.pid")"
# The workers are replaced one at a time: wait until every one serves it.
deadline=$((SECONDS + 20))
good=0
while [ "$good" -lt 10 ] && [ $SECONDS -lt $deadline ]; do
	if curl -sf --cacert "$root" -o /dev/null "$base/acme/eab/directory"; then
		good=$((good + 1))
	else
		good=0
		sleep 0.2
	fi
done
check "the added directory answers after a graceful reload" curl -sf --cacert "$root" -o /dev/null \
	"$base/acme/eab/directory"
wait "$load"
rc=$?
diag "load: $(cat "$TEST_TMP/load.out")"
check "no request failed across the reload" [ "$rc" -eq 0 ]
check "meta.externalAccountRequired is true" bash -c \
	'curl -sf --cacert "$1" "$2/acme/eab/directory" | grep -q "\"externalAccountRequired\":true"' _ "$root" "$base"

dir="$base/acme/eab/directory"
kid_of() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }
cb=$TEST_TMP/certbot
certbot_() {
	REQUESTS_CA_BUNDLE=$root timeout -k 5 300 certbot "$@" --non-interactive --server "$dir" \
		--config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" >>"$cb.out" 2>&1
}
check "certbot without a binding is refused" fails certbot_ register --agree-tos -m a@example.org
check "certbot said externalAccountRequired" grep -q "externalAccountRequired\|external account" "$cb.out"
key=$(admin eab new --directory eab --json) || not_ok "acme-admin eab new"
kid=$(kid_of kid <<<"$key")
hmac=$(kid_of hmac_key <<<"$key")
secret_note "$hmac"
check "certbot registers with --eab-kid/--eab-hmac-key" certbot_ register --agree-tos -m a@example.org \
	--eab-kid="$kid" --eab-hmac-key="$hmac"
check "certbot obtains a certificate through the bound account" certbot_ certonly --standalone \
	--http-01-port "$h01" --http-01-address 127.0.0.1 -d eab1.example.com
check "that certificate verifies" verifies "$root" "$state/ca/intermediate.pem" \
	"$cb/config/live/eab1.example.com/cert.pem"

lg=$TEST_TMP/lego
lego_() {
	LEGO_CA_CERTIFICATES=$root timeout -k 5 300 lego --server "$dir" --email l@example.org --accept-tos \
		--domains eab2.example.com --http --http.port "127.0.0.1:$h01" --path "$lg" "$@" run >>"$lg.out" 2>&1
}
check "lego with the certbot's (now used) one-time key is refused" fails lego_ --eab --kid="$kid" --hmac="$hmac"
check "lego was told the key was already used" grep -q "already used" "$lg.out"
key=$(admin eab new --directory eab --json)
kid=$(kid_of kid <<<"$key")
hmac=$(kid_of hmac_key <<<"$key")
secret_note "$hmac"
rm -rf "$lg"
check "lego registers with --eab --kid --hmac and obtains a certificate" lego_ --eab --kid="$kid" --hmac="$hmac"
bound() { # KID: eab list --json shows it used by an account, and holds no key
	local out
	out=$(admin eab list --directory eab --json) || return 1
	! grep -qF -- "$hmac" <<<"$out" && ! grep -qi '"hmac' <<<"$out" &&
		/usr/bin/python3 -c 'import json,sys
keys = {k["kid"]: k for k in json.load(sys.stdin)}
k = keys[sys.argv[1]]
sys.exit(0 if k["uses"] >= 1 and k["account"] else 1)' "$1" <<<"$out"
}
check "eab list shows lego's key bound to an account, and no key material" bound "$kid"
[ "$TAP_FAILED" -eq 0 ] || { diag_file "$cb.out" 20; diag_file "$lg.out" 20; }
done_testing
