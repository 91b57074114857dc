#!/usr/bin/env bash
# DNSSEC validation in the validator (conformance CAA-13, DN-06), end to end.
#
# A zone dnssec.test. signed with ldns-signzone (ECDSA P-256, a KSK and a
# ZSK), served as it is by knotd on loopback:
#
#   good.dnssec.test    A 127.0.0.1, CAA 0 issue "ca.acme.test"   all signed
#   bad.dnssec.test     A 127.0.0.1, CAA 0 issue "ca.acme.test"   the CAA
#                       RRSIG corrupted (bytes of the signature flipped)
#   bad-a.dnssec.test   A 127.0.0.1                               the A RRSIG
#                       corrupted
#
# The stack resolves through knotd (resolver = 127.0.0.1:PORT) with the
# KSK's DS as dnssec_trust_anchor (a relative path: state_dir), checking CAA
# (caa_check, caa_identities ca.acme.test) and validating with http-01 on
# loopback (allow_private). With the Python client of tests/protocol:
# good.dnssec.test is issued (a secure CAA answer names us); bad.dnssec.test
# ends invalid with a dns problem about DNSSEC and CAA (CAA-13: a bogus CAA
# RRset refuses issuance); bad-a.dnssec.test ends invalid with a dns problem
# about DNSSEC and its A lookup (DN-06); the validator's log holds
# libunbound's why_bogus. Then the validator starts again without the
# trust anchor and bad.dnssec.test is issued: the zone is otherwise fine, so
# the refusals above come from the DNSSEC validation alone.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
OURS=ca.acme.test
ZONE=dnssec.test
PY=/usr/bin/python3
PATH=$PATH:/usr/sbin   # knotd

plan 10
test_tmpdir
need knotd ldns-keygen ldns-signzone drill spawn-fcgi nginx openssl "$PY" || done_testing
pick_port dns 8053 udp && pick_port h01 5002 && pick_port port 14443 ||
	{ not_ok "free ports"; done_testing; }
diag "temp $TEST_TMP; DNS (knotd) 127.0.0.1:$dns, http-01 $h01"
state=$TEST_TMP/state
kd=$TEST_TMP/knot
mkdir -p "$kd"

# --- the signed zone ------------------------------------------------------
# sign_zone DIR: DIR/$ZONE.zone.signed with the CAA RRSIG of bad and the A
# RRSIG of bad-a corrupted, and DIR/ds holding the KSK's DS record.
sign_zone() {
	local d=$1 zsk ksk
	cat >"$d/$ZONE.zone" <<EOZ
\$ORIGIN $ZONE.
\$TTL 60
@ SOA ns.$ZONE. admin.$ZONE. 1 60 60 3600 60
@ NS ns.$ZONE.
ns A 127.0.0.1
good A 127.0.0.1
good CAA 0 issue "$OURS"
bad A 127.0.0.1
bad CAA 0 issue "$OURS"
bad-a A 127.0.0.1
EOZ
	(
		cd "$d" || exit 1
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$ZONE.") &&
			ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$ZONE.") &&
			ldns-signzone -o "$ZONE." "$ZONE.zone" "$zsk" "$ksk" &&
			cp "$ksk.ds" ds
	) || return 1
	# Flip characters in the middle of the base64 signature: still
	# base64, still 64 bytes, no longer a signature over the RRset.
	"$PY" - "$d/$ZONE.zone.signed" <<'PYZ'
import sys
path = sys.argv[1]
want = {("bad.dnssec.test.", "CAA"), ("bad-a.dnssec.test.", "A")}
out, hit = [], set()
for line in open(path):
    f = line.split()
    if len(f) > 5 and f[3] == "RRSIG" and (f[0], f[4]) in want:
        sig = list(f[-1])
        for i in (20, 21, 22):
            sig[i] = "A" if sig[i] != "A" else "B"
        f[-1] = "".join(sig)
        hit.add((f[0], f[4]))
        line = "\t".join(f) + "\n"
    out.append(line)
if hit != want:
    sys.exit("RRSIGs not found: %s" % (want - hit))
open(path, "w").writelines(out)
PYZ
}

