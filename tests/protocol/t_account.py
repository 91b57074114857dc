"""Accounts: creation, contacts, terms, update, key rollover, deactivation,
orders list (checklist section 5)."""

from acmeclient import Client, Key, b64u
from common import links, problem


def test_ACC_01_create(ctx):
    """newAccount: 201, Location, status valid"""
    c = ctx.client(register=False)
    r = c.new_account({"termsOfServiceAgreed": True})
    assert r.status_code == 201
    assert r.headers["Location"].startswith(ctx.url(path="acct/"))
    assert r.json()["status"] == "valid"


def test_ACC_02_orders_url(ctx):
    """the account object has an orders URL"""
    c = ctx.client(register=False)
    body = c.new_account().json()
    assert body["orders"].startswith(ctx.base + "/")


def test_ACC_04_unknown_fields_ignored(ctx):
    """client orders/unknown fields ignored, not echoed"""
    c = ctx.client(register=False)
    body = c.new_account({"foo": 1, "orders": "x", "onlyReturnExisting": False,
                          "termsOfServiceAgreed": True}).json()
    assert "foo" not in body and "onlyReturnExisting" not in body
    assert body["orders"] != "x"


def test_ACC_05_existing_key(ctx):
    """newAccount again with the same key: 200, same Location, fields ignored

    ids: ACC-03
    """
    k = Key()
    c = ctx.client(k, register=False)
    r1 = c.new_account({"termsOfServiceAgreed": True, "contact": ["mailto:a@example.org"]})
    c2 = Client(ctx.dir_url, ctx.ca, k)
    r2 = c2.new_account({"termsOfServiceAgreed": True, "contact": ["mailto:b@example.org"]})
    assert r2.status_code == 200
    assert r2.headers["Location"] == r1.headers["Location"]
    assert r2.json()["contact"] == ["mailto:a@example.org"]


def test_ACC_06_only_return_existing(ctx):
    """onlyReturnExisting: unknown key accountDoesNotExist (twice); known key 200"""
    c = ctx.client(register=False)
    for _ in range(2):
        problem(c.new_account({"onlyReturnExisting": True}, check=False), 400, "accountDoesNotExist")
    loc = c.new_account().headers["Location"]
    r = c.new_account({"onlyReturnExisting": True})
    assert r.status_code == 200 and r.headers["Location"] == loc


def test_ACC_07_deactivated_key(ctx):
    """newAccount with a deactivated account's key: unauthorized"""
    c = ctx.client()
    c.post(c.kid, {"status": "deactivated"})
    c2 = Client(ctx.dir_url, ctx.ca, c.key)
    problem(c2.new_account(check=False), 401, "unauthorized")


def test_ACC_08_mailto(ctx):
    """a mailto contact is accepted"""
    c = ctx.client(register=False)
    r = c.new_account({"contact": ["mailto:ops@example.org"], "termsOfServiceAgreed": True})
    assert r.status_code == 201 and r.json()["contact"] == ["mailto:ops@example.org"]


def test_ACC_09_unsupported_contact(ctx):
    """a tel: contact: unsupportedContact"""
    c = ctx.client(register=False)
    problem(c.new_account({"contact": ["tel:+15555550100"]}, check=False), 400, "unsupportedContact")


def test_ACC_10_invalid_contact(ctx):
    """bad mailto values: invalidContact"""
    for bad in ("mailto:not an address", "mailto:a@example.org?subject=x",
                "mailto:a@example.org,b@example.org", "mailto:a@-bad-.example"):
        c = ctx.client(register=False)
        problem(c.new_account({"contact": [bad]}, check=False), 400, "invalidContact")


def test_ACC_11_contact_shape(ctx):
    """contact not an array, or too many: malformed"""
    c = ctx.client(register=False)
    problem(c.new_account({"contact": "mailto:a@example.org"}, check=False), 400, "malformed")
    many = ["mailto:a%d@example.org" % i for i in range(100)]
    problem(c.new_account({"contact": many}, check=False), 400, "malformed")


