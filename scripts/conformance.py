#!/usr/bin/python3
"""Write docs/conformance.md: each row of the ACME conformance checklist ->
the tests that check it -> status.

Tests are found by name: a protocol test test_ACC_05_... checks ACC-05 (and
test_ORD_15_16_17_... checks ORD-15, ORD-16 and ORD-17); a line "ids: X-1
Y-2" in a test's docstring adds more. Checks made by other test programs are
listed in OTHER; rows without a test carry a reason in REASONS.

  scripts/conformance.py [CHECKLIST]          rewrite docs/conformance.md
  scripts/conformance.py --check [CHECKLIST]  exit 1 if it is out of date
"""

import glob
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CHECKLIST = os.path.join(TOP, "..", "shared", "acme-conformance.md")
OUT = os.path.join(TOP, "docs", "conformance.md")

# Checks made outside the protocol suite (unit, store, validator, integration tests).
V = "tests/integration/validation.sh"
OTHER = {
    "JWS-13": ["tests/unit/test_jws.c: DER and wrong-length ECDSA signatures"],
    "JWS-15": ["tests/unit/test_jwk.c: off-curve points, short coordinates, private members"],
    "JWS-21": ["tests/unit/test_b64.c: padding, '+', '/', whitespace, trailing bits"],
    "JWS-27": ["tests/unit/test_json.c: duplicate members, also escaped"],
    "AZ-18": ["tests/unit/test_jwk.c: RFC 7638 section 3.1 vector"],
    "AZ-19": ["tests/unit/test_jwk.c: thumbprint stable under reordering and extra members"],
    "AZ-20": ["tests/unit/test_jwk.c: RSA n/e with a leading zero octet refused"],
    "FIN-08": ["tests/unit/test_csr.c: SHA-1, bad signature"],
    "FIN-10": ["tests/unit/test_csr.c: CA:TRUE, email/URI SANs, unknown critical extensions"],
    "FIN-11": ["tests/unit/test_csr.c: trailing data, BER"],
    "NON-06": ["tests/unit/test_nonce.c: 20 000 unique nonces"],
    "NON-08": ["tests/unit/test_nonce.c, tests/store/test_nonces.c: single use across processes"],
    "NON-12": ["tests/store/test_nonces.c: window and staleness; the table has a fixed size"],
    "DN-06": ["tests/integration/dnssec.sh: libunbound validates A, AAAA, TXT and CAA itself "
              "(dnssec_trust_anchor); a bogus A RRset -> http-01 invalid dns, a bogus CAA RRset "
              "-> refused, a secure zone issued"],
    "ARI-05": ["tests/integration/admin.sh: acme-admin certs renew-early --explanation URL; "
               "renewalInfo serves it as explanationURL with the moved window"],
    "ACC-26": ["tests/integration/admin.sh: after deactivation the pending order is invalid, "
               "the issued certificate stays good"],
    "ERR-02": ["every protocol test: common.problem() checks each type against the registry"],
    "DIR-06": [V + ": meta.caaIdentities is the identity CAA records name; issue \"<ours>\" -> "
               "issued, issue \"other.ca\" -> caa"],
    "HT-01": ["tests/validator/test_http01.c", V + ": lego and the test's own responder on the http-01 port"],
    "HT-02": ["tests/validator/test_http01.c: AAAA first, IPv4 only when the IPv6 connection fails; "
              "an HTTP error over IPv6 is final"],
    "HT-03": ["tests/validator/test_http01.c: wrong key authorization",
              V + ": wrong key authorization -> invalid unauthorized"],
    "HT-04": ["tests/validator/test_http01.c: trailing whitespace accepted, leading refused"],
    "HT-05": ["tests/validator/test_http01.c: 404, the status in the detail"],
    "HT-06": ["tests/validator/test_http01.c: huge body", V + ": a 10 MB body -> invalid"],
    "HT-07": ["tests/validator/test_http01.c: relative, absolute and cross-name redirects followed"],
    "HT-08": ["tests/validator/test_http01.c: 303 not followed"],
    "HT-09": ["tests/validator/test_http01.c: redirect to a forbidden port or scheme",
              V + ": redirect to port 8080 or to ftp:// -> invalid connection"],
    "HT-10": ["tests/validator/test_http01.c: redirect loop, 10 redirects followed, 11 refused",
              V + ": redirect loop -> invalid connection"],
    "HT-11": ["tests/validator/test_http01.c: https hop with a self-signed certificate; TLS 1.1 refused"],
    "HT-12": ["tests/unit/test_ipaddr.c, tests/validator/test_http01.c: loopback, multicast refused, "
              "no connection made",
              V + ": directory without allow_private -> invalid connection"],
    "HT-14": ["tests/validator/test_http01.c, test_concurrency.c: a server that never answers",
              V + ": silent server -> invalid connection naming the address"],
    "HT-15": ["tests/validator/test_http01.c: User-Agent, Accept, Connection: close, Host"],
    "HT-16": ["tests/validator/test_http01.c: a 10 KB page quoted to about 100 escaped bytes; "
              "connection, dns, tls and unauthorized failures"],
    "DN-01": ["tests/validator/test_dns01.c: the wildcard's base name",
              V + ": lego and certbot dns-01, a wildcard with lego"],
    "DN-02": ["tests/validator/test_dns01.c: two records, the second right"],
    "DN-03": ["tests/validator/test_dns01.c: value split over two strings; trailing space refused"],
    "DN-04": ["tests/validator/test_dns01.c: no TXT record"],
    "DN-05": ["tests/validator/test_dns01.c: SERVFAIL, a silent resolver",
              "tests/validator/test_caa.c: SERVFAIL and timeout on CAA"],
    "DN-07": ["tests/validator/test_dns01.c: 41 TXT records (about 2.5 KB)"],
    "DN-08": ["tests/validator/test_dns01.c: CNAME followed, CNAME loop -> dns",
              "tests/validator/test_caa.c: CNAME for CAA"],
    "DN-09": ["tests/validator/test_dns01.c: a corrected record seen on the next attempt",
              V + ": TXT added after the first attempt -> valid on a retry"],
    "AL-01": [V + ": lego tls-alpn-01 (the challenge as a real client reads it)",
              "tests/protocol/t_order.py: AZ_08 tokens"],
    "AL-02": ["tests/validator/test_tlsalpn01.c: the configured port, IPv6 then IPv4"],
    "AL-03": ["tests/validator/test_tlsalpn01.c: ALPN list exactly acme-tls/1, SNI"],
    "AL-04": ["tests/validator/test_tlsalpn01.c: a TLS 1.1-only server refused"],
    "AL-05": ["tests/validator/test_tlsalpn01.c: wrong ALPN"],
    "AL-06": ["tests/validator/test_tlsalpn01.c: two SANs, another name; SAN case ignored"],
    "AL-07": ["tests/validator/test_tlsalpn01.c: extension missing, not critical, wrong digest, "
              "trailing bytes", V + ": extension missing or not critical -> invalid unauthorized"],
    "AL-08": ["tests/validator/test_tlsalpn01.c: self-signed good certificate"],
    "AL-09": ["tests/validator/test_tlsalpn01.c: no application data after the handshake"],
    "AL-10": ["tests/validator/test_tlsalpn01.c: duplicate extension; loopback refused, no connection"],
    "AL-11": ["tests/validator/test_tlsalpn01.c: alert -> tls; refused, silent -> connection"],
    "AL-12": ["tests/validator/test_tlsalpn01.c: in-addr.arpa SNI and iPAddress SAN required"],
    "IP-04": ["tests/validator/test_http01.c: an IP validated with a resolver that never answers",
              "tests/validator/test_tlsalpn01.c: IP identifiers"],
    "IP-05": ["tests/validator/test_http01.c: Host: [::1]:port checked by the responder"],
    "IP-06": ["tests/validator/test_tlsalpn01.c: ip6.arpa SNI of 32 nibbles"],
    "IP-09": ["tests/validator/test_caa.c: an IP re-check passes with no lookup"],
    "CAA-01": ["tests/validator/test_caa.c, test_sched.c: checked after the challenge, wildcards "
               "on the base name", V + ": issue naming another CA -> invalid caa naming the name"],
    "CAA-02": ["tests/validator/test_caa.c: the RRset at a parent governs a.b.<parent>; a lower "
               "one overrides"],
    "CAA-03": ["tests/validator/test_caa.c: a CNAME to a name with issue \"other.ca\""],
    "CAA-04": ["tests/validator/test_caa.c: SERVFAIL and timeout -> dns; NODATA up to the TLD "
               "-> allowed"],
    "CAA-05": ["tests/validator/test_caa.c", V + ": lego with issue \"<ours>\"; issue "
               "\"other.ca\" -> caa"],
    "CAA-06": ["tests/validator/test_caa.c: \";\", \"%%%\" + ours"],
    "CAA-07": ["tests/validator/test_caa.c: issuewild for wildcards only, replacing issue"],
    "CAA-08": ["tests/validator/test_caa.c: iodef and unknown non-critical tags"],
    "CAA-09": ["tests/validator/test_caa.c: tag case, flags 128 and 1, flag 64 ignored"],
    "CAA-10": ["tests/validator/test_caa.c: whitespace trimmed, <ours>.evil.example refused"],
    "CAA-11": ["tests/validator/test_caa.c: accounturi matched exactly, duplicated -> unsatisfiable",
               V + ": this account's URL -> issued; another -> caa"],
    "CAA-12": ["tests/validator/test_caa.c: validationmethods syntax and matching",
               V + ": validationmethods=dns-01 with http-01 -> caa"],
    "CAA-13": ["tests/integration/dnssec.sh: dnssec_trust_anchor set, a signed zone served by "
               "knotd; a corrupted RRSIG on the CAA RRset -> invalid dns (DNSSEC validation "
               "failed, CAA); without the anchor the same name is issued"],
    "CAA-14": ["tests/validator/test_sched.c: a re-check queued by finalize records a fresh check "
               "or the caa error, without fetching the challenge"],
    "CAA-15": ["tests/validator/test_caa.c, " + V + ": the detail names the identifier, where "
               "the RRset was found and the rule"],
    "CAA-16": ["tests/validator/test_caa.c: unknown parameters ignored"],
}

