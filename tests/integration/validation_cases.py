#!/usr/bin/python3
"""Validation cases end to end, for tests/integration/validation.sh.

Each challenge type failing the way a real responder can make it fail, and
ending invalid with the RFC 8555 problem type an operator can act on; a
dns-01 record published late and picked up by a retry; a private address
refused by a directory that does not allow them; CAA (RFC 8659, RFC 8657)
allowing or refusing issuance. The responders are this program's own: an
HTTP server on the http-01 port and a TLS server on the tls-alpn-01 port,
behaving by token and by SNI name; DNS is pebble-challtestsrv.

The cases run at once, one thread each (failing cases end at their
authorization's deadline, after retries).

Environment: ACME_BASE (https://localhost:PORT), ACME_CA (root PEM),
ACME_MGMT (challtestsrv's management URL), ACME_HTTP01_PORT,
ACME_TLSALPN01_PORT, ACME_CAA_IDENTITY (the caa directory's identity).

  validation_cases.py --list   the cases, one per line
  validation_cases.py          run them; one line each on stdout,
                               "PASS <case>" or "FAIL <case> :: <why>"
"""

import datetime
import hashlib
import json
import os
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))

from acmeclient import Client, Key, b64u, make_csr, pem_certs  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID, ObjectIdentifier  # noqa: E402

PREFIX = "urn:ietf:params:acme:error:"
ACME_ID_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.31")
WAIT = 60          # seconds a case may take, retries included


class Env:
    def __init__(self):
        self.base = os.environ.get("ACME_BASE", "")
        self.ca = os.environ.get("ACME_CA", "")
        self.mgmt = os.environ.get("ACME_MGMT", "")
        self.h01 = int(os.environ.get("ACME_HTTP01_PORT", "5002"))
        self.tls = int(os.environ.get("ACME_TLSALPN01_PORT", "5001"))
        self.ours = os.environ.get("ACME_CAA_IDENTITY", "")
        self.http = {}         # token -> behaviour (see HttpResponder)
        self.tlsnames = {}     # SNI name -> ssl.SSLContext
        self.lock = threading.Lock()

    def name(self, label):
        return "%s-%d.example.com" % (label, os.getpid())

    def client(self, directory):
        c = Client("%s/acme/%s/directory" % (self.base, directory), self.ca, Key("p256"))
        c.new_account({"termsOfServiceAgreed": True, "contact": ["mailto:test@example.org"]})
        return c

    def api(self, path, obj):
        req = urllib.request.Request(self.mgmt + path, data=json.dumps(obj).encode(),
                                     method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=10) as r:
            assert r.status == 200, "%s: %d" % (path, r.status)


# --- responders -------------------------------------------------------------

