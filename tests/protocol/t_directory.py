"""Directory, transport and nonces (checklist sections 1 and 2)."""

import re
import time

import requests

from acmeclient import Key, b64u
from common import has_nonce, index_link, problem


def get(ctx, url, method="GET", **kw):
    return requests.request(method, url, verify=ctx.ca, timeout=30, **kw)


def test_DIR_02_directory_urls(ctx):
    """GET directory gives the five resources as absolute https URLs"""
    r = get(ctx, ctx.dir_url)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    d = r.json()
    for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
        assert d[k].startswith(ctx.base + "/"), (k, d[k])
    assert "no-store" not in r.headers.get("Cache-Control", "")


def test_DIR_03_post_as_get(ctx):
    """POST-as-GET on the directory answers the same object"""
    c = ctx.account
    r = c.get(ctx.dir_url)
    assert r.status_code == 200
    assert r.json() == get(ctx, ctx.dir_url).json()


def test_DIR_04_new_authz_published_and_works(ctx):
    """newAuthz is published because pre-authorization is implemented"""
    d = get(ctx, ctx.dir_url).json()
    assert d["newAuthz"].endswith("/new-authz")


def test_DIR_05_meta_types(ctx):
    """meta members have their registered types"""
    meta = get(ctx, ctx.dir_url).json()["meta"]
    assert isinstance(meta["externalAccountRequired"], bool)
    for k in ("termsOfService", "website"):
        if k in meta:
            assert isinstance(meta[k], str) and meta[k].startswith("http")
    if "caaIdentities" in meta:
        assert all(isinstance(x, str) for x in meta["caaIdentities"])
    assert isinstance(meta["profiles"], dict)
    assert all(isinstance(v, str) for v in meta["profiles"].values())


def test_DIR_07_terms_published_when_required(ctx):
    """a directory that requires ToS agreement publishes its URL"""
    meta = get(ctx, ctx.url("tos")).json()["meta"]
    assert meta["termsOfService"].startswith("https://")


def test_DIR_09_index_link_everywhere(ctx):
    """responses other than the directory carry Link rel=index, errors included"""
    r = get(ctx, ctx.url(path="new-nonce"))
    index_link(r, ctx.dir_url)
    r = get(ctx, ctx.url(path="new-order"))
    index_link(r, ctx.dir_url)
    c = ctx.account
    r = c.get(c.kid)
    index_link(r, ctx.dir_url)
    r = c.post(ctx.url(path="order/AAAAAAAAAAAAAAAAAAAAAA"), "", check=False)
    assert r.status_code == 404
    index_link(r, ctx.dir_url)


