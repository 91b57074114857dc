"""Orders, authorizations and challenges (checklist sections 6 and 7)."""

import datetime
import re
import time

from acmeclient import b64u, make_csr, Key
from common import links, problem


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def test_ORD_01_new_order(ctx):
    """newOrder: 201, Location, status, identifiers, authorizations, finalize, expires"""
    c = ctx.account
    r = c.new_order([ctx.name()])
    assert r.status_code == 201
    assert r.headers["Location"].startswith(ctx.url(path="order/"))
    o = r.json()
    assert o["status"] == "pending"
    assert len(o["authorizations"]) == 1 and o["finalize"].startswith(ctx.base)
    assert parse_time(o["expires"]) > time.time()


def test_ORD_02_identifiers_required(ctx):
    """identifiers missing, empty, or an entry without value: malformed"""
    c = ctx.account
    for payload in ({}, {"identifiers": []}, {"identifiers": [{"type": "dns"}]},
                    {"identifiers": "a.example.com"}):
        problem(c.post(c.directory["newOrder"], payload, check=False), 400, "malformed")


def test_ORD_03_unsupported_type(ctx):
    """an email identifier: unsupportedIdentifier

    ids: ERR-06
    """
    c = ctx.account
    r = c.post(c.directory["newOrder"], {"identifiers": [{"type": "email", "value": "a@b.example"}]},
               check=False)
    problem(r, 400, "unsupportedIdentifier")


def test_ORD_04_05_name_syntax(ctx):
    """bad names each refused: empty label, hyphens, trailing dot, TLD, IP as dns, R-LDH, punycode"""
    c = ctx.account
    for bad in ("a..example", "-a.example", "a.example.", "com", "1.2.3.4", "ab--c.example",
                "xn--a.example"):
        r = c.new_order([bad], check=False)
        assert r.status_code == 400, bad
        assert r.json()["type"].endswith(("malformed", "rejectedIdentifier")), (bad, r.text)


def test_ORD_06_partial_failure(ctx):
    """one refused name and one good: error with a subproblem, and no order"""
    c = ctx.client()
    r = c.new_order(["a..example", ctx.name()], check=False)
    doc = problem(r, 400, "rejectedIdentifier")
    assert len(doc["subproblems"]) == 1
    assert doc["subproblems"][0]["identifier"] == {"type": "dns", "value": "a..example"}
    assert c.get(c.get(c.kid).json()["orders"]).json()["orders"] == []


def test_ERR_04_05_subproblems(ctx):
    """two bad names: one problem with two subproblems naming each identifier"""
    c = ctx.account
    doc = problem(c.new_order(["a..example", "-b.example"], check=False), 400, "rejectedIdentifier")
    assert sorted(s["identifier"]["value"] for s in doc["subproblems"]) == ["-b.example", "a..example"]
    assert all(s["type"].startswith("urn:ietf:params:acme:error:") for s in doc["subproblems"])


def test_ORD_08_validity(ctx):
    """notAfter within policy is echoed; a bad timestamp or notAfter < notBefore: malformed

    ids: ORD-07
    """
    c = ctx.account
    na = int(time.time()) + 10 * 86400
    o = c.new_order([ctx.name()], notAfter=rfc3339(na)).json()
    assert parse_time(o["notAfter"]) == na
    problem(c.new_order([ctx.name()], notAfter="tomorrow", check=False), 400, "malformed")
    nb = int(time.time()) + 3600
    problem(c.new_order([ctx.name()], notBefore=rfc3339(nb), notAfter=rfc3339(nb - 60),
                        check=False), 400, "malformed")
    problem(c.new_order([ctx.name()], notAfter=rfc3339(int(time.time()) + 400 * 86400),
                        check=False), 400, "malformed")


def test_ORD_08_certificate_matches_validity(ctx):
    """the certificate's validity is exactly the requested notBefore/notAfter"""
    c = ctx.account
    nb = int(time.time())
    na = nb + 5 * 86400
    _, _, pem = c.issue([ctx.name()], ctx.responder, notBefore=rfc3339(nb), notAfter=rfc3339(na))
    from acmeclient import pem_certs
    leaf = pem_certs(pem)[0]
    assert int(leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()) == nb
    assert int(leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()) == na


