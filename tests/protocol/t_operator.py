"""The operator's side seen by clients: External Account Binding (EAB-*),
rate limits (RL-*), identifier policy, lifetime limits. Directories "eab"
(external_account_required) and "limited" (small rate limits, names_deny)
are set up by tests/integration/protocol.sh; EAB keys come from acme-admin."""

import json
import subprocess
import time

import requests

from acmeclient import Key, b64u, make_csr
from common import has_nonce, index_link, links, problem


def admin(ctx, *args):
    out = subprocess.run([ctx.admin, "-c", ctx.state + "/acme.conf"] + list(args),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def new_eab(ctx, directory="eab", *extra):
    return json.loads(admin(ctx, "eab", "new", "--directory", directory, "--json", *extra))


def eab_binding(c, kid, hmac_key, url=None, key=None, alg="HS256", nonce=None, sign_key=None):
    import hashlib
    import hmac
    header = {"alg": alg, "kid": kid, "url": url or c.directory["newAccount"]}
    if nonce:
        header["nonce"] = nonce
    prot = b64u(json.dumps(header))
    pay = b64u(json.dumps((key or c.key).jwk()))
    h = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    mac = hmac.new(sign_key or hmac_key, (prot + "." + pay).encode(), h).digest()
    return {"protected": prot, "payload": pay, "signature": b64u(mac)}


def key_bytes(eab):
    import base64
    k = eab["hmac_key"]
    return base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))


def accounts(ctx):
    return json.loads(admin(ctx, "accounts", "list", "--json"))


def test_DIR_08_EAB_01_required(ctx):
    """the eab directory says externalAccountRequired; newAccount without a binding is refused

    ids: EAB-01
    """
    meta = requests.get(ctx.url("eab"), verify=ctx.ca, timeout=30).json()["meta"]
    assert meta["externalAccountRequired"] is True
    c = ctx.client(directory="eab", register=False)
    problem(c.new_account(check=False), 403, "externalAccountRequired")


def test_EAB_06_08_good_binding(ctx):
    """HS256, HS384 and HS512 bindings create accounts that echo the binding"""
    for alg in ("HS256", "HS384", "HS512"):
        e = new_eab(ctx)
        c = ctx.client(directory="eab", register=False)
        b = eab_binding(c, e["kid"], key_bytes(e), alg=alg)
        r = c.new_account({"termsOfServiceAgreed": True, "externalAccountBinding": b})
        assert r.status_code == 201, r.text
        assert r.json()["externalAccountBinding"] == b


def test_EAB_02_03_05_07_malformed(ctx):
    """a non-JWS binding, an ES256 binding, a nonce, another url, another key: malformed"""
    e = new_eab(ctx)
    c = ctx.client(directory="eab", register=False)
    k = key_bytes(e)
    bad = [
        "abc",
        dict(eab_binding(c, e["kid"], k), protected=b64u(json.dumps(
            {"alg": "ES256", "kid": e["kid"], "url": c.directory["newAccount"]}))),
        eab_binding(c, e["kid"], k, nonce="AAAAAAAAAAAAAAAAAAAAAA"),
        eab_binding(c, e["kid"], k, url=c.directory["newOrder"]),
        eab_binding(c, e["kid"], k, key=Key()),
    ]
    for b in bad:
        problem(c.new_account({"externalAccountBinding": b}, check=False), 400, "malformed")


def test_EAB_04_06_09_refused_and_no_account(ctx):
    """unknown kid or wrong MAC: unauthorized, and no account is created"""
    before = len(accounts(ctx))
    e = new_eab(ctx)
    c = ctx.client(directory="eab", register=False)
    problem(c.new_account({"externalAccountBinding": eab_binding(c, "nosuchkid", key_bytes(e))},
                          check=False), 403, "unauthorized")
    problem(c.new_account({"externalAccountBinding": eab_binding(c, e["kid"], key_bytes(e),
                                                                 sign_key=b"wrong key")},
                          check=False), 403, "unauthorized")
    assert len(accounts(ctx)) == before


def test_EAB_one_time_and_expiry(ctx):
    """a one-time key refused on second use; an expired key refused; a reusable key works twice"""
    e = new_eab(ctx)
    c1 = ctx.client(directory="eab", register=False)
    c1.new_account({"externalAccountBinding": eab_binding(c1, e["kid"], key_bytes(e))})
    c2 = ctx.client(directory="eab", register=False)
    doc = problem(c2.new_account({"externalAccountBinding": eab_binding(c2, e["kid"], key_bytes(e))},
                                 check=False), 403, "unauthorized")
    assert "already used" in doc["detail"]
    e = new_eab(ctx, "eab", "--expires", "1s")
    time.sleep(2.1)
    c3 = ctx.client(directory="eab", register=False)
    doc = problem(c3.new_account({"externalAccountBinding": eab_binding(c3, e["kid"], key_bytes(e))},
                                 check=False), 403, "unauthorized")
    assert "expired" in doc["detail"]
    e = new_eab(ctx, "eab", "--reusable")
    for _ in range(2):
        c = ctx.client(directory="eab", register=False)
        assert c.new_account({"externalAccountBinding": eab_binding(c, e["kid"], key_bytes(e))}
                             ).status_code == 201


