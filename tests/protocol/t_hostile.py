"""Hostile input: one corpus of bad requests, each with the problem it must get
AND a check that the store is unchanged afterwards.

Many of these requests are also checked one by one elsewhere (t_jws.py,
t_directory.py, t_finalize.py: their helpers are reused here); what this
corpus adds is the same assertion for all of them: the request is refused
with its own problem type and status, and nothing in the store moved
(acme-admin --json stats: every count per table and status; the account;
its orders; a ready order stays ready). Bodies over the limit go straight
to the FastCGI socket as well, since the web server's own limit (64 KiB)
would answer first.

The names are lowercase on purpose: these are not checklist items
(scripts/conformance.py maps test_<ID>_ names to the checklist).
"""

import base64
import json
import os
import socket
import struct
import subprocess

from cryptography import x509

from acmeclient import Key, b64u, make_csr
from common import problem


# --- the store's state -------------------------------------------------

def snapshot(ctx, c, order_url):
    """What must not change: the store's counts, the account, its orders,
    the ready order."""
    out = subprocess.run([ctx.admin, "-c", os.path.join(ctx.state, "acme.conf"), "--json",
                          "stats"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    stats.pop("disk", None)
    acct = c.get(c.kid).json()
    orders = c.get(acct["orders"]).json()["orders"]
    order = c.get(order_url).json()
    return {"stats": stats, "account": acct, "orders": sorted(orders), "order": order}


# --- a FastCGI client, to reach acme-fcgi without the web server -------

def fcgi_record(rtype, content, req_id=1):
    out = b""
    for i in range(0, max(len(content), 1), 65535):
        chunk = content[i:i + 65535]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBB", 1, rtype, req_id, len(chunk), pad, 0) + chunk + b"\0" * pad
        if not content:
            break
    return out


def fcgi_params(params):
    body = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            body += bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
        body += k + v
    return body


def fcgi_post(ctx, path, body, content_type="application/jose+json", length=None):
    """POST body to path over STATE/run/fcgi.sock; returns (status, headers, body)."""
    params = {
        "REQUEST_METHOD": "POST", "REQUEST_URI": path, "QUERY_STRING": "",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body) if length is None else length),
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "https", "HTTPS": "on", "GATEWAY_INTERFACE": "CGI/1.1",
    }
    msg = fcgi_record(1, struct.pack(">HBxxxxx", 1, 0))   # BEGIN_REQUEST, responder, no keep
    msg += fcgi_record(4, fcgi_params(params)) + fcgi_record(4, b"")
    msg += fcgi_record(5, body) + fcgi_record(5, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(os.path.join(ctx.state, "run", "fcgi.sock"))
    try:
        s.sendall(msg)
    except (BrokenPipeError, ConnectionResetError):
        pass   # the worker may answer before it has read everything
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    out = b""
    while len(data) >= 8:
        _, rtype, _, clen, pad, _ = struct.unpack(">BBHHBB", data[:8])
        if rtype == 6:
            out += data[8:8 + clen]
        data = data[8 + clen + pad:]
    head, _, payload = out.partition(b"\r\n\r\n")
    headers = {}
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
    return status, headers, payload


def fcgi_problem(status, headers, payload, want_status, want_type):
    assert status == want_status, (status, payload[:200])
    assert headers.get("content-type") == "application/problem+json", headers
    doc = json.loads(payload)
    assert doc["type"] == "urn:ietf:params:acme:error:" + want_type, doc
    assert doc["status"] == want_status, doc


# --- the corpus ----------------------------------------------------------

def deep(n):
    return b"[" * n + b"]" * n


def corpus(ctx, c, order, name, other):
    """(description, thunk) pairs; each thunk sends one bad request and checks
    the problem it gets. other: a client with an account in directory
    "other"."""
    new_order = c.directory["newOrder"]
    new_acct = c.directory["newAccount"]
    ident = {"identifiers": [{"type": "dns", "value": ctx.name("hostile")}]}
    path = lambda url: "/" + url.split("/", 3)[3]  # noqa: E731
    cases = []

    def case(desc):
        def wrap(fn):
            cases.append((desc, fn))
            return fn
        return wrap

    # -- the body and its JSON
    @case("body that is not JSON: malformed")
    def _():
        problem(c.post_raw(new_order, b'{"protected": "'), 400, "malformed")

    @case("JWS nested 5000 deep: malformed")
    def _():
        problem(c.post_raw(new_order, deep(5000)), 400, "malformed")

    @case("payload nested 5000 deep: malformed")
    def _():
        problem(c.post(new_order, deep(5000), check=False), 400, "malformed")

    @case("payload with invalid UTF-8: malformed")
    def _():
        problem(c.post(new_order, b'{"identifiers":[{"type":"dns","value":"\xff\xfe"}]}',
                       check=False), 400, "malformed")

    @case("duplicate member in the JWS object: malformed")
    def _():
        j = c.jws(new_order, ident)
        body = '{"protected":"%s","payload":"%s","payload":"%s","signature":"%s"}' % (
            j["protected"], j["payload"], b64u("{}"), j["signature"])
        problem(c.post_raw(new_order, body), 400, "malformed")

    @case("duplicate member in the protected header: malformed")
    def _():
        hdr = '{"alg":"ES256","nonce":"%s","url":"%s","url":"%s","kid":"%s"}' % (
            c.nonce(), new_order, c.kid, c.kid)
        problem(c.post_raw(new_order, c.jws(new_order, ident, protected_override=b64u(hdr))),
                400, "malformed")

    @case("duplicate member in the payload: malformed")
    def _():
        problem(c.post(new_order, b'{"identifiers":[],"identifiers":[{"type":"dns","value":"%s"}]}'
                       % name.encode(), check=False), 400, "malformed")

    @case("body over max_body through the web server: 413")
    def _():
        r = c.post_raw(new_order, b'{"payload":"' + b"A" * (70 * 1024) + b'"}')
        assert r.status_code == 413, r.status_code

    @case("body over max_body straight to acme-fcgi: 413 malformed")
    def _():
        fcgi_problem(*fcgi_post(ctx, path(new_order), b"{" + b" " * (65 * 1024) + b"}"), 413,
                     "malformed")

    @case("a Content-Length of 10^12 straight to acme-fcgi: 413 malformed")
    def _():
        fcgi_problem(*fcgi_post(ctx, path(new_order), b"{}", length=10 ** 12), 413, "malformed")

    @case("Content-Type application/json: 415 malformed")
    def _():
        problem(c.post_raw(new_order, c.jws(new_order, ident), content_type="application/json"),
                415, "malformed")

    @case("no Content-Type: 415 malformed")
    def _():
        problem(c.post_raw(new_order, c.jws(new_order, ident), content_type=""), 415, "malformed")

    # -- nonces and URLs
    @case("replayed nonce: badNonce")
    def _():
        n = c.nonce()
        c.post(c.kid, "", nonce=n)
        problem(c.post(new_order, ident, nonce=n, check=False), 400, "badNonce")

    @case("foreign nonce: badNonce")
    def _():
        problem(c.post(new_order, ident, nonce="AAAAAAAAAAAAAAAAAAAAAA", check=False), 400,
                "badNonce")

    @case("nonce that is not base64url: badNonce")
    def _():
        problem(c.post(new_order, ident, nonce="not a nonce!", check=False), 400, "badNonce")

    @case("url of newAccount on a newOrder request: 403 unauthorized")
    def _():
        problem(c.post_raw(new_order, c.jws(new_acct, ident)), 403, "unauthorized")

    @case("url spelled with another host: 403 unauthorized")
    def _():
        problem(c.post_raw(new_order, c.jws(new_order.replace("localhost", "LOCALHOST"), ident)),
                403, "unauthorized")

    # -- signatures and keys
    for alg in ("none", "HS256"):
        @case("outer signature alg %s: badSignatureAlgorithm" % alg)
        def _(alg=alg):
            problem(c.post_raw(new_order, c.jws(new_order, ident, extra_header={"alg": alg})),
                    400, "badSignatureAlgorithm")

    @case("HS256 MAC over the JWS with the account's public key as secret: badSignatureAlgorithm")
    def _():
        import hashlib
        import hmac
        hdr = b64u(json.dumps({"alg": "HS256", "nonce": c.nonce(), "url": new_order, "kid": c.kid}))
        pay = b64u(json.dumps(ident))
        mac = hmac.new(json.dumps(c.key.jwk()).encode(), (hdr + "." + pay).encode(),
                       hashlib.sha256).digest()
        problem(c.post_raw(new_order, {"protected": hdr, "payload": pay, "signature": b64u(mac)}),
                400, "badSignatureAlgorithm")

    @case("flipped signature bit: malformed")
    def _():
        j = c.jws(new_order, ident)
        sig = bytearray(base64.urlsafe_b64decode(j["signature"] + "=="))
        sig[3] ^= 1
        j["signature"] = b64u(bytes(sig))
        problem(c.post_raw(new_order, j), 400, "malformed")

    @case("newAccount with a jwk holding the private key: malformed")
    def _():
        k = Key("p256")
        jwk = dict(k.jwk(), d=b64u(k.priv.private_numbers().private_value.to_bytes(32, "big")))
        problem(c.post_raw(new_acct, c.jws(new_acct, {"termsOfServiceAgreed": True}, key=k,
                use_jwk=True, extra_header={"jwk": jwk})), 400, "malformed")

    @case("both jwk and kid: malformed")
    def _():
        problem(c.post(new_order, ident, extra_header={"jwk": c.key.jwk()}, check=False), 400,
                "malformed")

    @case("newOrder signed with a jwk instead of a kid: malformed")
    def _():
        problem(c.post(new_order, ident, use_jwk=True, check=False), 400, "malformed")

    @case("kid of another directory: accountDoesNotExist")
    def _():
        problem(c.post(new_order, ident, kid=c.kid.replace("/acme/default/", "/acme/other/"),
                       check=False), 400, "accountDoesNotExist")

    @case("kid of a real account of another directory, signed with its key: accountDoesNotExist")
    def _():
        problem(other.post_raw(new_order, other.jws(new_order, ident)), 400, "accountDoesNotExist")

    @case("that account's id under this directory's URL: accountDoesNotExist")
    def _():
        kid = c.kid.rsplit("/", 1)[0] + "/" + other.kid.rsplit("/", 1)[1]
        problem(other.post_raw(new_order, other.jws(new_order, ident, kid=kid)), 400,
                "accountDoesNotExist")

    @case("kid naming no account: accountDoesNotExist")
    def _():
        problem(c.post(new_order, ident, kid=ctx.url(path="acct/AAAAAAAAAAAAAAAAAAAAAA"),
                       check=False), 400, "accountDoesNotExist")

    @case("newAccount with an RSA-1024 key: badPublicKey")
    def _():
        k = Key("rsa", 1024)
        problem(c.post_raw(new_acct, c.jws(new_acct, {"termsOfServiceAgreed": True}, key=k,
                use_jwk=True)), 400, "badPublicKey")

    @case("newAccount with an RSA key of exponent 1: badPublicKey")
    def _():
        k = Key("rsa", 2048)
        jwk = dict(k.jwk(), e="AQ")
        problem(c.post_raw(new_acct, c.jws(new_acct, {"termsOfServiceAgreed": True}, key=k,
                use_jwk=True, extra_header={"jwk": jwk})), 400, "badPublicKey")

    @case("newAccount with an RSA key of an even exponent: badPublicKey")
    def _():
        k = Key("rsa", 2048)
        jwk = dict(k.jwk(), e=b64u((65536).to_bytes(3, "big")))
        problem(c.post_raw(new_acct, c.jws(new_acct, {"termsOfServiceAgreed": True}, key=k,
                use_jwk=True, extra_header={"jwk": jwk})), 400, "badPublicKey")

    # -- orders
    @case("notAfter in the year 9999: malformed")
    def _():
        problem(c.post(new_order, dict(ident, notAfter="9999-12-31T23:59:59Z"), check=False),
                400, "malformed")

    @case("notAfter before notBefore: malformed")
    def _():
        problem(c.post(new_order, dict(ident, notBefore="2030-01-02T00:00:00Z",
                                       notAfter="2030-01-01T00:00:00Z"), check=False),
                400, "malformed")

    @case("notAfter that is not a date: malformed")
    def _():
        problem(c.post(new_order, dict(ident, notAfter="tomorrow"), check=False), 400, "malformed")

    @case("more identifiers than max_identifiers (101): rejectedIdentifier")
    def _():
        many = [{"type": "dns", "value": ctx.name("many")} for _ in range(101)]
        problem(c.post(new_order, {"identifiers": many}, check=False), 400, "rejectedIdentifier")

    @case("an identifier of 300 characters: rejectedIdentifier")
    def _():
        long_name = ".".join(["a" * 60] * 5) + ".example.com"
        problem(c.post(new_order, {"identifiers": [{"type": "dns", "value": long_name}]},
                       check=False), 400, "rejectedIdentifier")

    # -- finalize (the order is ready: a refused CSR must leave it ready)
    fin = order["finalize"]

    @case("CSR for other names: badCSR")
    def _():
        problem(c.post(fin, {"csr": b64u(make_csr(Key(), [ctx.name("other")]))}, check=False),
                400, "badCSR")

    @case("CSR with CA:TRUE: badCSR")
    def _():
        csr = make_csr(Key(), [name], extra_ext=[
            (x509.BasicConstraints(ca=True, path_length=None), True)])
        problem(c.post(fin, {"csr": b64u(csr)}, check=False), 400, "badCSR")

    @case("CSR holding the account key: badCSR")
    def _():
        problem(c.post(fin, {"csr": b64u(make_csr(c.key, [name]))}, check=False), 400, "badCSR")

    @case("CSR with an RSA-1024 key: badCSR")
    def _():
        problem(c.post(fin, {"csr": b64u(make_csr(Key("rsa", 1024), [name]))}, check=False),
                400, "badCSR")

    @case("CSR that is not DER: badCSR")
    def _():
        problem(c.post(fin, {"csr": b64u(b"\x30\x82\xff\xff" + b"\0" * 64)}, check=False),
                400, "badCSR")

    @case("CSR of 30 KiB of garbage (the body just under max_body): badCSR")
    def _():
        problem(c.post(fin, {"csr": b64u(b"\x30" * (30 * 1024))}, check=False), 400, "badCSR")

    return cases


def test_hostile_corpus(ctx):
    """every request of the hostile corpus gets its own problem, and the store does not move"""
    c = ctx.client()
    name = ctx.name("hostile")
    r = c.new_order([name])
    order_url, order = r.headers["Location"], r.json()
    c.solve_http01(order, ctx.responder)
    order = c.wait(order_url, until=("ready",)).json()
    assert order["status"] == "ready", order
    other = ctx.client(directory="other")
    before = snapshot(ctx, c, order_url)
    failures = []
    for desc, fn in corpus(ctx, c, order, name, other):
        try:
            fn()
        except Exception as e:  # collect them all, then fail once with the list
            failures.append("%s: %s" % (desc, repr(e)[:300]))
            continue
        after = snapshot(ctx, c, order_url)
        if after != before:
            diff = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            failures.append("%s: the store changed: %s" % (desc, json.dumps(diff)[:600]))
            before = after
    assert not failures, "\n".join(failures)
    # The snapshot does see a change: a good newOrder moves it.
    c.new_order([ctx.name("hostile")])
    assert snapshot(ctx, c, order_url) != before
    # The order still issues: nothing above left it half-finalized.
    c.post(order["finalize"], {"csr": b64u(make_csr(Key(), [name]))})
    assert c.wait(order_url, until=("valid", "invalid")).json()["status"] == "valid"