def test_ACC_12_terms_required(ctx):
    """a directory requiring ToS: refused without agreement (userActionRequired), 201 with"""
    c = ctx.client(directory="tos", register=False)
    r = c.new_account({}, check=False)
    problem(r, 403, "userActionRequired")
    assert links(r, "terms-of-service")
    assert c.new_account({"termsOfServiceAgreed": True}).status_code == 201


def test_ACC_14_update_contact(ctx):
    """account update: new contact; termsOfServiceAgreed and orders ignored"""
    c = ctx.client()
    r = c.post(c.kid, {"contact": ["mailto:new@example.org"], "termsOfServiceAgreed": False,
                       "orders": "x"})
    assert r.status_code == 200
    body = r.json()
    assert body["contact"] == ["mailto:new@example.org"]
    assert body["termsOfServiceAgreed"] is True
    assert c.get(c.kid).json()["contact"] == ["mailto:new@example.org"]


def test_ACC_15_post_as_get(ctx):
    """POST-as-GET on the account URL returns the account"""
    c = ctx.account
    assert c.get(c.kid).json()["status"] == "valid"


def test_ACC_16_other_account(ctx):
    """B posting to A's account URL: 403 unauthorized"""
    a, b = ctx.account, ctx.client()
    problem(b.get(a.kid, check=False), 403, "unauthorized")
    problem(b.post(a.kid, {"contact": []}, check=False), 403, "unauthorized")


def inner_jws(c, new, account=None, old=None, url=None, use_kid=False):
    url = url or c.directory["keyChange"]
    payload = {"account": account or c.kid, "oldKey": (old or c.key).jwk()}
    header = {"alg": new.alg, "url": url}
    if use_kid:
        header["kid"] = c.kid
    else:
        header["jwk"] = new.jwk()
    prot = b64u(__import__("json").dumps(header))
    pay = b64u(__import__("json").dumps(payload))
    return {"protected": prot, "payload": pay, "signature": b64u(new.sign((prot + "." + pay).encode()))}


def test_ACC_17_keychange_needs_kid(ctx):
    """keyChange signed with jwk: malformed"""
    c = ctx.client()
    new = Key()
    problem(c.post(c.directory["keyChange"], inner_jws(c, new), use_jwk=True, check=False), 400,
            "malformed")


def test_ACC_18_inner_rules(ctx):
    """inner JWS with kid, or a corrupted inner signature: malformed"""
    c = ctx.client()
    new = Key()
    problem(c.post(c.directory["keyChange"], inner_jws(c, new, use_kid=True), check=False), 400,
            "malformed")
    j = inner_jws(c, new)
    j["signature"] = b64u(b"\x00" * 64)
    problem(c.post(c.directory["keyChange"], j, check=False), 400, "malformed")


def test_ACC_19_inner_url(ctx):
    """inner and outer url differ: malformed"""
    c = ctx.client()
    problem(c.post(c.directory["keyChange"], inner_jws(c, Key(), url=c.kid), check=False), 400,
            "malformed")


def test_ACC_20_inner_payload(ctx):
    """wrong account URL or wrong oldKey in the inner payload: malformed"""
    c = ctx.client()
    other = ctx.client()
    problem(c.post(c.directory["keyChange"], inner_jws(c, Key(), account=other.kid), check=False),
            400, "malformed")
    problem(c.post(c.directory["keyChange"], inner_jws(c, Key(), old=Key()), check=False), 400,
            "malformed")


def test_ACC_21_key_in_use(ctx):
    """rolling A onto B's key: 409 with B's Location"""
    a, b = ctx.client(), ctx.client()
    r = a.post(a.directory["keyChange"], inner_jws(a, b.key), check=False)
    assert r.status_code == 409
    assert r.headers["Location"] == b.kid


def test_ACC_22_new_key_policy(ctx):
    """a new RSA-1024 key: badPublicKey"""
    c = ctx.client()
    problem(c.post(c.directory["keyChange"], inner_jws(c, Key("rsa", 1024)), check=False), 400,
            "badPublicKey")


