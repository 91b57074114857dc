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
    "ERR-02": ["every protocol test: common.problem() checks each type against the registry"],
    "HT-01": ["tests/validator/test_http01.c"],
    "HT-03": ["tests/validator/test_http01.c: wrong key authorization"],
    "HT-04": ["tests/validator/test_http01.c: trailing whitespace accepted, leading refused"],
    "HT-05": ["tests/validator/test_http01.c: 404"],
    "HT-06": ["tests/validator/test_http01.c: huge body"],
    "HT-09": ["tests/validator/test_http01.c: redirect to a forbidden port or scheme"],
    "HT-10": ["tests/validator/test_http01.c: redirect loop, too many redirects"],
    "HT-12": ["tests/unit/test_ipaddr.c, tests/validator/test_http01.c: private address refused"],
    "HT-14": ["tests/validator/test_http01.c, test_concurrency.c: a server that never answers"],
    "DN-02": ["tests/validator/test_dns01.c"],
    "DN-03": ["tests/validator/test_dns01.c: value split over two strings"],
    "DN-04": ["tests/validator/test_dns01.c: no TXT record"],
    "AL-05": ["tests/validator/test_tlsalpn01.c: wrong ALPN"],
    "AL-06": ["tests/validator/test_tlsalpn01.c: two SANs"],
    "AL-07": ["tests/validator/test_tlsalpn01.c: extension missing, not critical, wrong digest"],
    "AL-08": ["tests/validator/test_tlsalpn01.c: self-signed good certificate"],
}

REASONS = {
    "DIR-06": "planned: CAA checking (issue 4)",
    "DIR-08": "planned: External Account Binding (issue 5)",
    "EAB-*": "planned: External Account Binding (issue 5)",
    "RL-*": "planned: rate limits (issue 5)",
    "CAA-*": "planned: CAA checking (issue 4)",
    "HT-*": "planned: the hardened http-01 tests (issue 4)",
    "DN-*": "planned: the dns-01 tests (issue 4)",
    "AL-*": "planned: the tls-alpn-01 tests (issue 4)",
    "IP-04": "planned: validator tests for IP identifiers (issue 4)",
    "IP-05": "planned: validator tests for IP identifiers (issue 4)",
    "IP-06": "planned: validator tests for IP identifiers (issue 4)",
    "IP-09": "planned: CAA checking (issue 4)",
    "DA-*": "not implemented: dns-account-01 is a draft whose label construction still moves; "
            "not offered",
    "DP-*": "not implemented: dns-persist-01 is a draft (-00 and -02 differ); not offered",
    "AZ-22": "partly: the error and Retry-After while retrying are tested; a re-POST "
             "triggering an immediate, rate-limited retry is planned with issue 4",
    "AZ-23": "not implemented: one vantage point. The server targets internal PKI, where "
             "validation from several networks is neither possible nor meaningful",
    "ERR-07": "implemented in core/router.c and core/resp.c (every POST response gets a nonce; "
              "5xx get Retry-After); the test needs fault injection (issue 7)",
    "ACC-26": "implemented (core/h_account.c cancels pending orders and authorizations); "
              "the test needs acme-admin's order view (issue 5)",
    "ORD-23": "by design: in CA mode finalize signs inside its transaction, so an order is "
              "never seen processing; Retry-After on processing orders is sent (core/h_order.c) "
              "and tested with RA mode (issue 8)",
    "FIN-15": "by design: issuance is one transaction with the ready -> valid change; a "
              "signing failure aborts it, the order stays ready and the client gets 500 "
              "serverInternal with Retry-After, so no order is left processing",
    "REV-10": "not implemented (MAY): a revocation signed by the certificate key is recorded "
              "with the reason given; blocking the key for later issuance is not done",
    "ARI-05": "not implemented (MAY): no explanationURL",
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
