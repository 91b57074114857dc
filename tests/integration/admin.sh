#!/usr/bin/env bash
# acme-admin against the real stack (nginx, acme-fcgi, acme-validator):
# certbot and the protocol suite's Python client issue certificates, then
# every command is checked against what the clients see: accounts, orders
# and certificates listed (text and JSON), an account deactivated (its
# client is refused, its pending order cancelled), a certificate revoked
# (the served CRL lists it), EAB keys (listings never show the key), stats,
# cleanup, rate-limit overrides, and a hot backup taken while a client
# issues certificates, restored into a fresh state directory that verifies,
# holds every certificate listed before the backup, and that the server
# then runs from.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 74
test_tmpdir
need certbot pebble-challtestsrv spawn-fcgi nginx openssl curl /usr/bin/python3 || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
# "short": orders and authorizations that expire at once, and an orders
# limit whose state expires as quickly, for cleanup to find.
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 &&
	printf '\n[directory short]\nca_cert = ca/intermediate.pem\nca_key = ca/intermediate.key\norder_lifetime = 10s\nauthz_lifetime = 10s\nallow_private = yes\nrate_orders_per_account = 100/2s\n' >>"$state/acme.conf" &&
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
ADMIN=$(stack__build)/acme-admin
export ACME_CONFIG=$state/acme.conf
out=$TEST_TMP/out
err=$TEST_TMP/err

# adm ARGS...: acme-admin with stdout in $out, stderr in $err; its status.
adm() {
	timeout -k 5 120 "$ADMIN" "$@" >"$out" 2>"$err"
}
# adm_rc WANT ARGS...: acme-admin exits WANT (stderr shown when not).
adm_rc() {
	local want=$1 rc
	shift
	adm "$@"
	rc=$?
	[ "$rc" -eq "$want" ] && return 0
	diag "acme-admin $* exited $rc, want $want"
	diag_file "$err" 20
	return 1
}
# jq_ PYTHON-EXPR: evaluate EXPR with j = the JSON in $out; exit 0 if true.
jq_() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print("# false: " + sys.argv[2])
    print("# " + json.dumps(j)[:1500])
sys.exit(0 if ok else 1)' "$out" "$1"
}
# jv PYTHON-EXPR: print EXPR with j = the JSON in $out.
jv() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print("\n".join(r) if isinstance(r, list) else r)' "$out" "$1"
}

# --- a client: the protocol suite's, driven by a small script -------------
client=$TEST_TMP/client.py
cat >"$client" <<'PY'
"""Clients for tests/integration/admin.sh.

issue WORK N PREFIX   new account, N certificates (PREFIXi.example.com), then one
                      order left pending; WORK/account.json records it all
probe WORK            the account's next request: prints "STATUS TYPE"
short WORK            (DIR: the "short" directory) two orders that expire at once
load WORK STOPFILE    issue certificates in a loop (a new account every 5) until
                      STOPFILE exists; each serial is appended to WORK/load.serials
"""
import json
import os
import sys

sys.path.insert(0, os.environ["PROTO"])
from acmeclient import Client, Http01Responder, Key, Problem, pem_certs  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

DIR, CA, H01 = os.environ["DIR"], os.environ["CA"], int(os.environ["H01"])


def serial_hex(pem):
    s = format(pem_certs(pem)[0].serial_number, "x")
    return "0" * (len(s) % 2) + s


def issue(work, n, prefix):
    c = Client(DIR, CA)
    c.new_account({"termsOfServiceAgreed": True, "contact": ["mailto:admin-test@example.org"]})
    responder = Http01Responder(H01)
    rec = {"account": c.kid, "id": c.kid.rsplit("/", 1)[1], "thumb": c.key.thumbprint(),
           "orders": [], "serials": [], "names": []}
    try:
        for i in range(n):
            name = "%s%d.example.com" % (prefix, i)
            url, order, pem = c.issue([name], responder)
            rec["orders"].append(url.rsplit("/", 1)[1])
            rec["serials"].append(serial_hex(pem))
            rec["names"].append(name)
    finally:
        responder.close()
    r = c.new_order(["%s-pending.example.com" % prefix])
    rec["pending"] = r.headers["Location"].rsplit("/", 1)[1]
    rec["key"] = c.key.priv.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()
    with open(os.path.join(work, "account.json"), "w") as f:
        json.dump(rec, f)
    print("\n".join(rec["serials"]))


