"""Revocation, CRLs, ARI, profiles, IP identifiers (checklist sections 13, 15, 16, 17)."""

import datetime
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from acmeclient import Client, Key, b64u, make_csr, pem_certs
from common import problem
from t_account import inner_jws


def der_of(pem):
    return pem_certs(pem)[0].public_bytes(serialization.Encoding.DER)


def crl(ctx, directory="default"):
    r = requests.get(ctx.url(directory, "crl"), verify=ctx.ca, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(r.content)


def issuer(ctx):
    with open(ctx.state + "/ca/intermediate.pem", "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def ari_id(cert):
    aki = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    serial = cert.serial_number
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big")   # DER: keeps a leading 0x00
    return b64u(aki.key_identifier) + "." + b64u(raw)


def test_REV_01_05_by_account_and_crl(ctx):
    """revocation by the ordering account: 200, and the CRL lists the serial"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    r = c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem)), "reason": 4})
    assert r.status_code == 200
    leaf = pem_certs(pem)[0]
    lst = crl(ctx)
    entry = lst.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
        x509.ReasonFlags.superseded
    assert lst.is_signature_valid(issuer(ctx).public_key())
    assert lst.next_update > datetime.datetime.utcnow()


def test_REV_01_04_by_certificate_key(ctx):
    """revocation signed with the certificate's key (jwk); another key: 403"""
    c = ctx.account
    k = Key()
    _, _, pem = c.issue([ctx.name()], ctx.responder, cert_key=k)
    other = Client(ctx.dir_url, ctx.ca, Key())
    problem(other.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))},
                       use_jwk=True, check=False), 403, "unauthorized")
    kc = Client(ctx.dir_url, ctx.ca, k)
    assert kc.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))},
                   use_jwk=True).status_code == 200


def test_REV_02_pem_refused(ctx):
    """PEM in certificate: malformed"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    problem(c.post(c.directory["revokeCert"], {"certificate": pem}, check=False), 400, "malformed")


def test_REV_03_other_account_with_authorizations(ctx):
    """B with valid authzs for all names may revoke; B covering some names may not"""
    a = ctx.client()
    n1, n2 = ctx.name(), ctx.name()
    _, _, pem = a.issue([n1, n2], ctx.responder)
    b = ctx.client()
    b.issue([n1], ctx.responder)
    problem(b.post(a.directory["revokeCert"], {"certificate": b64u(der_of(pem))}, check=False), 403,
            "unauthorized")
    b.issue([n2], ctx.responder)
    assert b.post(a.directory["revokeCert"], {"certificate": b64u(der_of(pem))}).status_code == 200


def test_REV_06_already_revoked(ctx):
    """revoking twice: alreadyRevoked"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))})
    problem(c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))}, check=False), 400,
            "alreadyRevoked")


def test_REV_07_08_reasons(ctx):
    """reasons 7, 11 and 6 (not allowed here): badRevocationReason listing the accepted ones"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    for reason in (7, 11, 6):
        doc = problem(c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem)),
                                                         "reason": reason}, check=False),
                      400, "badRevocationReason")
        assert "keyCompromise" in doc["detail"]
    assert c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem)),
                                              "reason": 4}).status_code == 200


def test_REV_09_no_reason_no_extension(ctx):
    """without a reason the CRL entry has no reasonCode"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))})
    entry = crl(ctx).get_revoked_certificate_by_serial_number(pem_certs(pem)[0].serial_number)
    assert entry is not None
    assert not [e for e in entry.extensions if isinstance(e.value, x509.CRLReason)]


def crl_reason(ctx, pem):
    entry = crl(ctx).get_revoked_certificate_by_serial_number(pem_certs(pem)[0].serial_number)
    assert entry is not None
    return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason


def test_REV_10_key_signed_is_key_compromise(ctx):
    """revoked with the certificate's key (reason 0): keyCompromise, and the key is blocked
    everywhere: its CSR gets badCSR, newAccount and keyChange with it badPublicKey"""
    c = ctx.account
    k = Key()   # fresh: no other test may use a key this test blocks
    name = ctx.name()
    _, _, pem = c.issue([name], ctx.responder, cert_key=k)
    kc = Client(ctx.dir_url, ctx.ca, k)
    assert kc.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem)), "reason": 0},
                   use_jwk=True).status_code == 200
    assert crl_reason(ctx, pem) == x509.ReasonFlags.key_compromise
    r = c.new_order([name])
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    doc = problem(c.post(o["finalize"], {"csr": b64u(make_csr(k, [name]))}, check=False), 400,
                  "badCSR")
    assert "compromised" in doc["detail"]
    for directory in ("default", "public"):
        problem(ctx.client(key=k, directory=directory, register=False).new_account(check=False),
                400, "badPublicKey")
    a = ctx.client()
    problem(a.post(a.directory["keyChange"], inner_jws(a, k), check=False), 400, "badPublicKey")
    # Only that key: the same order finalizes with another.
    assert c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [name]))}).status_code == 200
    assert c.wait(url).json()["status"] == "valid"