def test_ORD_09_11_12_wildcard(ctx):
    """a wildcard order: authz for the base name, wildcard:true, DNS challenges only"""
    c = ctx.account
    base = ctx.name()
    o = c.new_order(["*." + base, base]).json()
    azs = [c.get(u).json() for u in o["authorizations"]]
    assert sorted(a["identifier"]["value"] for a in azs) == [base, base]
    wild = [a for a in azs if a.get("wildcard")]
    plain = [a for a in azs if "wildcard" not in a]
    assert len(wild) == 1 and len(plain) == 1
    assert {ch["type"] for ch in wild[0]["challenges"]} == {"dns-01"}
    assert "*" not in str([a["identifier"] for a in azs])


def test_ORD_10_wildcard_syntax(ctx):
    """bad wildcards are refused"""
    c = ctx.account
    for bad in ("a*.x.example", "*.*.x.example", "x.*.example", "*"):
        r = c.new_order([bad], check=False)
        assert r.status_code == 400, (bad, r.text)


def test_ORD_13_normalised(ctx):
    """case-insensitive duplicates collapse to one lower-case identifier (documented)"""
    c = ctx.account
    n = ctx.name()
    o = c.new_order([n.upper(), n]).json()
    assert o["identifiers"] == [{"type": "dns", "value": n}]


def test_ORD_14_identifier_cap(ctx):
    """1000 identifiers: refused"""
    c = ctx.account
    r = c.new_order(["n%d.example.com" % i for i in range(1000)], check=False)
    assert r.status_code == 400
    assert r.json()["type"].endswith(("malformed", "rejectedIdentifier"))


def test_ORD_15_16_17_lifecycle(ctx):
    """identifiers and authorizations fixed; pending -> ready -> valid; certificate only when valid

    ids: FIN-12
    """
    c = ctx.account
    name = ctx.name()
    r = c.new_order([name])
    url, o = r.headers["Location"], r.json()
    assert "certificate" not in o
    c.solve_http01(o, ctx.responder)
    ready = c.wait(url, until=("ready",)).json()
    assert ready["identifiers"] == o["identifiers"] and ready["authorizations"] == o["authorizations"]
    assert "certificate" not in ready
    fin = c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [name]))})
    assert fin.json()["status"] in ("processing", "valid")
    done = c.wait(url, until=("valid",)).json()
    assert done["certificate"] and done["authorizations"] == o["authorizations"]


def test_ORD_18_19_failed_authz_invalidates_order(ctx):
    """deactivating an authz of a ready order makes it invalid, with an error"""
    c = ctx.account
    r = c.new_order([ctx.name()])
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    c.post(o["authorizations"][0], {"status": "deactivated"})
    o2 = c.get(url).json()
    assert o2["status"] == "invalid"
    assert o2["error"]["type"].startswith("urn:ietf:params:acme:error:")


def test_ORD_20_expiry(ctx):
    """a pending order and its authorization expire (short directory: 10 s)

    ids: AZ-25
    """
    c = ctx.client(directory="short")
    r = c.new_order([ctx.name()])
    url, o = r.headers["Location"], r.json()
    time.sleep(11)
    assert c.get(url).json()["status"] == "invalid"
    assert c.get(o["authorizations"][0]).json()["status"] == "expired"


def test_ORD_21_valid_is_final(ctx):
    """a valid order stays valid with its certificate after its authzs are deactivated"""
    c = ctx.account
    url, o, _ = c.issue([ctx.name()], ctx.responder)
    for az in o["authorizations"]:
        c.post(az, {"status": "deactivated"})
    o2 = c.get(url).json()
    assert o2["status"] == "valid" and o2["certificate"] == o["certificate"]


def test_ORD_22_location_on_order(ctx):
    """POST-as-GET and finalize responses carry Location: the order URL"""
    c = ctx.account
    name = ctx.name()
    r = c.new_order([name])
    url, o = r.headers["Location"], r.json()
    assert c.get(url).headers["Location"] == url
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    fin = c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [name]))})
    assert fin.headers["Location"] == url


