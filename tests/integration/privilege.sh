#!/usr/bin/env bash
# Least privilege and secrets (docs/security.md), as root with the service
# users of scripts/deps.sh. The stack (nginx, acme-fcgi -u acme,
# acme-validator -u acme-validator:acme) issues certificates, one account
# registers through External Account Binding (after a wrong MAC and an
# unknown kid), and then:
#   * every worker, the acme-fcgi master, the validator's supervising
#     process and its child run as their user and group with no
#     supplementary group, no capability in any set (bounding and ambient
#     included), no_new_privs, and a seccomp filter; the processes that
#     hold keys are not dumpable (their /proc files are root's);
#   * the CA key is the workers' user's alone (0400): acme reads it,
#     acme-validator does not; nobody but root reads the root CA key;
#   * a validator child the supervisor started again after its child
#     stopped has the same privileges (a SIGTERM to the child alone: the
#     SIGKILLs are faults_kill.sh's);
#   * no log or audit log holds a private key, the CA key, or the EAB HMAC
#     keys (scan_secrets.py, which finds them when they are planted).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP the drop of privileges needs root"
	exit 0
fi
if ! id -u acme >/dev/null 2>&1 || ! id -u acme-validator >/dev/null 2>&1; then
	echo "1..0 # SKIP users acme and acme-validator missing (scripts/deps.sh as root)"
	exit 0
fi
plan 23
test_tmpdir
need /usr/bin/python3 pebble-challtestsrv spawn-fcgi nginx curl setpriv || done_testing
pick_port dns 8053 udp && pick_port mgmt 8055 && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
state=$TEST_TMP/state
stack_challtestsrv_start "$dns" "$mgmt" 2>"$TEST_TMP/cts.err" || { not_ok "challtestsrv"; done_testing; }
at_cleanup stack_challtestsrv_stop
export STACK_WORKERS=2 STACK_USER=acme STACK_VALIDATOR_USER=acme-validator
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1 &&
	cat >>"$state/acme.conf" <<EOC &&

[directory eab]
ca_cert = ca/intermediate.pem
ca_key = ca/intermediate.key
external_account_required = yes
allow_private = yes
EOC
	stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts as root with -u acme and -u acme-validator:acme"
else
	not_ok "the stack starts"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi
