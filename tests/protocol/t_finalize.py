"""Finalize, CSR checks and certificate download (checklist sections 11 and 12)."""

import base64
import concurrent.futures
import re

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtensionOID

from acmeclient import Key, b64u, make_csr, pem_certs, verify_issued_by
from common import links, problem


def ready_order(ctx, c, names, ips=()):
    r = c.new_order(names, ips=ips)
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    return url, c.wait(url, until=("ready",)).json()


def test_FIN_01_not_ready(ctx):
    """finalize a pending order, and a valid one: 403 orderNotReady"""
    c = ctx.account
    name = ctx.name()
    o = c.new_order([name]).json()
    csr = b64u(make_csr(Key(), [name]))
    problem(c.post(o["finalize"], {"csr": csr}, check=False), 403, "orderNotReady")
    url, o = ready_order(ctx, c, [name])
    c.post(o["finalize"], {"csr": csr})
    problem(c.post(o["finalize"], {"csr": csr}, check=False), 403, "orderNotReady")


def test_FIN_02_encoding(ctx):
    """PEM or padded base64 in csr: 400"""
    c = ctx.account
    name = ctx.name()
    _, o = ready_order(ctx, c, [name])
    der = make_csr(Key(), [name])
    pem = "-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n" % \
        base64.b64encode(der).decode()
    r = c.post(o["finalize"], {"csr": pem}, check=False)
    assert r.status_code == 400 and r.json()["type"].endswith(("malformed", "badCSR"))
    padded = base64.urlsafe_b64encode(der).decode()
    if not padded.endswith("="):
        padded = base64.urlsafe_b64encode(der + b"\0").decode()
    r = c.post(o["finalize"], {"csr": padded}, check=False)
    assert r.status_code == 400


def test_FIN_03_owner_only(ctx):
    """B finalizing A's order: 403 unauthorized"""
    a, b = ctx.account, ctx.client()
    name = ctx.name()
    _, o = ready_order(ctx, a, [name])
    problem(b.post(o["finalize"], {"csr": b64u(make_csr(Key(), [name]))}, check=False), 403,
            "unauthorized")


def test_FIN_04_05_names(ctx):
    """extra or missing names: badCSR; CN in capitals plus the SANs: accepted"""
    c = ctx.account
    a, b = ctx.name(), ctx.name()
    _, o = ready_order(ctx, c, [a, b])
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a, b, ctx.name()]))}, check=False),
            400, "badCSR")
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a]))}, check=False), 400, "badCSR")
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a, b], cn=ctx.name()))},
                   check=False), 400, "badCSR")
    r = c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a, b], cn=b.upper()))})
    assert r.json()["status"] in ("processing", "valid")


def test_FIN_05_cn_only(ctx):
    """a CSR with the name only in the CN is accepted"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    r = c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [], cn=a))})
    assert r.json()["status"] in ("processing", "valid")


def test_FIN_06_bad_then_good(ctx):
    """a bad CSR leaves the order ready; a good one then succeeds"""
    c = ctx.account
    a = ctx.name()
    url, o = ready_order(ctx, c, [a])
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [ctx.name()]))}, check=False), 400,
            "badCSR")
    assert c.get(url).json()["status"] == "ready"
    assert c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a]))}).status_code == 200


def test_FIN_07_account_key(ctx):
    """a CSR holding the account key: badCSR"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(c.key, [a]))}, check=False), 400, "badCSR")


def test_FIN_08_signature(ctx):
    """SHA-1-signed or corrupted CSR: badCSR"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    k = Key("rsa", 2048)
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(k, [a], hash_alg=hashes.SHA1()))},
                   check=False), 400, "badCSR")
    der = bytearray(make_csr(Key(), [a]))
    der[-5] ^= 0x55
    problem(c.post(o["finalize"], {"csr": b64u(bytes(der))}, check=False), 400, "badCSR")


def test_FIN_09_weak_key(ctx):
    """an RSA-1024 CSR key: badCSR"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key("rsa", 1024), [a]))}, check=False), 400,
            "badCSR")