if sign_zone "$kd" >"$TEST_TMP/sign.log" 2>&1; then
	ok "the zone is signed, two RRSIGs corrupted"
else
	not_ok "the zone is signed, two RRSIGs corrupted"
	diag_file "$TEST_TMP/sign.log"
	done_testing
fi

# --- knotd serving the signed zone as it is --------------------------------
cat >"$kd/knot.conf" <<EOK
server:
    listen: 127.0.0.1@$dns
    rundir: $kd
log:
  - target: stderr
    any: info
database:
    storage: $kd
control:
    listen: $kd/knot.sock
template:
  - id: default
    storage: $kd
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $ZONE
    file: $ZONE.zone.signed
EOK
knotd -c "$kd/knot.conf" 2>"$kd/knotd.log" &
knot_pid=$!
at_cleanup kill "$knot_pid"

# drill_ NAME TYPE: the answer (with the DO bit: RRSIGs too), drill's format.
drill_() {
	timeout 5 drill -D -p "$dns" "$1" @127.0.0.1 "$2" 2>/dev/null
}
knot_up() {
	local deadline=$((SECONDS + 15))
	until drill_ "bad.$ZONE" CAA | grep -q "RRSIG[[:space:]]*CAA"; do
		[ $SECONDS -lt "$deadline" ] && kill -0 "$knot_pid" 2>/dev/null || return 1
		sleep 0.2
	done
}
if knot_up; then
	ok "knotd serves the signed zone on 127.0.0.1:$dns"
else
	not_ok "knotd serves the signed zone on 127.0.0.1:$dns"
	diag_file "$kd/knotd.log"
	done_testing
fi

# --- the stack ---------------------------------------------------------------
if stack_init "$state" --port "$port" --resolver "127.0.0.1:$dns" --http01-port "$h01" \
	--allow-private >"$TEST_TMP/stack.log" 2>&1; then
	conf=$state/acme.conf
	cp "$kd/ds" "$state/dnssec.key"
	# Global keys before the first section; the default directory (the
	# last section) checks CAA, and gives up on a failing authorization soon.
	sed -i '0,/^\[/s//dnssec_trust_anchor = dnssec.key\nvalidation_timeout = 4s\nretry_base = 1s\nretry_cap = 2s\n\n[/' "$conf"
	printf 'caa_check = yes\ncaa_identities = %s\nauthz_lifetime = 12s\n' "$OURS" >>"$conf"
fi
if [ -f "$state/dnssec.key" ] && stack_start "$state" nginx "$port" >>"$TEST_TMP/stack.log" 2>&1; then
	at_cleanup stack_stop "$state"
	ok "the stack starts with dnssec_trust_anchor"
else
	not_ok "the stack starts with dnssec_trust_anchor"
	diag_file "$TEST_TMP/stack.log" 80
	done_testing
fi

# --- the client -----------------------------------------------------------------
client=$TEST_TMP/client.py
cat >"$client" <<'PY'
"""For tests/integration/dnssec.sh: one account orders each NAME at once
(http-01 answered correctly), waits for every authorization, finalizes the
valid ones, and prints one JSON line per name:
{"name", "authz": status, "type": problem type, "detail": problem detail,
 "issued": true when the certificate was downloaded}."""
import json
import os
import sys

sys.path.insert(0, os.environ["PROTO"])
from acmeclient import Client, Http01Responder, Key, b64u, make_csr  # noqa: E402