def test_DIR_10_unguessable_ids(ctx):
    """order and authorization URLs carry 128-bit random ids, no account id"""
    c = ctx.account
    a = c.new_order([ctx.name()]).json()
    b = c.new_order([ctx.name()]).json()
    for o in (a, b):
        tail = o["finalize"].rsplit("/", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", tail), tail
        assert c.kid.rsplit("/", 1)[1] not in o["finalize"]
    assert a["finalize"] != b["finalize"]


def test_DIR_11_cors(ctx):
    """CORS: Access-Control-Allow-Origin * and exposed headers; preflight answers"""
    r = get(ctx, ctx.dir_url, headers={"Origin": "https://app.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Replay-Nonce" in r.headers["Access-Control-Expose-Headers"]
    r = get(ctx, ctx.url(path="new-account"), method="OPTIONS",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert 200 <= r.status_code < 300
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]


def test_DIR_13_wrong_method(ctx):
    """GET on POST-only resources and PUT anywhere: 405 malformed with Allow"""
    for path in ("new-order", "new-account", "order/AAAAAAAAAAAAAAAAAAAAAA"):
        r = get(ctx, ctx.url(path=path))
        problem(r, 405, "malformed")
        assert "POST" in r.headers["Allow"]
    r = get(ctx, ctx.url(path="new-account"), method="PUT", data="{}")
    problem(r, 405, "malformed")


def test_HTTP_unknown_resource_404(ctx):
    """an unknown resource or directory is 404 with a problem document"""
    problem(get(ctx, ctx.url(path="nonsense")), 404, "malformed")
    problem(get(ctx, ctx.base + "/acme/nodir/directory"), 404, "malformed")
    problem(get(ctx, ctx.url(path="order/a/b/c")), 404, "malformed")


def test_NON_01_head(ctx):
    """HEAD newNonce: 200, a nonce, no body, Cache-Control no-store

    ids: NON-03
    """
    r = get(ctx, ctx.url(path="new-nonce"), method="HEAD")
    assert r.status_code == 200
    has_nonce(r)
    assert r.content == b""
    assert "no-store" in r.headers["Cache-Control"]


def test_NON_02_get(ctx):
    """GET newNonce: 204 with a nonce and no-store"""
    r = get(ctx, ctx.url(path="new-nonce"))
    assert r.status_code == 204
    has_nonce(r)
    assert "no-store" in r.headers["Cache-Control"]


def test_NON_04_post_as_get(ctx):
    """POST-as-GET newNonce works and returns a nonce"""
    c = ctx.account
    r = c.get(ctx.url(path="new-nonce"))
    assert r.status_code == 200
    has_nonce(r)


def test_NON_05_nonce_on_every_post(ctx):
    """every POST response has a fresh nonce, errors included"""
    c = ctx.account
    r = c.get(c.kid)
    n1 = has_nonce(r)
    jws = c.jws(c.kid, "")
    jws["signature"] = jws["signature"][:-4] + ("AAAA" if jws["signature"][-4:] != "AAAA" else "BBBB")
    r = c.post_raw(c.kid, jws)
    assert r.status_code == 400
    n2 = has_nonce(r)
    assert n1 != n2


def test_NON_06_nonces_unique_and_random(ctx):
    """1000 nonces: unique, >= 22 base64url characters"""
    s = requests.Session()
    s.verify = ctx.ca
    s.trust_env = False
    seen = set()
    for _ in range(1000):
        n = s.head(ctx.url(path="new-nonce"), timeout=30).headers["Replay-Nonce"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", n)
        seen.add(n)
    assert len(seen) == 1000


def test_NON_07_foreign_nonce(ctx):
    """a nonce the server never issued: 400 badNonce"""
    c = ctx.account
    r = c.post(c.kid, "", nonce="AAAAAAAAAAAAAAAAAAAAAA", check=False)
    problem(r, 400, "badNonce")


def test_NON_08_replay(ctx):
    """the same signed request twice: the second is badNonce"""
    c = ctx.account
    jws = c.jws(c.kid, "")
    assert c.post_raw(c.kid, jws).status_code == 200
    problem(c.post_raw(c.kid, jws), 400, "badNonce")


def test_NON_08_replay_has_no_side_effect(ctx):
    """a replayed newOrder creates no second order"""
    c = ctx.client()
    jws = c.jws(c.directory["newOrder"], {"identifiers": [{"type": "dns", "value": ctx.name()}]})
    assert c.post_raw(c.directory["newOrder"], jws).status_code == 201
    problem(c.post_raw(c.directory["newOrder"], jws), 400, "badNonce")
    orders = c.get(c.get(c.kid).json()["orders"]).json()["orders"]
    assert len(orders) == 1


def test_NON_09_missing_nonce(ctx):
    """no nonce in the protected header: badNonce"""
    c = ctx.account
    problem(c.post(c.kid, "", drop=("nonce",), check=False), 400, "badNonce")


def test_NON_10_malformed_nonce(ctx):
    """a nonce that is not base64url: badNonce (retryable; documented)"""
    c = ctx.account
    r = c.post(c.kid, "", nonce="a+b/=", check=False)
    problem(r, 400, "badNonce")
    has_nonce(r)


def test_NON_11_badnonce_retry_succeeds(ctx):
    """the nonce in a badNonce response works for the retry"""
    c = ctx.account
    r = c.post(c.kid, "", nonce="AAAAAAAAAAAAAAAAAAAAAA", check=False)
    n = has_nonce(r)
    r = c.post_raw(c.kid, c.jws(c.kid, "", nonce=n))
    assert r.status_code == 200


def test_NON_12_nonce_any_endpoint(ctx):
    """a nonce from newNonce works on another endpoint a while later"""
    c = ctx.account
    n = get(ctx, ctx.url(path="new-nonce")).headers["Replay-Nonce"]
    time.sleep(2)
    r = c.post_raw(c.directory["newOrder"],
                   c.jws(c.directory["newOrder"], {"identifiers": [{"type": "dns", "value": ctx.name()}]},
                         nonce=n))
    assert r.status_code == 201, r.text


def test_DIR_12_utf8_identifier(ctx):
    """a U-label identifier is refused; its A-label is accepted"""
    c = ctx.account
    r = c.new_order(["b\u00fccher.example"], check=False)
    assert r.status_code == 400
    assert r.json()["type"].endswith(("malformed", "rejectedIdentifier"))
    assert c.new_order(["xn--bcher-kva.example"]).status_code == 201


def test_JWS_01_content_type(ctx):
    """a POST with Content-Type application/json: 415 with a problem document"""
    c = ctx.account
    r = c.post_raw(c.kid, c.jws(c.kid, ""), content_type="application/json")
    problem(r, 415, "malformed")
    has_nonce(r)
    # Parameters are ignored (documented): a charset still works.
    r = c.post_raw(c.kid, c.jws(c.kid, ""), content_type="application/jose+json; charset=utf-8")
    assert r.status_code == 200


def test_JWS_26_body_limit(ctx):
    """a 1 MB body is refused with a 4xx, fast"""
    c = ctx.account
    start = time.time()
    r = c.post_raw(c.directory["newOrder"], b"{" + b" " * (1024 * 1024) + b"}")
    assert 400 <= r.status_code < 500, r.status_code
    assert time.time() - start < 30


def test_ERR_01_problem_everywhere(ctx):
    """errors are problem+json with type, detail and status (every problem() check does this too)

    ids: ERR-03
    """
    r = get(ctx, ctx.url(path="new-order"))
    problem(r, 405, "malformed")


def test_key_sign_sanity(ctx):
    """the test client's own JWS is accepted (guards the other tests)"""
    c = ctx.client(Key("p384"))
    assert c.get(c.kid).json()["status"] == "valid"
    assert b64u(b"\xff") == "_w"


def test_DIR_01_tls_versions(ctx):
    """the HTTPS front refuses TLS 1.1 and accepts TLS 1.2 and 1.3"""
    import socket
    import ssl
    host, port = "localhost", int(ctx.base.rsplit(":", 1)[1])

    def handshake(version):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.load_verify_locations(ctx.ca)
        c.minimum_version = c.maximum_version = version
        try:
            c.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with socket.create_connection((host, port), timeout=10) as s:
            try:
                with c.wrap_socket(s, server_hostname=host):
                    return True
            except (ssl.SSLError, OSError):
                return False
    assert handshake(ssl.TLSVersion.TLSv1_2)
    assert handshake(ssl.TLSVersion.TLSv1_3)
    assert not handshake(ssl.TLSVersion.TLSv1_1)