def probe(work):
    rec = json.load(open(os.path.join(work, "account.json")))
    key = Key(priv=serialization.load_pem_private_key(rec["key"].encode(), None), kind="p256")
    c = Client(DIR, CA, key)
    c.kid = rec["account"]
    try:
        r = c.new_order(["after-deactivation.example.com"])
        print("%d ok" % r.status_code)
    except Problem as p:
        print("%d %s" % (p.status, p.short()))


def short(work):
    c = Client(DIR, CA)
    c.new_account({"termsOfServiceAgreed": True})
    for i in range(2):
        r = c.new_order(["short%d.example.com" % i])
        print(r.headers["Location"].rsplit("/", 1)[1])


def load(work, stop):
    responder = Http01Responder(H01)
    c, i = None, 0
    try:
        while not os.path.exists(stop):
            if i % 5 == 0:
                c = Client(DIR, CA)
                c.new_account({"termsOfServiceAgreed": True})
            url, order, pem = c.issue(["load%d.example.com" % i], responder)
            with open(os.path.join(work, "load.serials"), "a") as f:
                f.write(serial_hex(pem) + "\n")
            i += 1
    finally:
        responder.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "issue":
        issue(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "probe":
        probe(sys.argv[2])
    elif cmd == "short":
        short(sys.argv[2])
    elif cmd == "load":
        load(sys.argv[2], sys.argv[3])
PY
py() {
	PROTO="$(cd "$(dirname "$0")/../protocol" && pwd)" DIR=${PYDIR:-$dir} CA=$root H01=$h01 \
		timeout -k 5 300 /usr/bin/python3 "$client" "$@"
}

# --- orders that expire in 10 seconds, for cleanup ---------------------------
short=$(PYDIR="https://localhost:$port/acme/short/directory" py short "$TEST_TMP" 2>"$TEST_TMP/short.err" | tr '\n' ' ')
short_made=$SECONDS
check "two orders in the short directory" [ "$(echo $short | wc -w)" -eq 2 ] || diag_file "$TEST_TMP/short.err"

# --- certificates from two clients ------------------------------------------
cb=$TEST_TMP/certbot
check "certbot issues a certificate for two names" env REQUESTS_CA_BUNDLE="$root" timeout -k 5 300 \
	certbot certonly --non-interactive --config-dir "$cb/config" --work-dir "$cb/work" \
	--logs-dir "$cb/logs" --standalone --http-01-port "$h01" --http-01-address 127.0.0.1 \
	--server "$dir" -d cb1.example.com -d cb2.example.com --agree-tos -m cb@example.org \
	--no-eff-email >"$TEST_TMP/certbot.out" 2>&1 || diag_file "$TEST_TMP/certbot.out" 30
cb_serial=$(openssl x509 -in "$cb/config/live/cb1.example.com/cert.pem" -noout -serial 2>/dev/null |
	cut -d= -f2 | tr 'A-F' 'a-f')
pw=$TEST_TMP/py
mkdir -p "$pw"
check "the Python client issues two certificates and leaves an order pending" \
	py issue "$pw" 2 adm >"$TEST_TMP/py.out" 2>&1 || diag_file "$TEST_TMP/py.out" 30
acct() { /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); v=r[sys.argv[2]]; print("\n".join(v) if isinstance(v, list) else v)' "$pw/account.json" "$1"; }
B=$(acct id)
B_THUMB=$(acct thumb)
B_SERIALS=$(acct serials | tr '\n' ' ' | sed 's/ $//')
B_FIRST=${B_SERIALS%% *}
B_ORDER=$(acct orders | head -n 1)
B_PENDING=$(acct pending)
ALL_SERIALS="$cb_serial $B_SERIALS"

# --- accounts ----------------------------------------------------------------
check "accounts list (text) shows both accounts with a header" bash -c \
	'"$1" accounts list >"$2" && head -n 1 "$2" | grep -q "^ID .*THUMBPRINT" && grep -q -- "$3" "$2" &&
	[ "$(tail -n +2 "$2" | wc -l)" -ge 2 ]' _ "$ADMIN" "$out" "$B" || diag_file "$out"
adm accounts list --json
check "accounts list --json parses: the client's account, valid, its key, 3 orders" \
	jq_ "any(a['id'] == '$B' and a['status'] == 'valid' and a['thumbprint'] == '$B_THUMB' and a['orders'] == 3 and a['contacts'] == ['mailto:admin-test@example.org'] for a in j) and len(j) >= 2"
adm accounts show --json -- "$B"
check "accounts show: the account in full with its JWK" \
	jq_ "j['id'] == '$B' and j['key']['kty'] == 'EC' and j['key_version'] == 1"
check "accounts show of an unknown id exits 4" adm_rc 4 accounts show AAAAAAAAAAAAAAAAAAAAAA
check "accounts show of a malformed id exits 2" adm_rc 2 accounts show 'x/../y'

# --- orders ------------------------------------------------------------------
adm orders list --account "$B" --json
check "orders list --account: 2 valid orders and 1 pending, oldest first" \
	jq_ "sorted(o['status'] for o in j) == ['pending', 'valid', 'valid'] and [o['created'] for o in j] == sorted(o['created'] for o in j) and any(o['id'] == '$B_ORDER' and o['identifiers'] == ['adm0.example.com'] for o in j)"
adm orders show --json -- "$B_ORDER"
check "orders show: valid, its certificate, a valid authorization with its http-01 challenge" \
	jq_ "j['status'] == 'valid' and j['certificate'] == '$B_FIRST' and j['authorizations'][0]['status'] == 'valid' and any(c['type'] == 'http-01' and c['status'] == 'valid' for c in j['authorizations'][0]['challenges'])"
adm orders list
check "orders list (text) lists every order" bash -c '[ "$(tail -n +2 "$1" | wc -l)" -ge 4 ]' _ "$out"

# --- certificates ------------------------------------------------------------
adm certs list --json
check "certs list --json: every serial issued, with its names" \
	jq_ "all(s in [c['serial'] for c in j] for s in '$ALL_SERIALS'.split()) and any(c['serial'] == '$cb_serial' and sorted(c['names']) == ['cb1.example.com', 'cb2.example.com'] for c in j)"
adm certs list --account "$B" --json
check "certs list --account: exactly the Python client's two" \
	jq_ "sorted(c['serial'] for c in j) == sorted('$B_SERIALS'.split()) and all(c['status'] == 'valid' for c in j)"
check "certs show --pem prints the certificate that certbot holds" bash -c \
	'"$1" certs show "$2" --pem >"$3" && [ "$(openssl x509 -in "$3" -noout -fingerprint)" = "$(openssl x509 -in "$4" -noout -fingerprint)" ]' \
	_ "$ADMIN" "$(echo "$cb_serial" | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//')" "$out" \
	"$cb/config/live/cb1.example.com/cert.pem"
check "certs show of an unknown serial exits 4" adm_rc 4 certs show 00ff

# --- renewal ahead of time (ARI), as after an incident ------------------------
ari_of() {
	"$ADMIN" --json certs show -- "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ari_id"])'
}
# renewal_info SERIAL: the renewalInfo document of SERIAL's certificate, in $out.
renewal_info() {
	curl -sSf --cacert "$root" -o "$out" "https://localhost:$port/acme/default/renewal-info/$(ari_of "$1")"
}
why=https://example.org/incident-42
adm certs renew-early --directory default --dry-run --json
check "certs renew-early --dry-run lists the live certificates" \
	jq_ "j['dry_run'] and all(s in j['serials'] for s in '$ALL_SERIALS'.split()) and j['certificates'] == len(j['serials'])"
