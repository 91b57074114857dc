"""JWS request authentication and POST-as-GET (checklist section 3)."""

import base64

from acmeclient import Key, b64u
from common import problem


def acct_url(c):
    return c.kid


def test_JWS_02_compact_refused(ctx):
    """a compact-serialized JWS: 400 malformed"""
    c = ctx.account
    j = c.jws(c.kid, "")
    r = c.post_raw(c.kid, "%s.%s.%s" % (j["protected"], j["payload"], j["signature"]))
    problem(r, 400, "malformed")


def test_JWS_03_signatures_and_header_refused(ctx):
    """a signatures array, or an unprotected header member: 400 malformed"""
    c = ctx.account
    j = c.jws(c.kid, "")
    problem(c.post_raw(c.kid, {"payload": j["payload"], "signatures": [
        {"protected": j["protected"], "signature": j["signature"]}]}), 400, "malformed")
    j = c.jws(c.kid, "")
    j["header"] = {}
    problem(c.post_raw(c.kid, j), 400, "malformed")


def test_JWS_04_b64_false_and_missing_payload(ctx):
    """b64:false and a missing payload member are refused"""
    c = ctx.account
    r = c.post(c.kid, "", extra_header={"b64": False, "crit": ["b64"]}, check=False)
    assert r.status_code == 400
    j = c.jws(c.kid, "")
    del j["payload"]
    problem(c.post_raw(c.kid, j), 400, "malformed")


def test_JWS_05_unknown_crit(ctx):
    """crit naming an unimplemented parameter: 400 malformed"""
    c = ctx.account
    problem(c.post(c.kid, "", extra_header={"crit": ["exp"], "exp": 1}, check=False), 400,
            "malformed")


def test_JWS_06_required_members(ctx):
    """alg, url missing: malformed; nonce missing: badNonce"""
    c = ctx.account
    problem(c.post(c.kid, "", drop=("alg",), check=False), 400, "malformed")
    problem(c.post(c.kid, "", drop=("url",), check=False), 400, "malformed")
    problem(c.post(c.kid, "", drop=("nonce",), check=False), 400, "badNonce")
    problem(c.post(c.kid, "", drop=("kid",), check=False, use_jwk=False), 400, "malformed")


def test_JWS_07_jwk_and_kid(ctx):
    """both jwk and kid: 400 malformed"""
    c = ctx.account
    problem(c.post(c.kid, "", extra_header={"jwk": c.key.jwk()}, check=False), 400, "malformed")


def test_JWS_08_none_and_mac(ctx):
    """alg none and HS256: badSignatureAlgorithm"""
    c = ctx.account
    for alg in ("none", "HS256"):
        j = c.jws(c.kid, "", extra_header={"alg": alg})
        doc = problem(c.post_raw(c.kid, j), 400, "badSignatureAlgorithm")
        assert "ES256" in doc["algorithms"]


def test_JWS_09_es256(ctx):
    """ES256 newAccount: 201"""
    c = ctx.client(Key("p256"), register=False)
    assert c.new_account().status_code == 201


def test_JWS_10_eddsa(ctx):
    """EdDSA with Ed25519 and Ed448 accounts work end to end"""
    for kind in ("ed25519", "ed448"):
        c = ctx.client(Key(kind), register=False)
        assert c.new_account().status_code == 201
        assert c.get(c.kid).status_code == 200


def test_JWS_algorithms_rsa_pss_ecdsa(ctx):
    """RS256/384/512, PS256/384/512, ES384, ES512 accounts are accepted"""
    for kind in ("p384", "p521"):
        c = ctx.client(Key(kind), register=False)
        assert c.new_account().status_code == 201
    k = Key("rsa", 2048)
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        c = ctx.client(k, register=False)
        r = c.new_account(alg=alg)
        assert r.status_code in (200, 201), (alg, r.text)
        assert c.post(c.kid, "", alg=alg).status_code == 200


def test_JWS_11_unknown_alg(ctx):
    """an unknown alg: badSignatureAlgorithm with a non-empty algorithms array"""
    c = ctx.account
    doc = problem(c.post_raw(c.kid, c.jws(c.kid, "", extra_header={"alg": "XX512"})), 400,
                  "badSignatureAlgorithm")
    assert len(doc["algorithms"]) >= 6


