"""Behaviour that needs a configuration change: terms of service rotated
(ACC-13), a profile withdrawn (PRF-06). Runs last (t_z*), since it changes
the configuration of the running server."""

import requests

from acmeclient import Key, b64u, make_csr
from common import links, problem


def meta(ctx, directory):
    return requests.get(ctx.url(directory), verify=ctx.ca, timeout=30).json()["meta"]


def test_ACC_13_terms_changed(ctx):
    """after the terms change: userActionRequired with the terms link and instance; agreeing fixes it"""
    c = ctx.client(directory="tos")
    new = "https://example.org/terms/v2"
    ctx.reconfigure(lambda t: t.replace("https://example.org/terms/v1", new),
                    lambda: meta(ctx, "tos").get("termsOfService") == new)
    r = c.new_order([ctx.name()], check=False)
    doc = problem(r, 403, "userActionRequired")
    assert links(r, "terms-of-service") == [new]
    assert doc["instance"] == new
    # Fetching the account is refused too; agreeing is allowed and fixes it.
    problem(c.get(c.kid, check=False), 403, "userActionRequired")
    assert c.post(c.kid, {"termsOfServiceAgreed": True}).status_code == 200
    assert c.new_order([ctx.name()]).status_code == 201


def test_PRF_06_withdrawn_profile(ctx):
    """finalizing an order whose profile was withdrawn: invalidProfile"""
    c = ctx.account
    name = ctx.name()
    r = c.new_order([name], profile="dnsonly")
    url, o = r.headers["Location"], r.json()
    c.solve_http01(o, ctx.responder)
    c.wait(url, until=("ready",))
    ctx.reconfigure(lambda t: t.replace("profiles = shortlived tlsserver dnsonly",
                                        "profiles = shortlived tlsserver"),
                    lambda: "dnsonly" not in meta(ctx, "default")["profiles"])
    problem(c.post(o["finalize"], {"csr": b64u(make_csr(Key(), [name]))}, check=False), 400,
            "invalidProfile")
