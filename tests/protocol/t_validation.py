"""Authorization and challenge outcomes as the client sees them (checklist
section 7): transitions, errors, retries with backoff, Retry-After. The
http-01 details themselves are the validator's tests."""

import time

from common import PREFIX


def start_http01(ctx, c, directory_client_name=None, answer=True, wrong=False):
    o = c.new_order([directory_client_name or ctx.name()]).json()
    az_url = o["authorizations"][0]
    ch = [x for x in c.get(az_url).json()["challenges"] if x["type"] == "http-01"][0]
    if answer:
        ctx.responder.tokens[ch["token"]] = "wrong.value" if wrong else c.key_authorization(ch["token"])
    r = c.post(ch["url"], {})
    return o, az_url, ch, r


def test_AZ_02_03_valid(ctx):
    """one valid challenge makes the authz valid; it lists the challenge that succeeded, with validated"""
    c = ctx.account
    _, az_url, ch, _ = start_http01(ctx, c)
    az = c.wait(az_url, until=("valid", "invalid")).json()
    assert az["status"] == "valid"
    assert "expires" in az
    done = [x for x in az["challenges"] if x["url"] == ch["url"]][0]
    assert done["status"] == "valid" and done["validated"].endswith("Z")


def test_AZ_07_22_processing_with_error_and_retry_after(ctx):
    """while retrying: 200, processing, the last attempt's error, and Retry-After on challenge and authz"""
    c = ctx.client(directory="short")
    _, az_url, ch, r = start_http01(ctx, c, wrong=True)
    assert r.status_code == 200
    deadline = time.time() + 8
    while True:
        rc = c.get(ch["url"])
        body = rc.json()
        if body["status"] == "processing" and "error" in body:
            break
        assert time.time() < deadline, body
        time.sleep(0.2)
    assert body["error"]["type"].startswith(PREFIX)
    assert rc.headers["Retry-After"].isdigit()
    ra = c.get(az_url)
    assert ra.status_code == 200 and ra.json()["status"] == "pending"
    assert ra.headers["Retry-After"].isdigit()


def test_AZ_02_04_10_ERR_08_invalid(ctx):
    """retries end at the deadline: challenge invalid with an error, authz invalid, failed challenge listed

    ids: ERR-08
    """
    c = ctx.client(directory="short")
    o, az_url, ch, _ = start_http01(ctx, c, wrong=True)
    az = c.wait(az_url, until=("valid", "invalid"), timeout=30).json()
    assert az["status"] == "invalid"
    failed = [x for x in az["challenges"] if x["url"] == ch["url"]][0]
    assert failed["status"] == "invalid"
    assert failed["error"]["type"] in (PREFIX + "unauthorized", PREFIX + "incorrectResponse")
    assert failed["error"]["detail"]


def test_AZ_21_retry_succeeds(ctx):
    """the first attempt fails (no answer yet); a later retry succeeds without client action"""
    c = ctx.client(directory="short")
    _, az_url, ch, _ = start_http01(ctx, c, answer=False)
    deadline = time.time() + 8
    while "error" not in c.get(ch["url"]).json():
        assert time.time() < deadline
        time.sleep(0.1)
    ctx.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
    assert c.wait(az_url, until=("valid", "invalid"), timeout=30).json()["status"] == "valid"


def test_AZ_18_19_keyauth_thumbprint(ctx):
    """the server expects token.thumbprint(account key) with the RFC 7638 thumbprint"""
    from acmeclient import Key
    for kind in ("p384", "rsa", "ed25519"):
        c = ctx.client(Key(kind))
        _, az_url, _, _ = start_http01(ctx, c)
        assert c.wait(az_url, until=("valid", "invalid")).json()["status"] == "valid"


def test_AZ_22_repost_retries_now_rate_limited(ctx):
    """a re-POST of {} to a challenge waiting for its retry starts an attempt within 1 s; 50 rapid re-POSTs start at most one more"""
    c = ctx.account
    _, az_url, ch, _ = start_http01(ctx, c, wrong=True)
    path = "/.well-known/acme-challenge/" + ch["token"]

    def hits():
        return sum(1 for p, _ in list(ctx.responder.requests) if p == path)

    def retry_after():
        r = c.get(ch["url"])
        assert r.json()["status"] == "processing", r.json()
        return int(r.headers.get("Retry-After", "0"))

    # retry_base 2 s: attempts at about 0, 2 and 6 s; after the third the
    # next one is 8 s away.
    deadline = time.time() + 30
    while not (hits() == 3 and 0 < retry_after() <= 8):
        assert hits() <= 3 and time.time() < deadline, (hits(), retry_after())
        time.sleep(0.05)
    # Just after an attempt failed: too early for another (rate limit).
    if retry_after() == 8:
        c.post(ch["url"], {})
        time.sleep(0.5)
        assert hits() == 3, "an early retry right after a failed attempt"
    # Once retry_base has passed since that attempt, a re-POST starts one now.
    while retry_after() > 6:
        assert time.time() < deadline
        time.sleep(0.1)
    assert hits() == 3
    r = c.post(ch["url"], {})
    assert r.status_code == 200 and r.json()["status"] == "processing"
    t0 = time.time()
    while hits() < 4:
        assert time.time() - t0 < 5.0, "no new attempt soon after the re-POST"
        time.sleep(0.02)
    # A burst: the attempt just made (then its 16 s wait) leaves no room.
    for _ in range(50):
        assert c.post(ch["url"], {}).status_code == 200
    time.sleep(1.0)
    assert hits() <= 5, "%d attempts after 50 re-POSTs" % (hits() - 4)
    body = c.get(ch["url"]).json()
    assert body["status"] == "processing" and body["error"]["type"].startswith(PREFIX)