class HttpResponder:
    """The http-01 port. Behaviour by token:
    ("body", bytes)          200 with that body
    ("redirect", location)   302 to location
    ("loop",)                302 to /loop-b/<token>, which redirects back
    ("huge",)                200 announcing and streaming 10 MB
    ("silent",)              reads the request, never answers
    """

    def __init__(self, env):
        http = env.http

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                s = self.request
                s.settimeout(60)
                data = b""
                try:
                    while b"\r\n\r\n" not in data and len(data) < 16384:
                        chunk = s.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                    path = data.split(b" ", 2)[1].decode("latin-1")
                    self.respond(s, path)
                except OSError:
                    pass

            def send(self, s, status, body=b"", extra=""):
                s.sendall(("HTTP/1.1 %d X\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
                           % (status, len(body), extra)).encode() + body)

            def respond(self, s, path):
                if path.startswith("/loop-b/"):
                    self.send(s, 302, extra="Location: /.well-known/acme-challenge/%s\r\n"
                              % path[len("/loop-b/"):])
                    return
                tok = path.rsplit("/", 1)[-1]
                b = http.get(tok)
                if b is None:
                    self.send(s, 404, b"no such token")
                elif b[0] == "body":
                    self.send(s, 200, b[1])
                elif b[0] == "redirect":
                    self.send(s, 302, extra="Location: %s\r\n" % b[1])
                elif b[0] == "loop":
                    self.send(s, 302, extra="Location: /loop-b/%s\r\n" % tok)
                elif b[0] == "huge":
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
                    chunk = b"a" * 65536
                    for _ in range(160):
                        s.sendall(chunk)
                elif b[0] == "silent":
                    while s.recv(4096):
                        pass

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", env.h01), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class TlsResponder:
    """The tls-alpn-01 port: the certificate chosen by SNI (env.tlsnames),
    ALPN acme-tls/1; the handshake, then close."""

    def __init__(self, env):
        self.env = env
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", env.tls))
        self.sock.listen(64)
        self.default = self.context(None)

        def pick(sslsock, name, _ctx):
            with env.lock:
                ctx = env.tlsnames.get(name)
            if ctx is not None:
                sslsock.context = ctx

        self.default.sni_callback = pick
        threading.Thread(target=self.serve, daemon=True).start()

    @staticmethod
    def context(certfile):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_alpn_protocols(["acme-tls/1"])
        if certfile is not None:
            ctx.load_cert_chain(certfile)
        return ctx

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.one, args=(conn,), daemon=True).start()

    def one(self, conn):
        conn.settimeout(30)
        try:
            with self.default.wrap_socket(conn, server_side=True) as s:
                s.recv(1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def add(self, name, keyauth, critical, with_ext=True):
        """A self-signed certificate for name: the acmeIdentifier extension
        holding SHA-256(keyauth), critical or not, or none."""
        key = ec.generate_private_key(ec.SECP256R1())
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme-tls/1 test")])
        now = datetime.datetime.utcnow()
        b = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False))
        if with_ext:
            digest = hashlib.sha256(keyauth.encode()).digest()
            b = b.add_extension(x509.UnrecognizedExtension(ACME_ID_OID, b"\x04\x20" + digest),
                                critical=critical)
        cert = b.sign(key, hashes.SHA256())
        fd, path = tempfile.mkstemp(suffix=".pem")
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        ctx = self.context(path)
        os.unlink(path)
        with self.env.lock:
            self.env.tlsnames[name] = ctx


# --- helpers ----------------------------------------------------------------

def start(env, directory, label, ctype, client=None):
    """A new order for one fresh name; returns (client, name, order_url, order,
    authz_url, challenge)."""
    c = client or env.client(directory)
    name = env.name(label)
    r = c.new_order([name])
    order = r.json()
    az_url = order["authorizations"][0]
    ch = [x for x in c.get(az_url).json()["challenges"] if x["type"] == ctype][0]
    return c, name, r.headers["Location"], order, az_url, ch


def final(c, az_url):
    """The authorization once valid or invalid. (While the last attempt,
    started before the deadline, is still running, it reads expired.)"""
    return c.wait(az_url, until=("valid", "invalid"), timeout=WAIT).json()


def expect_invalid(c, az_url, ch, types, needles=()):
    az = final(c, az_url)
    got = [x for x in az["challenges"] if x["url"] == ch["url"]][0]
    assert az["status"] == "invalid", "authorization %s: %s" % (az["status"], got)
    assert got["status"] == "invalid", got
    err = got.get("error") or {}
    t = err.get("type", "")
    assert t in [PREFIX + x for x in types], "want %s, got %s: %s" % (
        "/".join(types), t, err.get("detail"))
    for n in needles:
        assert n in err.get("detail", ""), "%r not in %r" % (n, err.get("detail"))
    return err


def expect_valid(c, az_url):
    az = final(c, az_url)
    assert az["status"] == "valid", az


def issue(c, name, order_url):
    """Finalize a ready order and download the certificate."""
    order = c.wait(order_url, until=("ready", "invalid"), timeout=WAIT).json()
    assert order["status"] == "ready", order
    c.post(order["finalize"], {"csr": b64u(make_csr(Key("p256"), [name]))})
    order = c.wait(order_url, until=("valid", "invalid"), timeout=WAIT).json()
    assert order["status"] == "valid", order
    certs = pem_certs(c.get(order["certificate"]).text)
    san = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [name], san


