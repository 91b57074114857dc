"""Assertions shared by the protocol tests."""

import json
import re

PREFIX = "urn:ietf:params:acme:error:"
REGISTERED = {
    "accountDoesNotExist", "alreadyRevoked", "badCSR", "badNonce", "badPublicKey",
    "badRevocationReason", "badSignatureAlgorithm", "caa", "compound", "connection", "dns",
    "externalAccountRequired", "incorrectResponse", "invalidContact", "malformed",
    "orderNotReady", "rateLimited", "rejectedIdentifier", "serverInternal", "tls",
    "unauthorized", "unsupportedContact", "unsupportedIdentifier", "userActionRequired",
    "alreadyReplaced", "invalidProfile",
}


def problem(resp, status, ptype):
    """resp is a problem document with this HTTP status and ACME type."""
    assert resp.status_code == status, "want %d %s, got %d: %s" % (
        status, ptype, resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type") == "application/problem+json", resp.headers
    doc = resp.json()
    assert doc.get("type") == PREFIX + ptype, "want %s, got %s: %s" % (ptype, doc.get("type"), doc)
    assert doc.get("detail"), doc
    assert doc.get("status") == status, doc
    assert "identifier" not in doc, doc
    t = doc["type"][len(PREFIX):]
    assert t in REGISTERED, t
    return doc


def raises(fn, status, ptype):
    from acmeclient import Problem
    try:
        r = fn()
    except Problem as p:
        return problem(p.resp, status, ptype)
    raise AssertionError("no error: %d %s" % (r.status_code, r.text[:200]))


def index_link(resp, dir_url):
    links = resp.headers.get("Link", "")
    assert '<%s>;rel="index"' % dir_url in links, links


def has_nonce(resp):
    n = resp.headers.get("Replay-Nonce")
    assert n and re.fullmatch(r"[A-Za-z0-9_-]{22,}", n), resp.headers
    return n


def links(resp, rel):
    out = []
    for part in resp.headers.get("Link", "").split(","):
        m = re.match(r'\s*<([^>]*)>;\s*rel="([^"]*)"', part)
        if m and m.group(2) == rel:
            out.append(m.group(1))
    return out


def dumps(obj):
    return json.dumps(obj, sort_keys=True)