def test_EAB_key_of_another_directory(ctx):
    """a key made for another directory is refused"""
    e = new_eab(ctx, "default")
    c = ctx.client(directory="eab", register=False)
    problem(c.new_account({"externalAccountBinding": eab_binding(c, e["kid"], key_bytes(e))},
                          check=False), 403, "unauthorized")


def test_EAB_account_records_its_key(ctx):
    """the account records which key it came through (acme-admin accounts show)"""
    e = new_eab(ctx)
    c = ctx.client(directory="eab", register=False)
    c.new_account({"externalAccountBinding": eab_binding(c, e["kid"], key_bytes(e))})
    acct_id = c.kid.rsplit("/", 1)[1]
    # "--": an id may begin with "-" (base64url), and getopt would take it
    # for an option.
    shown = json.loads(admin(ctx, "accounts", "show", "--json", "--", acct_id))
    assert shown["eab_kid"] == e["kid"]


def test_RL_01_02_03_05_06_orders_limit(ctx):
    """over rate_orders_per_account: 429 rateLimited with Retry-After, nonce, index and help links;
    after Retry-After the same request passes"""
    c = ctx.client(directory="limited")
    for _ in range(3):
        c.new_order([ctx.name()])
    r = c.new_order([ctx.name()], check=False)
    problem(r, 429, "rateLimited")
    ra = r.headers["Retry-After"]
    assert ra.isdigit() and 1 <= int(ra) <= 10
    has_nonce(r)
    index_link(r, ctx.url("limited"))
    assert links(r, "help") == ["https://example.org/rate-limits"]
    time.sleep(int(ra) + 0.5)
    assert c.new_order([ctx.name()]).status_code == 201


def test_RL_04_accounts_per_ip(ctx):
    """rate_accounts_per_ip: new accounts from one address are limited"""
    codes = []
    for _ in range(4):
        codes.append(ctx.client(directory="limitip", register=False).new_account(check=False).status_code)
    assert codes[:3] == [201, 201, 201] and codes[3] == 429, codes


def test_RL_04_failed_validations(ctx):
    """after rate_failed_validations failures for a name, new orders for it are limited"""
    c = ctx.client(directory="limited")
    name = ctx.name()
    o = c.new_order([name]).json()
    az = c.get(o["authorizations"][0]).json()
    ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
    ctx.responder.tokens[ch["token"]] = "wrong"
    c.post(ch["url"], {})
    c.wait(o["authorizations"][0], until=("invalid",), timeout=40)
    problem(c.new_order([name], check=False), 429, "rateLimited")
    assert c.new_order([ctx.name()]).status_code == 201     # another name is fine


def test_RL_04_certs_per_domain(ctx):
    """rate_certs_per_domain counts issued certificates per registered domain"""
    c = ctx.client(directory="limited")
    base = "rl%d.net" % int(time.time() * 1000)     # a registered domain (PSL: net)
    for i in range(2):
        c.issue(["h%d.%s" % (i, base)], ctx.responder)
    r = c.new_order(["h9." + base], check=False)
    problem(r, 429, "rateLimited")
    assert base in r.json()["detail"]


def test_RL_override_for_one_account(ctx):
    """an operator override (acme-admin ratelimit set) lifts the orders limit for one account"""
    c = ctx.client(directory="limited")
    acct_id = c.kid.rsplit("/", 1)[1]
    admin(ctx, "ratelimit", "set", "--account", acct_id, "--limit", "orders_per_account=100/1h")
    for _ in range(5):
        assert c.new_order([ctx.name()]).status_code == 201
    admin(ctx, "ratelimit", "clear", "--account", acct_id)


def test_POLICY_denied_name(ctx):
    """a name matching names_deny: rejectedIdentifier naming the rule"""
    c = ctx.client(directory="limited")
    doc = problem(c.new_order(["x.bad.example.com"], check=False), 400, "rejectedIdentifier")
    assert "names_deny" in doc["detail"]


def test_POLICY_lifetime_above_maximum(ctx):
    """a notAfter beyond cert_lifetime_max is refused (documented: not clamped)"""
    c = ctx.client(directory="limited")
    now = int(time.time())
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    na = time.strftime(fmt, time.gmtime(now + 30 * 86400))
    doc = problem(c.new_order([ctx.name()], notAfter=na, check=False), 400, "malformed")
    assert "maximum" in doc["detail"]


def test_POLICY_key_types(ctx):
    """a CSR key type the directory does not accept: badCSR naming the rule"""
    c = ctx.client(directory="limited")
    name = ctx.name()
    r = c.new_order([name])
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    doc = problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key("rsa", 2048), [name]))},
                         check=False), 400, "badCSR")
    assert "RSA" in doc["detail"]


def test_RL_07_renewal_in_window_skips_limits(ctx):
    """with the orders limit used up, a renewal (replaces) inside its ARI window still gets through"""
    from t_revoke import ari_id
    from acmeclient import pem_certs
    c = ctx.client(directory="limited")
    name = ctx.name()
    now = int(time.time())
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    # A certificate 23 hours into its 24: its renewal window has started.
    _, _, pem = c.issue([name], ctx.responder,
                        notBefore=time.strftime(fmt, time.gmtime(now - 23 * 3600)),
                        notAfter=time.strftime(fmt, time.gmtime(now + 3600)))
    while c.new_order([ctx.name()], check=False).status_code != 429:
        pass
    r = c.new_order([name], replaces=ari_id(pem_certs(pem)[0]), check=False)
    assert r.status_code == 201, r.text