REASONS = {
    "DA-*": "not implemented: dns-account-01 is a draft whose label construction still moves; "
            "not offered",
    "DP-*": "not implemented: dns-persist-01 is a draft (-00 and -02 differ); not offered",
    "DN-06": "partly: DNSSEC validation in the validator (dnssec_trust_anchor) is tested; "
             "query ids and source ports are libunbound's randomisation, with no capture test",
    "HT-13": "partly: every hop is resolved through the validation resolver and the "
             "connection pinned to the checked address (CURLOPT_CONNECT_TO, and a socket "
             "callback refusing any other); tested with names the system resolver does not "
             "know. A rebinding zone (answers changing between queries) needs a DNS server "
             "pebble-challtestsrv cannot play",
    "AZ-23": "not implemented: one vantage point. The server targets internal PKI, where "
             "validation from several networks is neither possible nor meaningful",
    "ERR-07": "implemented in core/router.c and core/resp.c (every POST response gets a nonce; "
              "5xx get Retry-After); the test needs fault injection (issue 7)",
    "ORD-23": "by design: in CA mode finalize signs inside its transaction, so an order is "
              "never seen processing; Retry-After on processing orders is sent (core/h_order.c) "
              "and tested with RA mode (issue 8)",
    "FIN-15": "by design: issuance is one transaction with the ready -> valid change; a "
              "signing failure aborts it, the order stays ready and the client gets 500 "
              "serverInternal with Retry-After, so no order is left processing",
}