def test_ORD_24_30_reuse_and_preauthorization(ctx):
    """a validated name ordered again is ready at once; a newAuthz validation counts too

    ids: ORD-27
    """
    c = ctx.client()
    name = ctx.name()
    url, o, _ = c.issue([name], ctx.responder)
    r = c.new_order([name])
    assert r.json()["status"] == "ready"
    assert r.json()["authorizations"] == o["authorizations"]
    # Pre-authorization.
    pre = ctx.name()
    r = c.post(c.directory["newAuthz"], {"identifier": {"type": "dns", "value": pre}})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    az_url = r.headers["Location"]
    ch = [x for x in r.json()["challenges"] if x["type"] == "http-01"][0]
    ctx.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
    c.post(ch["url"], {})
    c.wait(az_url, until=("valid",))
    r = c.new_order([pre])
    assert r.json()["status"] == "ready" and r.json()["authorizations"] == [az_url]


def test_ORD_25_no_cross_account_reuse(ctx):
    """account B ordering a name A validated gets a pending authorization"""
    a, b = ctx.client(), ctx.client()
    name = ctx.name()
    a.issue([name], ctx.responder)
    o = b.new_order([name]).json()
    assert o["status"] == "pending"
    assert b.get(o["authorizations"][0]).json()["status"] == "pending"


def test_ORD_26_http_authz_not_reused_for_wildcard(ctx):
    """an http-01 validated name does not satisfy its wildcard"""
    c = ctx.client()
    name = ctx.name()
    c.issue([name], ctx.responder)
    o = c.new_order(["*." + name]).json()
    az = c.get(o["authorizations"][0]).json()
    assert az["status"] == "pending" and {x["type"] for x in az["challenges"]} == {"dns-01"}


def test_ORD_28_29_newauthz_rules(ctx):
    """newAuthz: a wildcard is malformed; a bad name is refused"""
    c = ctx.account
    problem(c.post(c.directory["newAuthz"], {"identifier": {"type": "dns", "value": "*.p.example.com"}},
                   check=False), 400, "malformed")
    r = c.post(c.directory["newAuthz"], {"identifier": {"type": "dns", "value": "a..example"}},
               check=False)
    assert 400 <= r.status_code < 500


def test_AZ_01_09_authz_and_challenges(ctx):
    """an authorization has identifier, status, challenges with type/url/status/token"""
    c = ctx.account
    o = c.new_order([ctx.name()]).json()
    az = c.get(o["authorizations"][0]).json()
    assert az["status"] == "pending" and az["identifier"]["type"] == "dns"
    assert "expires" in az
    for ch in az["challenges"]:
        assert ch["type"] and ch["url"].startswith(ctx.base) and ch["status"] == "pending"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", ch["token"])
        assert "validated" not in ch


def test_AZ_05_deactivate(ctx):
    """owner deactivates (200); another account gets 403; other updates are malformed"""
    a, b = ctx.account, ctx.client()
    o = a.new_order([ctx.name()]).json()
    az = o["authorizations"][0]
    problem(b.post(az, {"status": "deactivated"}, check=False), 403, "unauthorized")
    problem(a.post(az, {"status": "valid"}, check=False), 400, "malformed")
    r = a.post(az, {"status": "deactivated"})
    assert r.status_code == 200 and r.json()["status"] == "deactivated"


def test_AZ_06_deactivated_not_reused(ctx):
    """a deactivated valid authorization is not reused"""
    c = ctx.client()
    name = ctx.name()
    _, o, _ = c.issue([name], ctx.responder)
    c.post(o["authorizations"][0], {"status": "deactivated"})
    o2 = c.new_order([name]).json()
    assert o2["status"] == "pending" and o2["authorizations"] != o["authorizations"]