def test_JWS_12_weak_rsa(ctx):
    """RSA below 2048 bits: badPublicKey"""
    c = ctx.client(Key("rsa", 1024), register=False)
    problem(c.new_account(check=False), 400, "badPublicKey")


def test_JWS_13_der_ecdsa(ctx):
    """an ES256 signature sent DER-encoded: 400 malformed, no account"""
    c = ctx.client(Key("p256"), register=False)
    r = c.new_account(check=False, der_sig=True)
    problem(r, 400, "malformed")
    r = c.new_account({"onlyReturnExisting": True}, check=False)
    problem(r, 400, "accountDoesNotExist")


def test_JWS_14_alg_key_mismatch(ctx):
    """ES256 header with a P-384 key; a JWK alg member that disagrees"""
    c = ctx.client(Key("p384"), register=False)
    r = c.post_raw(c.directory["newAccount"], c.jws(c.directory["newAccount"],
                   {"termsOfServiceAgreed": True}, use_jwk=True, extra_header={"alg": "ES256"}))
    assert r.status_code == 400 and r.json()["type"].endswith(("malformed", "badPublicKey"))
    k = Key("p256")
    jwk = dict(k.jwk(), alg="RS256")
    c = ctx.client(k, register=False)
    r = c.post_raw(c.directory["newAccount"], c.jws(c.directory["newAccount"], {},
                   use_jwk=True, extra_header={"jwk": jwk}))
    assert r.status_code == 400


def test_JWS_15_jwk_structure(ctx):
    """an off-curve point is badPublicKey; a JWK with a private member is malformed"""
    k = Key("p256")
    c = ctx.client(k, register=False)
    jwk = k.jwk()
    y = bytearray(base64.urlsafe_b64decode(jwk["y"] + "="))
    y[-1] ^= 1
    bad = dict(jwk, y=b64u(bytes(y)))
    r = c.post_raw(c.directory["newAccount"], c.jws(c.directory["newAccount"], {},
                   use_jwk=True, extra_header={"jwk": bad}))
    problem(r, 400, "badPublicKey")
    priv = dict(jwk, d=b64u(b"\x01" * 32))
    r = c.post_raw(c.directory["newAccount"], c.jws(c.directory["newAccount"], {},
                   use_jwk=True, extra_header={"jwk": priv}))
    problem(r, 400, "malformed")


def test_JWS_16_signature_checked_first(ctx):
    """one flipped signature bit: 400 malformed and no state change"""
    c = ctx.client()
    j = c.jws(c.kid, {"contact": ["mailto:changed@example.org"]})
    sig = bytearray(base64.urlsafe_b64decode(j["signature"] + "=="))
    sig[5] ^= 1
    j["signature"] = b64u(bytes(sig))
    problem(c.post_raw(c.kid, j), 400, "malformed")
    assert c.get(c.kid).json()["contact"] == ["mailto:test@example.org"]


def test_JWS_17_url_mismatch(ctx):
    """signed for newOrder, sent to newAccount: refused; url not a string: malformed"""
    c = ctx.account
    j = c.jws(c.directory["newOrder"], {"identifiers": [{"type": "dns", "value": ctx.name()}]})
    r = c.post_raw(c.directory["newAccount"], j)
    assert 400 <= r.status_code < 500
    assert r.json()["type"].endswith(("unauthorized", "malformed"))
    r = c.post(c.kid, "", extra_header={"url": 5}, check=False)
    problem(r, 400, "malformed")


def test_JWS_18_url_exact(ctx):
    """url with a different spelling of the same resource is refused"""
    c = ctx.account
    other = c.kid.replace("https://localhost", "https://LOCALHOST")
    r = c.post_raw(c.kid, c.jws(other, ""))
    assert 400 <= r.status_code < 500


def test_JWS_19_unknown_kid(ctx):
    """a kid that names no account: accountDoesNotExist"""
    c = ctx.account
    r = c.post(c.kid, "", kid=ctx.url(path="acct/AAAAAAAAAAAAAAAAAAAAAA"), check=False)
    problem(r, 400, "accountDoesNotExist")