adm certs show --json -- "$cb_serial"
check "... and changes nothing (certs show: no renewal window)" jq_ "j['renew_from'] is None"
adm_rc 0 certs renew-early --explanation "$why" --json -- "$cb_serial"
check "certs renew-early SERIAL --explanation URL changes that one" \
	jq_ "not j['dry_run'] and j['certificates'] == 1 and j['serials'] == ['$cb_serial'] and j['explanation'] == '$why'"
renewal_info "$cb_serial"
check "its renewalInfo: a window that starts now, with the explanationURL" /usr/bin/python3 -c '
import calendar, json, sys, time
j = json.load(open(sys.argv[1]))
t = lambda s: calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
w = j["suggestedWindow"]
print("# %s" % j)
sys.exit(0 if abs(t(w["start"]) - time.time()) < 120 and t(w["end"]) == t(w["start"]) and
         j.get("explanationURL") == sys.argv[2] else 1)' "$out" "$why"
adm certs renew-early --directory default --issued-before 2001-01-01T00:00:00Z --json
check "--issued-before a time before them all selects none" jq_ "j['certificates'] == 0"
adm certs renew-early --directory default --within 2h --json
check "certs renew-early --directory --within 2h: every live certificate" \
	jq_ "j['certificates'] >= 3 and '$B_FIRST' in j['serials']"