def http01(env, directory, label, behaviour, client=None):
    c, name, order_url, _, az_url, ch = start(env, directory, label, "http-01", client)
    ka = c.key_authorization(ch["token"])
    env.http[ch["token"]] = behaviour(ch["token"], ka) if callable(behaviour) else behaviour
    c.post(ch["url"], {})
    return c, name, order_url, az_url, ch


def add_caa(env, name, value):
    env.api("/add-caa", {"host": name + ".", "policies": [{"tag": "issue", "value": value}]})


CASES = []


def case(desc):
    def deco(fn):
        CASES.append((desc, fn))
        return fn
    return deco


# --- the cases ----------------------------------------------------------------

@case("http-01, wrong key authorization: invalid, unauthorized")
def wrong_keyauth(env):
    c, _, _, az, ch = http01(env, "neg", "wrongka", lambda tok, ka: ("body", (tok + ".x").encode()))
    expect_invalid(c, az, ch, ("unauthorized", "incorrectResponse"), ("did not match", "127.0.0.1"))


@case("http-01, redirect loop: invalid, connection")
def redirect_loop(env):
    c, _, _, az, ch = http01(env, "neg", "loop", ("loop",))
    expect_invalid(c, az, ch, ("connection",), ("Redirect loop",))


@case("http-01, redirect to a forbidden port: invalid, connection")
def redirect_port(env):
    c, _, _, az, ch = http01(env, "neg", "port",
                             lambda tok, ka: ("redirect", "http://127.0.0.1:8080/x/" + tok))
    expect_invalid(c, az, ch, ("connection",), ("port 8080 is not 80 or 443",))


@case("http-01, redirect to a forbidden scheme: invalid, connection")
def redirect_scheme(env):
    c, _, _, az, ch = http01(env, "neg", "ftp",
                             lambda tok, ka: ("redirect", "ftp://127.0.0.1/x/" + tok))
    expect_invalid(c, az, ch, ("connection",), ("only http and https",))


@case("http-01, a 10 MB body: invalid, unauthorized (body limit)")
def huge_body(env):
    c, _, _, az, ch = http01(env, "neg", "huge", ("huge",))
    expect_invalid(c, az, ch, ("unauthorized",), ("larger than",))


@case("http-01, a server that accepts and never answers: invalid, connection, naming the address")
def silent(env):
    c, _, _, az, ch = http01(env, "neg", "silent", ("silent",))
    expect_invalid(c, az, ch, ("connection",), ("127.0.0.1: Fetching http://", "Timeout"))


@case("http-01, a loopback address in a directory without allow_private: invalid, connection")
def private_refused(env):
    c, _, _, az, ch = http01(env, "strict", "private", lambda tok, ka: ("body", ka.encode()))
    expect_invalid(c, az, ch, ("connection",), ("127.0.0.1 (loopback)",))


def tlsalpn(env, label, critical, with_ext):
    c, name, _, _, az, ch = start(env, "neg", label, "tls-alpn-01")
    env.tlsresp.add(name, c.key_authorization(ch["token"]), critical, with_ext)
    c.post(ch["url"], {})
    return c, az, ch


@case("tls-alpn-01, certificate without the acmeIdentifier extension: invalid, unauthorized")
def alpn_noext(env):
    c, az, ch = tlsalpn(env, "noext", False, False)
    expect_invalid(c, az, ch, ("unauthorized",), ("no acmeIdentifier extension", "127.0.0.1"))


@case("tls-alpn-01, acmeIdentifier extension not critical: invalid, unauthorized")
def alpn_noncrit(env):
    c, az, ch = tlsalpn(env, "noncrit", False, True)
    expect_invalid(c, az, ch, ("unauthorized",), ("not critical",))


@case("tls-alpn-01, a correct certificate from the test's own responder: valid")
def alpn_good(env):
    c, az, _ = tlsalpn(env, "alpngood", True, True)
    expect_valid(c, az)