def checklist_rows(path):
    rows = []
    section = ""
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            section = line[3:].strip()
        m = re.match(r"\| ([A-Z]+-\d+) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|", line)
        if m:
            req = m.group(4).strip()
            req = re.sub(r"\s+", " ", req)
            if len(req) > 110:
                req = req[:107].rsplit(" ", 1)[0] + " ..."
            rows.append((m.group(1), m.group(3).strip(), req, section))
    return rows


def protocol_tests():
    found = {}
    for path in sorted(glob.glob(os.path.join(TOP, "tests", "protocol", "t_*.py"))):
        text = open(path, encoding="utf-8").read()
        rel = os.path.relpath(path, TOP)
        for m in re.finditer(r'def (test_(\w+))\(ctx\):\n    """(.*?)"""', text, re.S):
            name, rest, doc = m.group(1), m.group(2), m.group(3)
            parts = rest.split("_")
            ids = []
            if parts and parts[0].isupper():
                for p in parts[1:]:
                    if not p.isdigit():
                        break
                    ids.append("%s-%s" % (parts[0], p))
            for extra in re.findall(r"ids:\s*([A-Z0-9 -]+)", doc):
                ids += extra.split()
            for i in ids:
                found.setdefault(i, []).append("%s: %s" % (rel, name))
    return found