adm certs show --json -- "$B_FIRST"
check "... with a 2-hour window and no explanation (certs show)" \
	jq_ "j['renew_from'] is not None and j['renew_why'] is None and j['renew_by'] > j['renew_from']"
renewal_info "$B_FIRST"
check "... and renewalInfo serves no explanationURL for it" jq_ "'explanationURL' not in j"
check "renew-early refuses a non-URL explanation, SERIAL with --directory (2), an unknown serial (4)" \
	bash -c 'adm_() { "$A" "$@" >/dev/null 2>&1; echo $?; }; A=$2
	[ "$(adm_ certs renew-early --explanation "javascript:alert(1)" -- "$1")" = 2 ] &&
	[ "$(adm_ certs renew-early --directory default -- "$1")" = 2 ] &&
	[ "$(adm_ certs renew-early 00ff)" = 4 ]' _ "$cb_serial" "$ADMIN"

# --- revocation --------------------------------------------------------------
rev=$B_FIRST
check "certs revoke --reason 1 exits 0" adm_rc 0 certs revoke "$rev" --reason 1
curl -sS --cacert "$root" -o "$TEST_TMP/crl.der" "https://localhost:$port/acme/default/crl"
check "the served CRL lists the revoked serial with reason keyCompromise" bash -c \
	'openssl crl -inform DER -in "$1" -noout -text | tr "A-F" "a-f" | grep -A5 -i "serial number: $2" | grep -qi "key compromise"' \
	_ "$TEST_TMP/crl.der" "$rev"
check "revoking it again exits 8" adm_rc 8 certs revoke "$rev"
check "a reason of 7 is refused (exit 2)" adm_rc 2 certs revoke "$cb_serial" --reason 7
adm certs list --revoked --json
check "certs list --revoked: that one, reason 1" \
	jq_ "[(c['serial'], c['reason'], c['status']) for c in j] == [('$rev', 1, 'revoked')]"