def test_ACC_23_rollover(ctx):
    """after rollover the old key fails, the new works, pending orders stay pending"""
    c = ctx.client()
    order_url = c.new_order([ctx.name()]).headers["Location"]
    old, new = c.key, Key("p384")
    assert c.post(c.directory["keyChange"], inner_jws(c, new)).status_code == 200
    r = c.post(c.kid, "", key=old, check=False)
    assert r.status_code == 400 or r.status_code == 403
    c.key = new
    assert c.get(c.kid).status_code == 200
    assert c.get(order_url).json()["status"] == "pending"


def test_ACC_24_deactivate(ctx):
    """{"status":"deactivated"}: 200 and status deactivated"""
    c = ctx.client()
    r = c.post(c.kid, {"status": "deactivated"})
    assert r.status_code == 200 and r.json()["status"] == "deactivated"


def test_ACC_25_deactivated_is_refused(ctx):
    """a deactivated account gets 401 unauthorized everywhere (documented: 401)"""
    c = ctx.client()
    c.post(c.kid, {"status": "deactivated"})
    problem(c.get(c.kid, check=False), 401, "unauthorized")
    problem(c.new_order([ctx.name()], check=False), 401, "unauthorized")


def test_ACC_27_no_reactivation(ctx):
    """no reactivation; other status values are malformed"""
    c = ctx.client()
    problem(c.post(c.kid, {"status": "revoked"}, check=False), 400, "malformed")
    c.post(c.kid, {"status": "deactivated"})
    problem(c.post(c.kid, {"status": "valid"}, check=False), 401, "unauthorized")


def test_ACC_28_orders_list_and_pages(ctx):
    """orders list: pending listed, invalid dropped, pages linked by rel=next"""
    c = ctx.client()
    urls = [c.new_order([ctx.name()]).headers["Location"] for _ in range(5)]
    seen, url = [], c.get(c.kid).json()["orders"]
    pages = 0
    while url:
        r = c.get(url)
        seen += r.json()["orders"]
        nxt = links(r, "next")
        url = nxt[0] if nxt else None
        pages += 1
    assert sorted(seen) == sorted(urls)
    assert pages >= 2        # the protocol stack runs with orders_per_page = 2
    # An invalid order drops out: deactivate one order's authorization.
    az = c.get(urls[0]).json()["authorizations"][0]
    c.post(az, {"status": "deactivated"})
    seen, url = [], c.get(c.kid).json()["orders"]
    while url:
        r = c.get(url)
        seen += r.json()["orders"]
        nxt = links(r, "next")
        url = nxt[0] if nxt else None
    assert urls[0] not in seen and len(seen) == 4
    # A cursor naming no order of this account (here the account's own id):
    # malformed, not a server error (found by tests/fuzz/fuzz_request).
    bad = c.get(c.kid).json()["orders"] + "?cursor=" + c.kid.rsplit("/", 1)[1]
    problem(c.get(bad, check=False), 400, "malformed")


def test_ACC_29_csr_with_other_account_key(ctx):
    """a CSR carrying another account's key: badCSR"""
    from acmeclient import make_csr
    a = ctx.client()
    b = ctx.client()
    name = ctx.name()
    r = a.new_order([name])
    order = r.json()
    a.solve_http01(order, ctx.responder)
    order = a.wait(r.headers["Location"], until=("ready",)).json()
    csr = make_csr(b.key, [name])
    problem(a.post(order["finalize"], {"csr": b64u(csr)}, check=False), 400, "badCSR")
    csr = make_csr(a.key, [name])
    problem(a.post(order["finalize"], {"csr": b64u(csr)}, check=False), 400, "badCSR")


def test_ACC_09_other_schemes_when_configured(ctx):
    """a directory configured for tel: accepts it; the default one names mailto: as accepted"""
    c = ctx.client(directory="other", register=False)
    assert c.new_account({"contact": ["tel:+15555550100", "mailto:a@example.org"]}).status_code == 201
    doc = problem(ctx.client(register=False).new_account({"contact": ["tel:+1"]}, check=False), 400,
                  "unsupportedContact")
    assert "mailto:" in doc["detail"]
