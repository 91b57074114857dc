"""The audit log after the suite has run (t_z*: runs last)."""

import json
import os


def test_AUDIT_log_lines(ctx):
    """one JSON line per event; issuance, revocation, orders, validation and key changes are there"""
    path = os.path.join(ctx.state, "log", "audit.log")
    events = {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            assert rec["time"].endswith("Z") and rec["directory"]
            events.setdefault(rec["event"], []).append(rec)
    for kind in ("order.create", "validation", "cert.issue", "cert.revoke", "account.key_change"):
        assert events.get(kind), "no %s event" % kind
    issue = events["cert.issue"][0]
    for k in ("serial", "account", "identifiers", "lifetime", "not_after"):
        assert k in issue, issue
    assert {"valid", "invalid"} <= {e["result"] for e in events["validation"]}


def test_AUDIT_no_secrets(ctx):
    """the audit log holds no keys, MAC keys or nonces (key authorizations are public)"""
    with open(os.path.join(ctx.state, "log", "audit.log")) as f:
        text = f.read()
    for bad in ("BEGIN", '"d":', '"k":', "nonce", "hmac", "PRIVATE"):
        assert bad not in text, bad