c = Client(os.environ["DIR"], os.environ["CA"])
c.new_account({"termsOfServiceAgreed": True})
responder = Http01Responder(int(os.environ["H01"]))
try:
    orders = {}
    for name in sys.argv[1:]:
        r = c.new_order([name])
        orders[name] = (r.headers["Location"], r.json())
        az = c.get(r.json()["authorizations"][0]).json()
        ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
        responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
        c.post(ch["url"], {})
    for name, (url, order) in orders.items():
        res = {"name": name, "issued": False, "type": "", "detail": ""}
        az = c.wait(order["authorizations"][0], until=("valid", "invalid"), timeout=40).json()
        res["authz"] = az["status"]
        for ch in az["challenges"]:
            if "error" in ch:
                res["type"] = ch["error"].get("type", "")
                res["detail"] = ch["error"].get("detail", "")
        if az["status"] == "valid":
            order = c.wait(url, until=("ready", "invalid")).json()
            if order["status"] == "ready":
                r = c.post(order["finalize"], {"csr": b64u(make_csr(Key("p256"), [name]))},
                           check=False)
                if r.status_code >= 400:
                    res["type"] = r.json().get("type", "")
                    res["detail"] = r.json().get("detail", "")
                else:
                    order = c.wait(url, until=("valid", "invalid")).json()
                    if order["status"] == "valid":
                        res["issued"] = "BEGIN CERTIFICATE" in c.get(order["certificate"]).text
        print(json.dumps(res), flush=True)
finally:
    responder.close()
PY

# run_client OUT NAME...: the client above, its lines in OUT.
run_client() {
	local out=$1
	shift
	PROTO=$HERE/../protocol DIR="https://localhost:$port/acme/default/directory" \
		CA=$state/ca/root.pem H01=$h01 timeout -k 5 90 "$PY" "$client" "$@" \
		>"$out" 2>"$out.err"
}

# result OUT NAME EXPR: EXPR (Python, r = the NAME's line of OUT) holds.
result() {
	"$PY" - "$1" "$2" "$3" <<'PYR'
import json, sys
out, name, expr = sys.argv[1:]
rows = [json.loads(l) for l in open(out) if l.startswith("{")]
r = next((x for x in rows if x["name"] == name), None)
if r is None or not eval(expr):
    print("# %s: want %s, got %s" % (name, expr, json.dumps(r)))
    sys.exit(1)
PYR
}

out=$TEST_TMP/with-anchor.out
run_client "$out" "good.$ZONE" "bad.$ZONE" "bad-a.$ZONE"
check "good.$ZONE (secure zone, CAA names us) is validated and issued" \
	result "$out" "good.$ZONE" 'r["authz"] == "valid" and r["issued"]'
check "bad.$ZONE (bogus CAA RRset) is refused: authorization invalid" \
	result "$out" "bad.$ZONE" 'r["authz"] == "invalid" and not r["issued"]'
check "bad.$ZONE: a dns problem naming CAA and DNSSEC validation" \
	result "$out" "bad.$ZONE" \
	'r["type"].endswith(":dns") and "CAA" in r["detail"] and "DNSSEC validation failed" in r["detail"]'
check "bad-a.$ZONE (bogus A RRset): authorization invalid, a dns problem naming DNSSEC and A" \
	result "$out" "bad-a.$ZONE" \
	'r["authz"] == "invalid" and r["type"].endswith(":dns") and "DNSSEC validation failed" in r["detail"] and "looking up A " in r["detail"]'
check "the validator logs libunbound's reason for the bogus CAA answer" \
	grep -q "DNSSEC validation failed for bad\.$ZONE\.* type 257: .*validation failure" \
	"$state"/log/*.log
failed=$TAP_FAILED
if [ "$failed" -gt 0 ]; then
	diag_file "$out"
	diag_file "$out.err"
	stack_logs "$state" 60 | sed 's/^/# /'
fi

# --- without the trust anchor, the same zone passes --------------------------------
sed -i '/^dnssec_trust_anchor = /d' "$state/acme.conf"
if stack_component_stop "$state" acme-validator &&
	stack_component_start "$state" acme-validator >>"$TEST_TMP/stack.log" 2>&1; then
	ok "the validator starts again without dnssec_trust_anchor"
else
	not_ok "the validator starts again without dnssec_trust_anchor"
	diag_file "$TEST_TMP/stack.log" 40
fi
out=$TEST_TMP/without-anchor.out
run_client "$out" "bad.$ZONE"
if ! check "without the trust anchor bad.$ZONE is issued (the test can fail)" \
	result "$out" "bad.$ZONE" 'r["authz"] == "valid" and r["issued"]'; then
	diag_file "$out.err"
	stack_logs "$state" 40 | sed 's/^/# /'
fi
done_testing