# --- blocked keys: keyCompromise blocked the certificate's key ---------------
# Its name: base64url SHA-256 of the DER SubjectPublicKeyInfo (may begin with '-').
rev_hash=$("$ADMIN" certs show "$rev" --pem 2>/dev/null | openssl x509 -pubkey -noout |
	openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=\n')
adm keys list --json
check "keys list --json: the revoked certificate's key, with its serial and directory" \
	jq_ "[(k['hash'], k['serial'], k['directory']) for k in j] == [('$rev_hash', '$rev', 'default')] and j[0]['blocked_at'] is not None"
check "keys list (text) shows it under a header" bash -c \
	'"$1" keys list >"$2" && head -n 1 "$2" | grep -q "^HASH .*SERIAL" && grep -qF -- "$3" "$2"' \
	_ "$ADMIN" "$out" "$rev_hash" || diag_file "$out"
check "keys unblock exits 0, and 4 the second time" bash -c \
	'"$1" keys unblock "$2" >/dev/null && { "$1" keys unblock "$2" 2>/dev/null; [ $? -eq 4 ]; }' \
	_ "$ADMIN" "$rev_hash"
adm keys list --json
check "keys list: the key is no longer blocked" jq_ "j == []"
check "keys unblock of a malformed hash exits 2" adm_rc 2 keys unblock 'x/../y'
adm crl --json
n1=$(jv "j[0]['number']")
adm crl --directory default --json
check "crl signs a new CRL each time, with the revoked entry" \
	jq_ "j[0]['number'] == $n1 + 1 and j[0]['entries'] == 1 and j[0]['directory'] == 'default'"
check "crl --directory of an unknown directory exits 4" adm_rc 4 crl --directory nosuch

# --- deactivation ------------------------------------------------------------
check "accounts deactivate exits 0" adm_rc 0 accounts deactivate -- "$B"
probe=$(py probe "$pw" 2>&1)
check "the client's next request is refused: unauthorized" bash -c '[[ $1 == 40[13]" unauthorized" ]]' _ "$probe" ||
	diag "probe: $probe"
adm orders show --json -- "$B_PENDING"
check "its pending order was cancelled (invalid, unauthorized)" \
	jq_ "j['status'] == 'invalid' and j['error']['type'].endswith(':unauthorized') and j['authorizations'][0]['status'] == 'deactivated'"
adm certs list --account "$B" --json
check "its other certificate stays valid" jq_ "sorted(c['status'] for c in j) == ['revoked', 'valid']"
check "deactivating it again exits 8" adm_rc 8 accounts deactivate -- "$B"

# --- EAB keys ----------------------------------------------------------------
adm eab new --directory default --note "for the admin test" --json
key=$(jv "j['hmac_key']")
kid=$(jv "j['kid']")
check "eab new prints a kid, a 32-byte key and the certbot and lego options" \
	jq_ "len(j['kid']) == 22 and len(j['hmac_key']) == 43 and '--eab-hmac-key ' + j['hmac_key'] in j['certbot'] and '--hmac ' + j['hmac_key'] in j['lego'] and j['expires'] is not None"
adm eab new --directory default --kid named_key-1 --reusable --expires 0
check "eab new --kid NAME --reusable --expires 0" bash -c 'grep -q "^kid  *named_key-1$" "$1" && grep -q "^expires  *-$" "$1"' _ "$out"
check "eab new --kid with a taken name exits 3" adm_rc 3 eab new --directory default --kid named_key-1
check "eab new for an unknown directory exits 4" adm_rc 4 eab new --directory nosuch
{ "$ADMIN" eab list; "$ADMIN" eab list --json; "$ADMIN" eab list --directory default --json; } >"$out" 2>&1
check "eab list (text and JSON) shows both keys and never a key" bash -c \
	'grep -qF -- "$2" "$1" && grep -q named_key-1 "$1" && grep -q "for the admin test" "$1" && ! grep -qF -- "$3" "$1" && ! grep -qi hmac "$1"' \
	_ "$out" "$kid" "$key"
check "eab revoke exits 0, and 8 the second time" bash -c \
	'"$1" eab revoke "$2" >/dev/null && { "$1" eab revoke "$2" 2>/dev/null; [ $? -eq 8 ]; }' _ "$ADMIN" "$kid"
adm eab list --json
check "eab list: the key is revoked" jq_ "any(e['kid'] == '$kid' and e['revoked'] and e['state'] == 'revoked' for e in j)"
check "no acme-admin log or output holds the HMAC key" bash -c '! grep -rqF -- "$1" "$2"/log' _ "$key" "$state"

# --- stats, verify, cleanup --------------------------------------------------
# The short directory's orders (made at the start) expire: wait for it.
while [ $SECONDS -lt $((short_made + 11)) ]; do sleep 0.5; done
adm stats --json
check "stats: accounts by status, certificates valid and revoked, EAB keys, disk size" \
	jq_ "j['accounts']['deactivated'] == 1 and j['accounts']['total'] >= 2 and j['certificates']['revoked'] == 1 and j['certificates']['valid'] == 2 and j['eab_keys']['total'] == 2 and j['orders']['invalid'] == 3 and j['authorizations']['expired'] == 2 and j['disk']['bytes'] > 0"
check "stats (text) prints one line per count" bash -c '"$1" stats | grep -q "^certificates.revoked  *1$"' _ "$ADMIN"
check "verify on the running server: clean (exit 0)" adm_rc 0 verify
orders_before=$("$ADMIN" orders list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
adm cleanup --dry-run --json
check "cleanup --dry-run: no order or authorization ended 30 days ago" \
	jq_ "j['dry_run'] and j['orders'] == 0 and j['authorizations'] == 0 and all(r['kind'] == 'counter' for r in j['removed'])"
orders_before=$("$ADMIN" orders list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
adm cleanup --dry-run --retention 0 --json
check "cleanup --dry-run --retention 0: the expired orders, their authorizations, the rate state" \
	jq_ "j['dry_run'] and sorted(r['id'] for r in j['removed'] if r['kind'] == 'order') == sorted('$short'.split()) and j['authorizations'] == 2 and j['counters'] >= 1"
check "... and nothing is removed" bash -c \
	'[ "$("$1" orders list --json | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = "$2" ]' \
	_ "$ADMIN" "$orders_before"
adm cleanup --retention 0 --json
check "cleanup --retention 0 removes exactly those" \
	jq_ "not j['dry_run'] and sorted(r['id'] for r in j['removed'] if r['kind'] == 'order') == sorted('$short'.split()) and j['authorizations'] == 2 and j['counters'] >= 1 and all(r['kind'] != 'counter' or r['id'].startswith('rate/') for r in j['removed'])"
check "the removed order is gone (exit 4), the others stay, verify is clean" bash -c \
	'"$1" orders show -- "$2" >/dev/null 2>&1; [ $? -eq 4 ] &&
	[ "$("$1" orders list --json | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" = "$(($3 - 2))" ] &&
	"$1" verify >/dev/null' _ "$ADMIN" "${short%% *}" "$orders_before"
adm cleanup --retention 0 --json
check "a second cleanup finds nothing" jq_ "j['orders'] == 0 and j['authorizations'] == 0 and j['counters'] == 0"

# --- rate-limit overrides ----------------------------------------------------
check "ratelimit set orders_per_account=500/3h" adm_rc 0 ratelimit set --account "$B" --limit orders_per_account=500/3h
adm_rc 0 ratelimit set --account "$B" --limit failed_validations=0/1h
adm ratelimit show --account "$B" --json
check "ratelimit show lists both, decoded" \
	jq_ "sorted((r['limit'], r['n'], r['period']) for r in j) == [('failed_validations', 0, 3600), ('orders_per_account', 500, 10800)]"
check "ratelimit set of an unknown limit exits 2" adm_rc 2 ratelimit set --account "$B" --limit nosuch=1/1h
check "ratelimit set for an unknown account exits 4" adm_rc 4 ratelimit set --account AAAAAAAAAAAAAAAAAAAAAA --limit orders_per_account=1/1h
adm_rc 0 ratelimit clear --account "$B" --limit failed_validations
adm ratelimit show --account "$B" --json
check "ratelimit clear --limit removes that one" jq_ "[r['limit'] for r in j] == ['orders_per_account']"
adm_rc 0 ratelimit clear --account "$B"
adm ratelimit show --account "$B" --json
check "ratelimit clear removes the rest" jq_ "j == []"

check "the audit log records the operator's actions, each with its directory, never a key" \
	/usr/bin/python3 -c '
import json, sys
text = open(sys.argv[1]).read()
recs = [json.loads(line) for line in text.splitlines()]
mine = {r["event"] for r in recs if r.get("by") == "acme-admin"}
want = {"key.unblock", "cert.revoke", "account.deactivate", "eab.create", "eab.revoke", "ratelimit.set",
        "ratelimit.clear", "cert.renew_early"}
print("# acme-admin events: %s" % sorted(mine))
sys.exit(0 if want <= mine and all(r.get("directory") for r in recs) and sys.argv[2] not in text
         else 1)' "$state/log/audit.log" "$key"

# --- hot backup under load, restore ------------------------------------------
lw=$TEST_TMP/load
mkdir -p "$lw"
py load "$lw" "$lw/stop" >"$TEST_TMP/load.out" 2>&1 &
load_pid=$!
at_cleanup touch "$lw/stop"
deadline=$((SECONDS + 120))
while [ "$(cat "$lw/load.serials" 2>/dev/null | wc -l)" -lt 2 ] && [ $SECONDS -lt $deadline ] &&
	kill -0 "$load_pid" 2>/dev/null; do
	sleep 0.2
done
"$ADMIN" certs list --json >"$TEST_TMP/before.json" 2>"$err"
adm backup "$TEST_TMP/backup"
backup_rc=$?
loaded_during=$(wc -l <"$lw/load.serials")
sleep 2
touch "$lw/stop"
wait "$load_pid"
load_rc=$?
check "backup exits 0 while a client issues certificates ($loaded_during issued so far)" \
	bash -c '[ "$1" -eq 0 ] && [ "$2" -ge 2 ]' _ "$backup_rc" "$loaded_during" || diag_file "$err"
check "the load ran without an error" [ "$load_rc" -eq 0 ] || diag_file "$TEST_TMP/load.out" 30
check "the backup holds the store, acme.conf, ca/, tls/ and its marker" bash -c \
	'[ -f "$1/acme-backup.txt" ] && [ -f "$1/acme.conf" ] && [ -f "$1/ca/intermediate.key" ] &&
	case $(stat -c %a "$1/ca/intermediate.key") in 600|400) ;; *) exit 1;; esac &&
	[ -f "$1/tls/server.pem" ] &&
	[ -f "$1/db/certs.db" ] && ls "$1"/db/log.* >/dev/null' _ "$TEST_TMP/backup"
new=$TEST_TMP/restored
restore_user=()
stack__user && restore_user=(--user "${STACK_USER-acme}")
check "restore into a fresh directory exits 0" adm_rc 0 restore "$TEST_TMP/backup" --state "$new" "${restore_user[@]}"
check "restore refuses a directory that is not empty (exit 3)" adm_rc 3 restore "$TEST_TMP/backup" --state "$new"
check "verify on the restored copy: clean" adm_rc 0 verify -c "$new/acme.conf"
"$ADMIN" certs list -c "$new/acme.conf" --json >"$out" 2>"$err"
check "every serial listed before the backup is in the restored store" /usr/bin/python3 -c '
import json, sys
before = {c["serial"] for c in json.load(open(sys.argv[1]))}
after = {c["serial"] for c in json.load(open(sys.argv[2]))}
missing = before - after
print("# %d before, %d restored, missing %s" % (len(before), len(after), sorted(missing)))
sys.exit(1 if missing or len(before) < 5 else 0)' "$TEST_TMP/before.json" "$out"
check "the restored configuration names the new state directory" bash -c \
	'grep -q "^state_dir = $2\$" "$1/acme.conf" && ! grep -q "$3/" "$1/acme.conf"' _ "$new" "$new" "$state"
stack_stop "$state" >>"$TEST_TMP/stack.log" 2>&1
if stack_start "$new" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$new"
	ok "the server runs from the restored state directory"
	check "it issues from there" py issue "$TEST_TMP" 1 restored >"$TEST_TMP/py2.out" 2>&1 ||
		diag_file "$TEST_TMP/py2.out" 30
	adm accounts list -c "$new/acme.conf" --json
	check "and still knows the deactivated account" jq_ "any(a['id'] == '$B' and a['status'] == 'deactivated' for a in j)"
else
	not_ok "the server runs from the restored state directory"
	diag_file "$TEST_TMP/stack.log" 60
	not_ok "it issues from there"
	not_ok "and still knows the deactivated account"
fi
done_testing
