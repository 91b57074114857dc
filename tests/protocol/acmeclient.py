"""A small ACME client for the protocol tests.

It speaks RFC 8555 directly, and can also send what real clients never send:
bad signatures, replayed nonces, wrong URLs, both jwk and kid, DER-encoded
ECDSA signatures, and so on. Only Debian's python3-cryptography and
python3-requests are needed.
"""

import base64
import hashlib
import http.server
import json
import socketserver
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_dec(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"))


class Key:
    """An account or certificate key with its JWK and JWS signing."""

    CURVES = {
        "p256": (ec.SECP256R1, "P-256", "ES256", hashes.SHA256, 32),
        "p384": (ec.SECP384R1, "P-384", "ES384", hashes.SHA384, 48),
        "p521": (ec.SECP521R1, "P-521", "ES512", hashes.SHA512, 66),
    }

    def __init__(self, kind="p256", bits=2048, priv=None):
        self.kind = kind
        if priv is not None:
            self.priv = priv
        elif kind in self.CURVES:
            self.priv = ec.generate_private_key(self.CURVES[kind][0]())
        elif kind == "rsa":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        elif kind == "ed25519":
            self.priv = ed25519.Ed25519PrivateKey.generate()
        elif kind == "ed448":
            self.priv = ed448.Ed448PrivateKey.generate()
        else:
            raise ValueError(kind)
        self.pub = self.priv.public_key()

    @property
    def alg(self):
        if self.kind in self.CURVES:
            return self.CURVES[self.kind][2]
        if self.kind == "rsa":
            return "RS256"
        return "EdDSA"

    def jwk(self):
        if self.kind in self.CURVES:
            n = self.pub.public_numbers()
            size = self.CURVES[self.kind][4]
            return {"kty": "EC", "crv": self.CURVES[self.kind][1],
                    "x": b64u(n.x.to_bytes(size, "big")), "y": b64u(n.y.to_bytes(size, "big"))}
        if self.kind == "rsa":
            n = self.pub.public_numbers()
            return {"kty": "RSA", "n": int_b64u(n.n), "e": int_b64u(n.e)}
        raw = self.pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519" if self.kind == "ed25519" else "Ed448",
                "x": b64u(raw)}

    def thumbprint(self):
        jwk = self.jwk()
        req = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
               "OKP": ("crv", "kty", "x")}[jwk["kty"]]
        text = json.dumps({k: jwk[k] for k in req}, sort_keys=True, separators=(",", ":"))
        return b64u(hashlib.sha256(text.encode()).digest())

    def sign(self, data, alg=None, der=False):
        alg = alg or self.alg
        if self.kind in self.CURVES:
            h = {"ES256": hashes.SHA256, "ES384": hashes.SHA384, "ES512": hashes.SHA512}[alg]
            sig = self.priv.sign(data, ec.ECDSA(h()))
            if der:
                return sig
            r, s = decode_dss_signature(sig)
            size = self.CURVES[self.kind][4]
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if self.kind == "rsa":
            h = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]
            if alg.startswith("PS"):
                return self.priv.sign(data, padding.PSS(padding.MGF1(h()), h.digest_size), h())
            return self.priv.sign(data, padding.PKCS1v15(), h())
        return self.priv.sign(data)

    def spki_der(self):
        return self.pub.public_bytes(serialization.Encoding.DER,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)


def make_csr(key, names=(), ips=(), cn=None, hash_alg=None, extra_ext=None):
    import ipaddress
    builder = x509.CertificateSigningRequestBuilder()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = builder.subject_name(x509.Name(attrs))
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for ext, critical in (extra_ext or []):
        builder = builder.add_extension(ext, critical=critical)
    if key.kind in ("ed25519", "ed448"):
        h = None
    else:
        h = hash_alg or hashes.SHA256()
    csr = builder.sign(key.priv, h)
    return csr.public_bytes(serialization.Encoding.DER)


class Problem(Exception):
    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status_code
        try:
            self.doc = resp.json()
        except ValueError:
            self.doc = {}
        self.type = self.doc.get("type", "")
        super().__init__("%d %s: %s" % (self.status, self.type, self.doc.get("detail", "")))

    def short(self):
        return self.type.rsplit(":", 1)[-1]