def test_REV_10_other_account_is_cessation(ctx):
    """B, holding authorizations for all the names, revokes A's certificate with reason 1:
    cessationOfOperation, and the key stays usable; A's own reason 1 blocks it"""
    a, b = ctx.client(), ctx.client()
    name = ctx.name()
    k = Key()
    _, _, pem = a.issue([name], ctx.responder, cert_key=k)
    b.issue([name], ctx.responder)
    assert b.post(b.directory["revokeCert"], {"certificate": b64u(der_of(pem)),
                                              "reason": 1}).status_code == 200
    assert crl_reason(ctx, pem) == x509.ReasonFlags.cessation_of_operation
    _, _, pem = a.issue([name], ctx.responder, cert_key=k)
    assert a.post(a.directory["revokeCert"], {"certificate": b64u(der_of(pem)),
                                              "reason": 1}).status_code == 200
    assert crl_reason(ctx, pem) == x509.ReasonFlags.key_compromise
    r = a.new_order([name])
    url, o = r.headers["Location"], r.json()
    a.solve_http01(o, ctx.responder)
    a.wait(url, until=("ready",))
    problem(a.post(o["finalize"], {"csr": b64u(make_csr(k, [name]))}, check=False), 400, "badCSR")


def test_REV_11_foreign_certificate(ctx):
    """a certificate this CA did not issue: 404"""
    c = ctx.account
    with open(ctx.state + "/tls/server.pem", "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_bytes(serialization.Encoding.DER)
    problem(c.post(c.directory["revokeCert"], {"certificate": b64u(der)}, check=False), 404,
            "malformed")


def test_CRL_distribution_point(ctx):
    """certificates name the CRL URL, which serves a CRL with a number"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    dp = pem_certs(pem)[0].extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = dp[0].full_name[0].value
    assert url == ctx.url(path="crl")
    lst = crl(ctx)
    assert lst.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number >= 1


def test_ARI_01_02_04_06_window(ctx):
    """renewalInfo: unauthenticated GET, start < end, Retry-After, query string ignored"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    leaf = pem_certs(pem)[0]
    url = c.directory["renewalInfo"] + "/" + ari_id(leaf)
    r = requests.get(url, verify=ctx.ca, timeout=30)
    assert r.status_code == 200, r.text
    w = r.json()["suggestedWindow"]
    assert w["start"] < w["end"]
    assert r.headers["Retry-After"].isdigit()
    r2 = requests.get(url + "?x=1", verify=ctx.ca, timeout=30)
    assert r2.json() == r.json()


def test_ARI_02_rfc_vector_shape(ctx):
    """the RFC 9773 example id is well formed but unknown here: 404"""
    c = ctx.account
    r = requests.get(c.directory["renewalInfo"] + "/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
                     verify=ctx.ca, timeout=30)
    problem(r, 404, "malformed")


def test_ARI_03_malformed_id(ctx):
    """ids without a dot, with padding, bad base64url: 400"""
    c = ctx.account
    for bad in ("abc", "aYhb=.AIdl", "a+b.cd", "."):
        r = requests.get(c.directory["renewalInfo"] + "/" + bad, verify=ctx.ca, timeout=30)
        assert r.status_code in (400, 404), (bad, r.status_code)
        if bad != ".":
            assert r.status_code == 400, bad
    problem(c.new_order([ctx.name()], replaces="garbage", check=False), 400, "malformed")


def test_ARI_07_revoked_window_in_past(ctx):
    """a revoked certificate's window ends in the past"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))})
    w = requests.get(c.directory["renewalInfo"] + "/" + ari_id(pem_certs(pem)[0]), verify=ctx.ca,
                     timeout=30).json()["suggestedWindow"]
    end = datetime.datetime.strptime(w["end"], "%Y-%m-%dT%H:%M:%SZ")
    assert end <= datetime.datetime.utcnow()


def test_ARI_08_10_11_replaces(ctx):
    """replaces is echoed; a second replacement: alreadyReplaced; after an invalid one: allowed"""
    c = ctx.client()
    name = ctx.name()
    _, _, pem = c.issue([name], ctx.responder)
    rid = ari_id(pem_certs(pem)[0])
    r = c.new_order([name], replaces=rid)
    assert r.json()["replaces"] == rid
    first = r.headers["Location"]
    assert c.get(first).json()["replaces"] == rid
    r = c.new_order([name], replaces=rid, check=False)
    problem(r, 409, "alreadyReplaced")
    # Make the first replacement invalid, then replace again.
    for az in c.get(first).json()["authorizations"]:
        c.post(az, {"status": "deactivated"})
    assert c.get(first).json()["status"] == "invalid"
    assert c.new_order([name], replaces=rid).status_code == 201


def test_ARI_09_replaces_rules(ctx):
    """another account's certificate: 403; disjoint identifiers: malformed"""
    a, b = ctx.client(), ctx.client()
    name = ctx.name()
    _, _, pem = a.issue([name], ctx.responder)
    rid = ari_id(pem_certs(pem)[0])
    problem(b.new_order([name], replaces=rid, check=False), 403, "unauthorized")
    problem(a.new_order([ctx.name()], replaces=rid, check=False), 400, "malformed")


def test_PRF_01_02_04_05_profiles(ctx):
    """meta.profiles; unknown profile invalidProfile; profile shown; default recorded"""
    c = ctx.account
    prof = requests.get(ctx.dir_url, verify=ctx.ca, timeout=30).json()["meta"]["profiles"]
    assert "shortlived" in prof and "tlsserver" in prof
    problem(c.new_order([ctx.name()], profile="nope", check=False), 400, "invalidProfile")
    r = c.new_order([ctx.name()], profile="tlsserver")
    assert r.json()["profile"] == "tlsserver"
    assert c.get(r.headers["Location"]).json()["profile"] == "tlsserver"
    assert c.new_order([ctx.name()]).json()["profile"] == "shortlived"


def test_PRF_03_identifier_type(ctx):
    """a profile that cannot carry IP identifiers: invalidProfile"""
    c = ctx.account
    problem(c.new_order([], ips=["127.0.0.1"], profile="dnsonly", check=False), 400, "invalidProfile")


def test_PRF_07_profile_decides_lifetime(ctx):
    """the same CSR under two profiles: only the lifetime differs, as configured"""
    c = ctx.account
    k = Key()
    name = ctx.name()
    lives = {}
    for p in ("shortlived", "tlsserver"):
        _, _, pem = c.issue([name], ctx.responder, cert_key=k, profile=p)
        leaf = pem_certs(pem)[0]
        lives[p] = (leaf.not_valid_after - leaf.not_valid_before).total_seconds()
    assert abs(lives["shortlived"] - (160 * 3600 + 60)) <= 2, lives
    assert abs(lives["tlsserver"] - (90 * 86400 + 60)) <= 2, lives


def test_IP_01_02_ip_identifiers(ctx):
    """canonical IPs accepted; non-canonical forms refused"""
    c = ctx.account
    assert c.new_order([], ips=["2001:db8::10"]).status_code == 201
    for bad in ("2001:DB8::10", "2001:0db8::10", "010.0.0.1", "::ffff:192.0.2.1"):
        r = c.new_order([], ips=[bad], check=False)
        problem(r, 400, "malformed")


def test_IP_08_ip_in_cn(ctx):
    """an IP address in the CSR's CN: badCSR"""
    c = ctx.account
    r = c.new_order([], ips=["127.0.0.1"])
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [], ips=["127.0.0.1"], cn="127.0.0.1"))},
                   check=False), 400, "badCSR")


def test_REV_12_revocation_reflected_quickly(ctx):
    """a revocation appears in the CRL at once (and ARI, see ARI_07)"""
    c = ctx.account
    _, _, pem = c.issue([ctx.name()], ctx.responder)
    before = time.time()
    c.post(c.directory["revokeCert"], {"certificate": b64u(der_of(pem))})
    assert crl(ctx).get_revoked_certificate_by_serial_number(pem_certs(pem)[0].serial_number)
    assert time.time() - before < 30


def test_IP_03_special_purpose_refused(ctx):
    """a directory without allow_private refuses loopback, private and documentation IPs"""
    c = ctx.client(directory="public")
    for ip in ("127.0.0.1", "10.1.1.1", "192.0.2.10", "fe80::1"):
        doc = problem(c.new_order([], ips=[ip], check=False), 400, "rejectedIdentifier")
        assert ip in str(doc)
    assert c.new_order([], ips=["8.8.8.8"]).status_code == 201