admin() { "$(stack__build)/acme-admin" -c "$state/acme.conf" "$@"; }
fails() { ! "$@"; }
field() { # JSON-FIELD: from stdin
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# --- work under the filter: issuance (OpenSSL, libcurl, libunbound, the
# store) and EAB, with the refusals logged on the way.
key=$(admin eab new --directory eab --json) || not_ok "acme-admin eab new"
kid=$(field kid <<<"$key")
hmac=$(field hmac_key <<<"$key")
secret_note "$hmac"
cat >"$TEST_TMP/work.py" <<'EOP'
import base64, hashlib, hmac, json, os, sys
sys.path.insert(0, sys.argv[1])
from acmeclient import Client, Http01Responder, Key, b64u
base, ca, h01, kid, key = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
resp = Http01Responder(h01)

def binding(c, kid, raw):
    prot = b64u(json.dumps({"alg": "HS256", "kid": kid, "url": c.directory["newAccount"]}))
    pay = b64u(json.dumps(c.key.jwk()))
    mac = hmac.new(raw, (prot + "." + pay).encode(), hashlib.sha256).digest()
    return {"protected": prot, "payload": pay, "signature": b64u(mac)}

c = Client(base + "/acme/default/directory", ca, Key("p256"))
c.new_account({"termsOfServiceAgreed": True})
for n in range(2):
    c.issue(["priv%d.example.com" % n], resp)
e = Client(base + "/acme/eab/directory", ca, Key("p256"))
r = e.new_account({"termsOfServiceAgreed": True, "externalAccountBinding": binding(e, kid, b"wrong")},
                  check=False)
assert r.status_code == 403, r.text
r = e.new_account({"termsOfServiceAgreed": True, "externalAccountBinding": binding(e, "nosuch", raw)},
                  check=False)
assert r.status_code == 403, r.text
r = e.new_account({"termsOfServiceAgreed": True, "externalAccountBinding": binding(e, kid, raw)})
assert r.status_code == 201, r.text
e.issue(["priv-eab.example.com"], resp)
resp.close()
EOP
check "certificates issued, EAB refused with a wrong MAC and an unknown kid, accepted with its key" \
	/usr/bin/python3 "$TEST_TMP/work.py" "$LIB_DIR/../protocol" "https://localhost:$port" \
	"$state/ca/root.pem" "$h01" "$kid" "$hmac" || { stack_logs "$state" 30 | sed 's/^/# /'; }

# --- the processes
acme_uid=$(id -u acme)
val_uid=$(id -u acme-validator)
gid=$(id -g acme)
sanitized=0
grep -qa __asan_init "$(stack__build)/acme-fcgi" && sanitized=1
# status_is PID UID: /proc/PID/status shows the dropped privileges.
status_is() {
	local pid=$1 uid=$2 s v
	s=$(cat "/proc/$pid/status") || return 1
	v=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' <<<"$s")
	[ "$v" = "$uid $uid $uid $uid" ] || { echo "Uid: $v"; return 1; }
	v=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' <<<"$s")
	[ "$v" = "$gid $gid $gid $gid" ] || { echo "Gid: $v"; return 1; }
	v=$(awk '$1 == "Groups:" { $1 = ""; print }' <<<"$s" | tr -d ' ')
	[ -z "$v" ] || [ "$v" = "$gid" ] || { echo "Groups: $v"; return 1; }
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' <<<"$s")
		[ "$v" = 0000000000000000 ] || { echo "$f: $v"; return 1; }
	done
	v=$(awk '$1 == "NoNewPrivs:" { print $2 }' <<<"$s")
	[ "$v" = 1 ] || { echo "NoNewPrivs: $v"; return 1; }
	v=$(awk '$1 == "Seccomp:" { print $2 }' <<<"$s")
	[ "$v" = 2 ] || { echo "Seccomp: $v"; return 1; }
	v=$(awk '$1 == "Seccomp_filters:" { print $2 }' <<<"$s")
	[ -z "$v" ] || [ "$v" -ge 1 ] || { echo "Seccomp_filters: $v"; return 1; }
}
# not_dumpable PID: its /proc files are root's though it runs as a user.
not_dumpable() {
	[ "$sanitized" = 1 ] && return 0     # LeakSanitizer needs ptrace
	[ "$(stat -c %u "/proc/$1/environ")" = 0 ]
}
# every_proc DESC UID PID...: one TAP line for all of them.
every_proc() {
	local desc=$1 uid=$2 pid out bad=
	shift 2
	[ $# -gt 0 ] || { not_ok "$desc: no process found"; return; }
	for pid in "$@"; do
		if ! out=$(status_is "$pid" "$uid"); then
			bad+="pid $pid: $out; "
		fi
	done
	check "$desc ($# processes): uid, gid, no groups, no capabilities, no_new_privs, seccomp" \
		[ -z "$bad" ] || diag "$bad"
}
master=$(stack_pid "$state" acme-fcgi)
mapfile -t workers < <(stack_workers "$state")
sup=$(stack_pid "$state" acme-validator)
vchild=$(stack_validator_child "$state")
check "acme-fcgi runs $STACK_WORKERS workers" [ "${#workers[@]}" -eq "$STACK_WORKERS" ]
check "acme-validator runs as a supervising process and one child" [ -n "$sup" -a -n "$vchild" ]
every_proc "acme-fcgi master" "$acme_uid" "$master"
every_proc "acme-fcgi workers" "$acme_uid" "${workers[@]}"
every_proc "acme-validator (supervisor and child)" "$val_uid" "$sup" "$vchild"
dumpable_bad=
for pid in "${workers[@]}" "$vchild"; do
	not_dumpable "$pid" || dumpable_bad+=" $pid"
done
check "the workers and the validator are not dumpable" [ -z "$dumpable_bad" ] || diag "dumpable:$dumpable_bad"
# A control: the test's own shell shows what the checks look for.
check "(control) this root shell fails the same check" fails status_is $$ "$acme_uid"

# --- the CA key
as() { # USER CMD...
	setpriv --reuid="$1" --regid="$gid" --clear-groups -- "${@:2}"
}
key_file=$state/ca/intermediate.key
check "the CA key is acme's alone: mode 0400" [ "$(stat -c %a:%U "$key_file")" = 400:acme ]
check "acme (the signing workers) reads the CA key" as acme cp "$key_file" /dev/null
check "acme-validator cannot read the CA key" fails as acme-validator cp "$key_file" /dev/null
check "acme cannot read the root CA key" fails as acme cp "$state/ca/root.key" /dev/null
check "acme-validator cannot write the configuration" fails as acme-validator \
	bash -c ': >>"$1"' _ "$state/acme.conf"
check "acme cannot write the configuration" fails as acme bash -c ': >>"$1"' _ "$state/acme.conf"

# --- a validator child started again by the supervisor keeps the drop.
kill -TERM "$vchild"
new=
for _ in $(seq 100); do
	new=$(stack_validator_child "$state") && [ "$new" != "$vchild" ] && break
	new=
	sleep 0.1
done
check "the supervisor starts a new validator child when its child stops" [ -n "$new" ]
[ -n "$new" ] && every_proc "the new validator child" "$val_uid" "$new"
[ -n "$new" ] || not_ok "the new validator child: not started"
cat >"$TEST_TMP/again.py" <<'EOP'
import sys, time
sys.path.insert(0, sys.argv[1])
from acmeclient import Client, Http01Responder, Key, Problem
resp = Http01Responder(int(sys.argv[4]))
# Should the new child's store open run recovery, the workers restart and
# answer 503 meanwhile.
deadline = time.time() + 60
while True:
    try:
        c = Client(sys.argv[2] + "/acme/default/directory", sys.argv[3], Key("p256"))
        c.new_account({"termsOfServiceAgreed": True})
        c.issue(["priv-again.example.com"], resp)
        break
    except Problem as p:
        if p.status != 503 or time.time() > deadline:
            raise
        time.sleep(0.5)
resp.close()
EOP
check "issuance goes on with the new child" /usr/bin/python3 "$TEST_TMP/again.py" "$LIB_DIR/../protocol" \
	"https://localhost:$port" "$state/ca/root.pem" "$h01"

# --- secrets in the logs
check "the server log and the audit log exist" [ -s "$state/log/acme.log" -a -s "$state/log/audit.log" ]
if out=$(/usr/bin/python3 "$LIB_DIR/scan_secrets.py" "$state" "$hmac" 2>&1); then
	ok "no log holds a private key, the CA key or the EAB key ($out)"
else
	not_ok "no log holds a private key, the CA key or the EAB key"
	diag "$out"
fi
# The scanner finds what it looks for: a copy of the state's logs with the
# EAB key, a line of the CA key and a PEM marker planted in turn.
plant() { # TEXT: 0 when the scanner finds TEXT planted in a copy of the logs
	local p=$TEST_TMP/plant
	rm -rf "$p" && mkdir -p "$p" && cp -a "$state/acme.conf" "$state/ca" "$state/log" "$p/" &&
		printf 'some line %s more\n' "$1" >>"$p/log/acme.log" &&
		! /usr/bin/python3 "$LIB_DIR/scan_secrets.py" "$p" "$hmac" >/dev/null 2>&1
}
check "(control) the scanner finds the EAB key planted in a log" plant "$hmac"
check "(control) the scanner finds a line of the CA key planted in a log" \
	plant "$(sed -n 2p "$key_file")"
check "(control) the scanner finds a PEM private key marker" plant "-----BEGIN PRIVATE KEY-----"
done_testing