class Client:
    """An ACME client bound to one directory and one account key."""

    def __init__(self, directory_url, cafile, key=None):
        self.directory_url = directory_url
        self.session = requests.Session()
        self.session.verify = cafile
        # The environment (REQUESTS_CA_BUNDLE, proxies) must not override this.
        self.session.trust_env = False
        self.key = key or Key("p256")
        self.kid = None
        self._nonce = None
        self.directory = self.session.get(directory_url, timeout=30).json()

    # --- transport ---

    def nonce(self):
        if self._nonce:
            n, self._nonce = self._nonce, None
            return n
        r = self.session.head(self.directory["newNonce"], timeout=30)
        return r.headers["Replay-Nonce"]

    def jws(self, url, payload, key=None, kid=None, use_jwk=False, nonce=None, alg=None,
            extra_header=None, drop=(), der_sig=False, protected_override=None):
        """Build a flattened JWS. payload: dict, "" (POST-as-GET), or bytes."""
        key = key or self.key
        header = {"alg": alg or key.alg, "nonce": nonce if nonce is not None else self.nonce(),
                  "url": url}
        if use_jwk or (kid is None and self.kid is None):
            header["jwk"] = key.jwk()
        else:
            header["kid"] = kid or self.kid
        header.update(extra_header or {})
        for k in drop:
            header.pop(k, None)
        prot = b64u(json.dumps(header)) if protected_override is None else protected_override
        if isinstance(payload, bytes):
            pay = b64u(payload)
        elif payload == "":
            pay = ""
        else:
            pay = b64u(json.dumps(payload))
        sig = key.sign((prot + "." + pay).encode(), alg=alg if alg and alg[:2] in ("ES", "RS", "PS") else None,
                       der=der_sig)
        return {"protected": prot, "payload": pay, "signature": b64u(sig)}

    def post_raw(self, url, body, content_type="application/jose+json", headers=None):
        h = {"Content-Type": content_type}
        h.update(headers or {})
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        r = self.session.post(url, data=body, headers=h, timeout=60)
        if "Replay-Nonce" in r.headers:
            self._nonce = r.headers["Replay-Nonce"]
        return r

    def post(self, url, payload, check=True, **kw):
        """POST a JWS; retries once on badNonce; raises Problem on error if check."""
        r = self.post_raw(url, self.jws(url, payload, **kw))
        if r.status_code == 400 and "badNonce" in r.text and "nonce" not in kw:
            r = self.post_raw(url, self.jws(url, payload, **kw))
        if check and r.status_code >= 400:
            raise Problem(r)
        return r

    # --- protocol ---

    def new_account(self, payload=None, check=True, **kw):
        payload = {"termsOfServiceAgreed": True} if payload is None else payload
        r = self.post(self.directory["newAccount"], payload, use_jwk=True, check=check, **kw)
        if r.status_code in (200, 201) and "Location" in r.headers:
            self.kid = r.headers["Location"]
        return r

    def new_order(self, names=(), ips=(), check=True, **extra):
        idents = [{"type": "dns", "value": n} for n in names] + [{"type": "ip", "value": i} for i in ips]
        payload = {"identifiers": idents}
        payload.update(extra)
        return self.post(self.directory["newOrder"], payload, check=check)

    def get(self, url, check=True):
        return self.post(url, "", check=check)

    def key_authorization(self, token, key=None):
        return token + "." + (key or self.key).thumbprint()

    def wait(self, url, until=("valid", "invalid", "ready"), timeout=60):
        deadline = time.time() + timeout
        while True:
            r = self.get(url)
            if r.json()["status"] in until:
                return r
            if time.time() > deadline:
                raise AssertionError("%s still %s" % (url, r.json()["status"]))
            ra = r.headers.get("Retry-After")
            time.sleep(min(float(ra), 1.0) if ra and ra.isdigit() else 0.2)

    def solve_http01(self, order, responder):
        """Answer every pending authorization of order with http-01."""
        for az_url in order["authorizations"]:
            az = self.get(az_url).json()
            if az["status"] != "pending":
                continue
            ch = [c for c in az["challenges"] if c["type"] == "http-01"][0]
            responder.tokens[ch["token"]] = self.key_authorization(ch["token"])
            self.post(ch["url"], {})
        for az_url in order["authorizations"]:
            self.wait(az_url, until=("valid", "invalid"))

    def issue(self, names, responder, cert_key=None, **extra):
        """newOrder, http-01, finalize, download. Returns (order_url, order, pem)."""
        r = self.new_order(names, **extra)
        order_url, order = r.headers["Location"], r.json()
        self.solve_http01(order, responder)
        order = self.wait(order_url, until=("ready", "invalid")).json()
        assert order["status"] == "ready", order
        cert_key = cert_key or Key("p256")
        csr = make_csr(cert_key, names)
        self.post(order["finalize"], {"csr": b64u(csr)})
        order = self.wait(order_url, until=("valid", "invalid")).json()
        assert order["status"] == "valid", order
        pem = self.get(order["certificate"]).text
        return order_url, order, pem


class Http01Responder:
    """Serves /.well-known/acme-challenge/<token> on 127.0.0.1:port."""

    def __init__(self, port):
        self.tokens = {}
        self.requests = []
        tokens, log = self.tokens, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                log.append((self.path, dict(self.headers)))
                prefix = "/.well-known/acme-challenge/"
                tok = self.path[len(prefix):] if self.path.startswith(prefix) else None
                if tok in tokens:
                    body = tokens[tok].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify_issued_by(child, parent):
    """child's signature verifies with parent's key (cryptography 38 lacks
    Certificate.verify_directly_issued_by)."""
    assert child.issuer == parent.subject
    key = parent.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes,
                   ec.ECDSA(child.signature_hash_algorithm))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(),
                   child.signature_hash_algorithm)
    else:
        key.verify(child.signature, child.tbs_certificate_bytes)


def pem_certs(pem):
    out = []
    for block in pem.split("-----END CERTIFICATE-----"):
        if "-----BEGIN CERTIFICATE-----" in block:
            out.append(x509.load_pem_x509_certificate(
                (block.strip() + "\n-----END CERTIFICATE-----\n").encode()))
    return out
