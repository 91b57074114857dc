"""A requested validity in RA mode (tests/integration/ra.sh).

    validity.py forward DIR CA H01   an order with notAfter through an RA directory
                                     with upstream_forward_validity: the upstream
                                     (Pebble) issues a certificate that ends then
    validity.py refuse DIR CA        without it: newOrder with notAfter is refused
                                     at once (malformed), not silently dropped

PROTO names tests/protocol (the protocol suite's client).
"""
import datetime
import os
import sys
import time

sys.path.insert(0, os.environ["PROTO"])
from acmeclient import Client, Http01Responder, Problem, pem_certs  # noqa: E402


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def forward(directory, ca, h01):
    want = int(time.time()) + 5 * 86400
    c = Client(directory, ca)
    c.new_account()
    responder = Http01Responder(h01)
    try:
        _, order, pem = c.issue(["validity.example.com"], responder, notAfter=rfc3339(want))
    finally:
        responder.close()
    got = pem_certs(pem)[0].not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
    print("# asked notAfter %s, the order says %s, the certificate ends %s"
          % (rfc3339(want), order.get("notAfter"), rfc3339(got)))
    return order.get("notAfter") == rfc3339(want) and abs(got - want) <= 1


def refuse(directory, ca):
    c = Client(directory, ca)
    c.new_account()
    try:
        c.new_order(["validity.example.com"], notAfter=rfc3339(time.time() + 5 * 86400))
    except Problem as p:
        print("# %d %s: %s" % (p.status, p.short(), p.doc.get("detail")))
        return p.status == 400 and p.short() == "malformed" and "upstream" in p.doc.get("detail", "")
    print("# newOrder with notAfter was accepted")
    return False


if __name__ == "__main__":
    if sys.argv[1] == "forward":
        ok = forward(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        ok = refuse(sys.argv[2], sys.argv[3])
    sys.exit(0 if ok else 1)