def test_FIN_10_extensions(ctx):
    """CA:TRUE or an email SAN in the CSR: badCSR"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    ca = make_csr(Key(), [a], extra_ext=[(x509.BasicConstraints(ca=True, path_length=None), True)])
    problem(c.post(o["finalize"], {"csr": b64u(ca)}, check=False), 400, "badCSR")
    k = Key()
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(a), x509.RFC822Name("a@example.org")]), False)
    der = builder.sign(k.priv, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    problem(c.post(o["finalize"], {"csr": b64u(der)}, check=False), 400, "badCSR")


def test_FIN_11_trailing_bytes(ctx):
    """a CSR with garbage appended: 400"""
    c = ctx.account
    a = ctx.name()
    _, o = ready_order(ctx, c, [a])
    r = c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a]) + b"0123456789")}, check=False)
    assert r.status_code == 400 and r.json()["type"].endswith(("badCSR", "malformed"))


def test_FIN_13_concurrent_finalize(ctx):
    """10 parallel finalizes: one 200, nine 403 orderNotReady, one certificate"""
    c = ctx.account
    a = ctx.name()
    url, o = ready_order(ctx, c, [a])
    csr = b64u(make_csr(Key(), [a]))
    bodies = [c.jws(o["finalize"], {"csr": csr}) for _ in range(10)]

    def send(body):
        return requests.post(o["finalize"], json=body, verify=ctx.ca, timeout=60,
                             headers={"Content-Type": "application/jose+json"})
    with concurrent.futures.ThreadPoolExecutor(10) as ex:
        codes = sorted(r.status_code for r in ex.map(send, bodies))
    assert codes == [200] + [403] * 9, codes
    assert c.get(url).json()["status"] == "valid"


def test_FIN_14_deactivated_authz_at_finalize(ctx):
    """deactivate an authz of a ready order, finalize: orderNotReady, order invalid"""
    c = ctx.account
    a = ctx.name()
    url, o = ready_order(ctx, c, [a])
    c.post(o["authorizations"][0], {"status": "deactivated"})
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [a]))}, check=False), 403,
            "orderNotReady")
    assert c.get(url).json()["status"] == "invalid"


def test_FIN_16_17_certificate_contents(ctx):
    """SANs equal the order, SPKI equals the CSR's, AKI present, serial >= 64 bits"""
    c = ctx.account
    names = [ctx.name(), ctx.name()]
    k = Key()
    _, _, pem = c.issue(names, ctx.responder, cert_key=k)
    leaf = pem_certs(pem)[0]
    san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    assert leaf.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo) == k.spki_der()
    aki = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value
    assert aki.key_identifier
    assert leaf.serial_number.bit_length() >= 64
    bc = leaf.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and not bc.value.ca


def test_FIN_16_ip_certificate(ctx):
    """an IP identifier ends up as an iPAddress SAN"""
    import ipaddress
    c = ctx.account
    url, o = ready_order(ctx, c, [], ips=["127.0.0.1"])
    c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [], ips=["127.0.0.1"]))})
    o = c.wait(url, until=("valid",)).json()
    leaf = pem_certs(c.get(o["certificate"]).text)[0]
    san = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_CRT_01_02_03_08_download(ctx):
    """PEM chain, exact content type, leaf first, each certificate signed by the next"""
    c = ctx.account
    _, o, _ = c.issue([ctx.name()], ctx.responder)
    r = c.get(o["certificate"])
    assert r.headers["Content-Type"] == "application/pem-certificate-chain"
    text = r.text
    assert re.fullmatch(r"(-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+"
                        r"-----END CERTIFICATE-----\n)+", text), text[:200]
    certs = pem_certs(text)
    assert len(certs) >= 2
    for child, parent in zip(certs, certs[1:]):
        verify_issued_by(child, parent)
    with open(ctx.ca, "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    verify_issued_by(certs[-1], root)


def test_CRT_05_pkix_cert_and_up(ctx):
    """Accept: application/pkix-cert gives the DER leaf and Link rel=up to the issuer"""
    c = ctx.account
    _, o, pem = c.issue([ctx.name()], ctx.responder)
    r = c.post_raw(o["certificate"], c.jws(o["certificate"], ""),
                   headers={"Accept": "application/pkix-cert"})
    assert r.headers["Content-Type"] == "application/pkix-cert"
    leaf = x509.load_der_x509_certificate(r.content)
    assert leaf == pem_certs(pem)[0]
    up = links(r, "up")
    issuer = x509.load_der_x509_certificate(requests.get(up[0], verify=ctx.ca, timeout=30).content)
    verify_issued_by(leaf, issuer)
    r = c.post_raw(o["certificate"], c.jws(o["certificate"], ""), headers={"Accept": "text/html"})
    assert r.headers["Content-Type"] == "application/pem-certificate-chain"


def test_CRT_06_stable(ctx):
    """two fetches give the same bytes"""
    c = ctx.account
    _, o, pem = c.issue([ctx.name()], ctx.responder)
    assert c.get(o["certificate"]).text == pem


def test_CRT_07_owner(ctx):
    """B fetching A's certificate: 403 unauthorized"""
    a, b = ctx.account, ctx.client()
    _, o, _ = a.issue([ctx.name()], ctx.responder)
    problem(b.get(o["certificate"], check=False), 403, "unauthorized")


def test_CRT_04_alternate_chain(ctx):
    """the certificate links an alternate chain: same leaf, cross-signed issuer, links back"""
    c = ctx.account
    _, o, pem = c.issue([ctx.name()], ctx.responder)
    r = c.get(o["certificate"])
    alts = links(r, "alternate")
    assert len(alts) == 1 and alts[0] != o["certificate"]
    r2 = c.get(alts[0])
    assert r2.headers["Content-Type"] == "application/pem-certificate-chain"
    main, alt = pem_certs(pem), pem_certs(r2.text)
    assert alt[0] == main[0]
    with open(ctx.state + "/ca/alt/root.pem", "rb") as f:
        altroot = x509.load_pem_x509_certificate(f.read())
    assert alt[1] != main[1] and alt[1].issuer == altroot.subject
    verify_issued_by(alt[0], alt[1])
    verify_issued_by(alt[1], altroot)
    assert links(r2, "alternate") == [o["certificate"]]