def reason_for(rid):
    if rid in REASONS:
        return REASONS[rid]
    return REASONS.get(rid.split("-")[0] + "-*")


def render(rows):
    tests = protocol_tests()
    out = []
    counts = {"tested": 0, "planned": 0, "not implemented": 0, "by design": 0, "partly": 0,
              "implemented": 0}
    body = []
    current = None
    for rid, level, req, section in rows:
        if section != current:
            body.append("\n## %s\n\n| ID | Level | Requirement | Tests | Status |\n|---|---|---|---|---|" % section)
            current = section
        refs = tests.get(rid, []) + OTHER.get(rid, [])
        why = reason_for(rid)
        if refs and not (why and why.startswith("partly")):
            status = "tested"
        elif why:
            status = why
        else:
            status = "NO TEST"
        key = status.split(":")[0].split(" (")[0]
        if status == "tested":
            counts["tested"] += 1
        else:
            for k in counts:
                if key.startswith(k):
                    counts[k] += 1
                    break
        cell = "<br>".join(r.replace("|", "\\|") for r in refs) or "-"
        body.append("| %s | %s | %s | %s | %s |" % (rid, level, req.replace("|", "\\|"), cell,
                                                    status.replace("|", "\\|")))
    missing = [r[0] for r in rows if not tests.get(r[0]) and not OTHER.get(r[0]) and not reason_for(r[0])]
    out.append("# Conformance: the checklist, row by row\n")
    out.append("Generated by `scripts/conformance.py` from `../shared/acme-conformance.md` and the "
               "tests; `make check` fails when this file is out of date. Protocol tests live in "
               "`tests/protocol` and run against the real stack behind nginx "
               "(`tests/integration/protocol.sh`).\n")
    out.append("| Status | Rows |\n|---|---|")
    out.append("| tested | %d |" % counts["tested"])
    for k in ("partly", "implemented", "by design", "planned", "not implemented"):
        out.append("| %s | %d |" % (k, counts[k]))
    out.append("| total | %d |" % len(rows))
    if missing:
        out.append("\nRows with neither a test nor a reason: %s" % ", ".join(missing))
    out.append("\n## Documented choices\n")
    out.append("""* **Content-Type** of POSTs: the media type `application/jose+json` is compared
  case-insensitively and parameters (a charset) are ignored.
* **Malformed nonces** get `badNonce` (as Boulder does), so clients retry with the fresh
  nonce of the response.
* **JWS `url` mismatch** gets `unauthorized` (RFC 8555 section 6.4.1's word), status 403.
* **Deactivated accounts** get 401 `unauthorized` (RFC 8555 section 7.3.6).
* **Terms of service**, when required: newAccount without agreement gets 403
  `userActionRequired` with `Link: rel="terms-of-service"`.
* **Duplicate identifiers** in newOrder are merged after lower-casing.
* **Another account's resources** get 403 `unauthorized`.
* **Revocation reasons** accepted by default: 0, 1, 3, 4, 5 (`revocation_reasons`).
* **CSR extensions** other than subjectAltName, keyUsage, extendedKeyUsage,
  basicConstraints (CA:FALSE) and TLS feature are ignored when not critical (the profile
  decides the certificate's contents) and refused when critical.
""")
    return "\n".join(out) + "\n" + "\n".join(body) + "\n"


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    path = args[0] if args else DEFAULT_CHECKLIST
    if not os.path.exists(path):
        print("conformance: %s not found; nothing to check" % path)
        return 0
    text = render(checklist_rows(path))
    if "--check" in sys.argv:
        cur = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        if cur != text:
            print("docs/conformance.md is out of date: run scripts/conformance.py")
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