def test_AZ_08_tokens(ctx):
    """200 tokens: unique, 43 base64url characters"""
    c = ctx.account
    seen = set()
    o = c.new_order([ctx.name() for _ in range(66)]).json()
    for u in o["authorizations"]:
        for ch in c.get(u).json()["challenges"]:
            assert re.fullmatch(r"[A-Za-z0-9_-]{43}", ch["token"])
            seen.add(ch["token"])
    assert len(seen) == 66 * 3


def test_AZ_11_12_respond(ctx):
    """POST {} to a challenge: 200, processing or final, Link rel=up to the authz"""
    c = ctx.account
    o = c.new_order([ctx.name()]).json()
    az = c.get(o["authorizations"][0]).json()
    ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
    ctx.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
    r = c.post(ch["url"], {})
    assert r.status_code == 200 and r.json()["status"] in ("processing", "valid", "invalid")
    assert links(r, "up") == [o["authorizations"][0]]


def test_AZ_13_post_as_get_does_not_start(ctx):
    """POST-as-GET on a challenge only fetches it"""
    c = ctx.account
    o = c.new_order([ctx.name()]).json()
    ch = c.get(o["authorizations"][0]).json()["challenges"][0]
    assert c.get(ch["url"]).json()["status"] == "pending"
    time.sleep(0.5)
    assert c.get(ch["url"]).json()["status"] == "pending"


def test_AZ_14_unknown_fields_ignored(ctx):
    """an old-style keyAuthorization field is ignored and validation starts"""
    c = ctx.account
    o = c.new_order([ctx.name()]).json()
    ch = [x for x in c.get(o["authorizations"][0]).json()["challenges"] if x["type"] == "http-01"][0]
    ctx.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
    r = c.post(ch["url"], {"keyAuthorization": "x"})
    assert r.json()["status"] in ("processing", "valid")


def test_AZ_15_unusable_response(ctx):
    """responding to a deactivated authz's challenge: malformed; B on A's challenge: 403"""
    a, b = ctx.account, ctx.client()
    o = a.new_order([ctx.name()]).json()
    az = a.get(o["authorizations"][0]).json()
    ch = az["challenges"][0]["url"]
    problem(b.post(ch, {}, check=False), 403, "unauthorized")
    a.post(o["authorizations"][0], {"status": "deactivated"})
    problem(a.post(ch, {}, check=False), 400, "malformed")


def test_AZ_16_repost_valid(ctx):
    """re-POSTing {} to a valid challenge: 200 valid, no new attempt"""
    c = ctx.account
    _, o, _ = c.issue([ctx.name()], ctx.responder)
    az = c.get(o["authorizations"][0]).json()
    ch = [x for x in az["challenges"] if x["status"] == "valid"][0]
    r = c.post(ch["url"], {})
    assert r.json()["status"] == "valid" and r.json()["validated"] == ch["validated"]


def test_AZ_17_keyauth_fixed_at_response(ctx):
    """the key authorization is fixed when the client responds (rollover afterwards is fine)"""
    from t_account import inner_jws
    c = ctx.client()
    o = c.new_order([ctx.name()]).json()
    az_url = o["authorizations"][0]
    ch = [x for x in c.get(az_url).json()["challenges"] if x["type"] == "http-01"][0]
    ctx.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
    c.post(ch["url"], {})
    new = Key()
    c.post(c.directory["keyChange"], inner_jws(c, new))
    c.key = new
    assert c.wait(az_url, until=("valid", "invalid")).json()["status"] == "valid"


def test_AZ_24_challenge_offer(ctx):
    """dns: http-01, dns-01, tls-alpn-01; wildcard: dns-01; ip: http-01, tls-alpn-01

    ids: IP-07
    """
    c = ctx.client()
    name = ctx.name()
    o = c.new_order([name, "*." + ctx.name()], ips=["127.0.0.1"]).json()
    kinds = {}
    for u in o["authorizations"]:
        az = c.get(u).json()
        key = "wild" if az.get("wildcard") else az["identifier"]["type"]
        kinds[key] = {x["type"] for x in az["challenges"]}
    assert kinds["dns"] == {"http-01", "dns-01", "tls-alpn-01"}
    assert kinds["wild"] == {"dns-01"}
    assert kinds["ip"] == {"http-01", "tls-alpn-01"}