def test_JWS_19_kid_of_another_directory(ctx):
    """a kid of another directory is refused"""
    c = ctx.account
    other = c.kid.replace("/acme/default/", "/acme/other/")
    r = c.post(ctx.url("other", "new-order"), {"identifiers": [{"type": "dns", "value": ctx.name()}]},
               kid=other, check=False)
    problem(r, 400, "accountDoesNotExist")


def test_JWS_20_jwk_vs_kid(ctx):
    """newOrder with jwk: malformed; newAccount with kid: malformed"""
    c = ctx.account
    r = c.post(c.directory["newOrder"], {"identifiers": [{"type": "dns", "value": ctx.name()}]},
               use_jwk=True, check=False)
    problem(r, 400, "malformed")
    r = c.post(c.directory["newAccount"], {"termsOfServiceAgreed": True}, check=False)
    problem(r, 400, "malformed")


def test_JWS_21_padding(ctx):
    """base64url with padding in the protected header: malformed"""
    c = ctx.account
    j = c.jws(c.kid, "")
    hdr = base64.urlsafe_b64encode(base64.urlsafe_b64decode(j["protected"] + "==")).decode()
    if not hdr.endswith("="):
        hdr = base64.urlsafe_b64encode(base64.urlsafe_b64decode(j["protected"] + "==") + b" ").decode()
    r = c.post_raw(c.kid, c.jws(c.kid, "", protected_override=hdr))
    problem(r, 400, "malformed")


def test_JWS_22_post_as_get(ctx):
    """POST-as-GET of one's own order: 200 with the order"""
    c = ctx.account
    r = c.new_order([ctx.name()])
    assert c.get(r.headers["Location"]).json()["identifiers"] == r.json()["identifiers"]


def test_JWS_23_fetch_only_payload(ctx):
    """a non-empty payload on an order URL: 400 malformed"""
    c = ctx.account
    url = c.new_order([ctx.name()]).headers["Location"]
    problem(c.post(url, {}, check=False), 400, "malformed")


def test_JWS_24_other_accounts_resources(ctx):
    """account B fetching A's order, authorization and challenge: 403 unauthorized"""
    a = ctx.account
    b = ctx.client()
    r = a.new_order([ctx.name()])
    order = r.json()
    problem(b.get(r.headers["Location"], check=False), 403, "unauthorized")
    problem(b.get(order["authorizations"][0], check=False), 403, "unauthorized")
    ch = a.get(order["authorizations"][0]).json()["challenges"][0]["url"]
    problem(b.get(ch, check=False), 403, "unauthorized")
    problem(b.post(ch, {}, check=False), 403, "unauthorized")


def test_JWS_25_payload_not_json(ctx):
    """a payload that is not a JSON object: malformed"""
    c = ctx.account
    problem(c.post(c.kid, b"not json", check=False), 400, "malformed")
    problem(c.post(c.kid, b"[1,2]", check=False), 400, "malformed")


def test_JWS_27_duplicate_header_member(ctx):
    """two url members in the protected header: malformed"""
    c = ctx.account
    hdr = '{"alg":"ES256","nonce":"%s","url":"%s","url":"%s","kid":"%s"}' % (
        c.nonce(), c.kid, c.kid, c.kid)
    j = c.jws(c.kid, "", protected_override=b64u(hdr))
    problem(c.post_raw(c.kid, j), 400, "malformed")


def test_JWS_deep_json(ctx):
    """deeply nested JSON in the payload: malformed, no crash"""
    c = ctx.account
    problem(c.post(c.directory["newOrder"], b"[" * 5000 + b"]" * 5000, check=False), 400,
            "malformed")
    assert c.get(c.kid).status_code == 200


def test_JWS_duplicate_payload_member(ctx):
    """duplicate members in a payload: malformed"""
    c = ctx.account
    problem(c.post(c.directory["newOrder"],
                   b'{"identifiers":[{"type":"dns","value":"a.example.com"}],"identifiers":[]}',
                   check=False), 400, "malformed")