@case("dns-01, TXT missing at first, added after the first attempt: valid on a later attempt")
def txt_late(env):
    c, name, _, _, az, ch = start(env, "neg", "late", "dns-01")
    c.post(ch["url"], {})
    deadline = time.time() + 20
    while True:
        body = c.get(ch["url"]).json()
        if body.get("error"):
            break
        assert body["status"] == "processing" and time.time() < deadline, body
        time.sleep(0.1)
    assert body["status"] == "processing", body
    assert body["error"]["type"] == PREFIX + "unauthorized", body["error"]
    assert "No TXT record found at _acme-challenge." + name in body["error"]["detail"], body
    digest = b64u(hashlib.sha256(c.key_authorization(ch["token"]).encode()).digest())
    env.api("/set-txt", {"host": "_acme-challenge.%s." % name, "value": digest})
    expect_valid(c, az)


def caa_http01(env, label, value):
    """An http-01 order in the caa directory for a name whose CAA RRset is
    one issue record, value(client) (the account's URL is known then)."""
    c, name, order_url, _, az, ch = start(env, "caa", label, "http-01")
    add_caa(env, name, value(c))
    env.http[ch["token"]] = ("body", c.key_authorization(ch["token"]).encode())
    c.post(ch["url"], {})
    return c, name, order_url, az, ch


@case("CAA issue \"<ours>\" (meta.caaIdentities): valid, and the certificate is issued")
def caa_ours(env):
    c, name, order_url, az, _ = caa_http01(env, "caa-ours", lambda c: env.ours)
    assert c.directory["meta"]["caaIdentities"] == [env.ours], c.directory["meta"]
    expect_valid(c, az)
    issue(c, name, order_url)


@case("CAA issue \"other.ca\": invalid, caa, naming the name and the rule")
def caa_other(env):
    c, name, _, az, ch = caa_http01(env, "caa-other", lambda c: "other.ca")
    expect_invalid(c, az, ch, ("caa",), ("CAA record for %s prevents issuance for %s" % (name, name),
                                         "no issue record names this CA (%s)" % env.ours))


@case("CAA issue \"<ours>; accounturi=<another account>\": invalid, caa")
def caa_other_account(env):
    c, _, _, az, ch = caa_http01(env, "caa-acct2",
                                 lambda c: env.ours + "; accounturi=https://other.example/acct/1")
    expect_invalid(c, az, ch, ("caa",), ("accounturi=https://other.example/acct/1",))


@case("CAA issue \"<ours>; accounturi=<this account>\": valid, and the certificate is issued")
def caa_this_account(env):
    c, name, order_url, az, _ = caa_http01(env, "caa-acct1",
                                           lambda c: env.ours + "; accounturi=" + c.kid)
    expect_valid(c, az)
    issue(c, name, order_url)


@case("CAA issue \"<ours>; validationmethods=dns-01\" for http-01: invalid, caa")
def caa_methods(env):
    c, _, _, az, ch = caa_http01(env, "caa-meth", lambda c: env.ours + "; validationmethods=dns-01")
    expect_invalid(c, az, ch, ("caa",), ("validated with http-01",))


# --- running ------------------------------------------------------------------

def main():
    if "--list" in sys.argv[1:]:
        for desc, _ in CASES:
            print(desc)
        return 0
    env = Env()
    HttpResponder(env)
    env.tlsresp = TlsResponder(env)
    results = {}

    def run(desc, fn):
        try:
            fn(env)
            results[desc] = None
        except Exception as e:  # a failing case must not stop the others
            results[desc] = "%s: %s" % (type(e).__name__, e)
            traceback.print_exc(file=sys.stderr)

    threads = [threading.Thread(target=run, args=c, daemon=True) for c in CASES]
    for t in threads:
        t.start()
    deadline = time.time() + WAIT + 30
    for t in threads:
        t.join(max(0.1, deadline - time.time()))
    failed = 0
    for desc, _ in CASES:
        why = results.get(desc, "did not finish within %ds" % (WAIT + 30))
        if why is None:
            print("PASS %s" % desc)
        else:
            failed += 1
            print("FAIL %s :: %s" % (desc, " ".join(why.split())[:400]))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
