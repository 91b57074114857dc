#!/usr/bin/python3
"""Load driver and invariant checks for the fault tests (tests/integration/faults*.sh)
and the soak run (scripts/soak.sh).

  faults_load.py run --dir URL --ca ROOT --h01 PORT --out DIR [--clients N]
                     [--duration S] [--think MS]
      N client threads, each with its own account, loop over full issuances
      (newOrder, http-01 through one shared responder, finalize with a fresh
      P-256 key, download) until DIR/stop exists or S seconds have passed,
      then finish the flows in hand (60 s at most). Every step survives the
      faults under test: 5xx answers, refused or reset connections and
      badNonce are retried (after Retry-After, at most 1 s) until the flow's
      deadline (180 s). DIR gets:
        orders.jsonl   one JSON line per finished flow: order URL, names,
                       outcome (valid / invalid / gave-up), the serial of the
                       certificate downloaded, whether the server said valid
        events.log     "TIME ok" or "TIME err WHAT" per request (TIME: Unix
                       seconds, 3 decimals; WHAT: step:status:problem:Retry-After
                       for an HTTP error, step:exception otherwise): what the
                       degradation figures use;
                       "TIME chall-error TYPE" when a polled authorization
                       shows a failed validation attempt (being retried)
        progress       the number of certificates downloaded so far
        driver.log     the first lines of each distinct error, for diagnosis
  faults_load.py check --out DIR --admin ADMIN --conf CONF [--final]
      Compares what the clients saw with the store (acme-admin --json):
      no serial twice; every certificate belongs to exactly one order and
      every valid order has its certificate (nothing issued twice for one
      finalize); every order a client saw valid is valid in the store with
      the serial the client downloaded. No order is in "processing" for
      more than 60 s (with --final: none at all). Prints TAP-ready comment
      lines; exit 0 when all hold.
  faults_load.py degraded --out DIR --since T [--until T2]
      Prints "errors=N degraded_s=D recovered_s=R": the requests that failed
      after T (and before T2), the time from T to the last of them, and the
      time from T to the first certificate downloaded after the last error.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "protocol"))

import requests  # noqa: E402
from cryptography import x509  # noqa: E402

from acmeclient import Client, Http01Responder, Key, Problem, b64u, make_csr  # noqa: E402

RETRY_STATUS = (500, 502, 503, 504)
FLOW_DEADLINE = 180.0


class Recorder:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.events = open(os.path.join(out, "events.log"), "a", buffering=1)
        self.orders = open(os.path.join(out, "orders.jsonl"), "a", buffering=1)
        self.log = open(os.path.join(out, "driver.log"), "a", buffering=1)
        self.done = 0
        self.seen_errors = {}

    def ev(self, ok, what=""):
        with self.lock:
            self.events.write("%.3f %s\n" % (time.time(), "ok" if ok else "err " + what))

    def chall_error(self, ptype):
        with self.lock:
            self.events.write("%.3f chall-error %s\n" % (time.time(), ptype))

    def error(self, what, detail):
        with self.lock:
            n = self.seen_errors.get(what, 0)
            self.seen_errors[what] = n + 1
            if n < 3:
                self.log.write("%.3f %s: %s\n" % (time.time(), what, detail[:400]))

    def order(self, rec):
        with self.lock:
            self.orders.write(json.dumps(rec) + "\n")
            if rec.get("serial"):
                self.done += 1
                tmp = os.path.join(self.out, "progress.tmp")
                with open(tmp, "w") as f:
                    f.write("%d\n" % self.done)
                os.replace(tmp, os.path.join(self.out, "progress"))


class GiveUp(Exception):
    pass


class Flow:
    """One client thread: an account and a loop of issuances."""

    def __init__(self, args, rec, responder, idx, stop):
        self.args = args
        self.rec = rec
        self.responder = responder
        self.idx = idx
        self.stop = stop
        self.client = None
        self.n = 0

    def call(self, what, fn, deadline):
        """fn() until it succeeds, retrying what a fault causes."""
        while True:
            try:
                r = fn()
                self.rec.ev(True)
                return r
            except Problem as p:
                short = p.short()
                if p.status in RETRY_STATUS or short == "badNonce":
                    ra = p.resp.headers.get("Retry-After", "")
                    self.rec.ev(False, "%s:%d:%s:%s" % (what, p.status, short or "-", ra or "-"))
                    self.rec.error("%s %d %s" % (what, p.status, short), str(p))
                    wait = min(float(ra), 1.0) if ra.isdigit() else 0.5
                else:
                    self.rec.ev(True)   # an answer, if not the one we wanted
                    raise
            except (requests.exceptions.RequestException, ValueError, KeyError) as e:
                # A reset connection, a refused one (web server down), a 502
                # page that is not JSON...
                self.rec.ev(False, "%s:%s" % (what, type(e).__name__))
                self.rec.error("%s %s" % (what, type(e).__name__), str(e))
                wait = 0.5
            if time.time() + wait > deadline:
                raise GiveUp(what)
            time.sleep(wait * (0.5 + random.random()))

    def account(self):
        deadline = time.time() + FLOW_DEADLINE

        def make():
            c = Client(self.args.dir, self.args.ca, Key("p256"))
            c.new_account({"termsOfServiceAgreed": True})
            return c
        self.client = self.call("account", make, deadline)

    def poll(self, url, until, deadline, what):
        while True:
            r = self.call(what, lambda: self.client.get(url), deadline)
            doc = r.json()
            for ch in doc.get("challenges", []):
                if ch.get("error"):
                    # A validation attempt failed and is retried (DNS gone...).
                    self.rec.chall_error(ch["error"].get("type", "?").rsplit(":", 1)[-1])
            if doc["status"] in until:
                return doc
            if time.time() > deadline:
                raise GiveUp("%s stays %s" % (what, doc["status"]))
            ra = r.headers.get("Retry-After", "")
            time.sleep(min(float(ra), 0.5) if ra.isdigit() else 0.2)

    def issue(self):
        c = self.client
        self.n += 1
        names = ["f%d-%d-%d-%d.example.com" % (os.getpid(), self.idx, self.n, i)
                 for i in range(1 + (self.n % 2))]
        rec = {"names": names, "t0": time.time(), "outcome": "gave-up", "told_valid": False,
               "serial": None, "url": None}
        deadline = time.time() + FLOW_DEADLINE
        try:
            r = self.call("newOrder", lambda: c.new_order(names), deadline)
            rec["url"] = r.headers["Location"]
            order = r.json()
            for az_url in order["authorizations"]:
                az = self.call("authz", lambda: c.get(az_url), deadline).json()
                if az["status"] == "pending":
                    ch = [x for x in az["challenges"] if x["type"] == "http-01"][0]
                    self.responder.tokens[ch["token"]] = c.key_authorization(ch["token"])
                    self.call("challenge", lambda: c.post(ch["url"], {}), deadline)
            for az_url in order["authorizations"]:
                az = self.poll(az_url, ("valid", "invalid", "deactivated", "expired", "revoked"),
                               deadline, "authz-poll")
                if az["status"] != "valid":
                    rec["outcome"] = "invalid"
                    rec["error"] = [x.get("error") for x in az["challenges"] if x.get("error")]
                    return rec
            order = self.poll(rec["url"], ("ready", "invalid", "valid", "processing"), deadline,
                              "order-poll")
            if order["status"] == "invalid":
                rec["outcome"] = "invalid"
                return rec
            if order["status"] == "ready":
                csr = b64u(make_csr(Key("p256"), names))
                try:
                    self.call("finalize", lambda: c.post(order["finalize"], {"csr": csr}), deadline)
                except Problem as p:
                    # A finalize that went through but whose answer was lost
                    # (the worker killed after its commit, the web server
                    # restarted): the retry finds the order no longer ready.
                    if p.short() != "orderNotReady":
                        raise
                    rec["finalize_retried"] = True
            order = self.poll(rec["url"], ("valid", "invalid"), deadline, "order-poll")
            if order["status"] != "valid":
                rec["outcome"] = "invalid"
                return rec
            rec["told_valid"] = True
            pem = self.call("certificate", lambda: c.get(order["certificate"]), deadline).text
            cert = x509.load_pem_x509_certificate(pem.encode())
            rec["serial"] = "%x" % cert.serial_number
            rec["cert_url"] = order["certificate"]
            rec["outcome"] = "valid"
        except GiveUp as e:
            rec["gave_up_at"] = str(e)
        except Problem as p:
            rec["outcome"] = "problem"
            rec["problem"] = "%d %s %s" % (p.status, p.short(), p.doc.get("detail", ""))
            self.rec.error("problem " + p.short(), str(p))
        rec["t1"] = time.time()
        return rec

    def run(self):
        try:
            while self.client is None and not self.stop.is_set():
                try:
                    self.account()
                except (GiveUp, Problem) as e:
                    self.rec.error("account", str(e))
            while not self.stop.is_set():
                rec = self.issue()
                rec["client"] = self.idx
                if rec.get("t1") is None:
                    rec["t1"] = time.time()
                self.rec.order(rec)
                if self.args.think:
                    time.sleep(self.args.think / 1000.0)
        except Exception as e:  # report, never hang the test
            self.rec.error("thread crashed", repr(e))


def cmd_run(args):
    os.makedirs(args.out, exist_ok=True)
    rec = Recorder(args.out)
    responder = Http01Responder(args.h01)
    stop = threading.Event()
    flows = [Flow(args, rec, responder, i, stop) for i in range(args.clients)]
    threads = [threading.Thread(target=f.run, daemon=True) for f in flows]
    for t in threads:
        t.start()
    end = time.time() + args.duration
    stop_file = os.path.join(args.out, "stop")
    while time.time() < end and not os.path.exists(stop_file):
        time.sleep(0.2)
    stop.set()
    # The flows in hand finish (each is bounded by FLOW_DEADLINE); then go.
    limit = time.time() + 60
    for t in threads:
        t.join(max(0.1, limit - time.time()))
    left = sum(t.is_alive() for t in threads)
    with open(os.path.join(args.out, "finished"), "w") as f:
        f.write("%d %d\n" % (rec.done, left))
    responder.close()
    return 0


def admin_json(args, *cmd):
    out = subprocess.run([args.admin, "-c", args.conf, "--json"] + list(cmd),
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("acme-admin %s: %d %s" % (" ".join(cmd), out.returncode, out.stderr))
    return json.loads(out.stdout)


def cmd_check(args):
    bad = []
    # In this order, as the load may go on: what the clients were told, then
    # the certificates, then the orders. A flow recorded before the listings
    # began must show in them; a certificate listed must have its order
    # (orders are listed after certificates).
    flows = []
    path = os.path.join(args.out, "orders.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            flows = [json.loads(line) for line in f]
    certs = admin_json(args, "certs", "list")
    orders = admin_json(args, "orders", "list")
    serials = [int(c["serial"], 16) for c in certs]
    dup = {s for s in serials if serials.count(s) > 1} if len(set(serials)) != len(serials) else set()
    if dup:
        bad.append("serials issued twice: %s" % sorted("%x" % s for s in dup))
    by_id = {o["id"]: o for o in orders}
    owner = {}
    for o in orders:
        if o.get("certificate"):
            s = int(o["certificate"], 16)
            if s in owner:
                bad.append("serial %x belongs to orders %s and %s" % (s, owner[s], o["id"]))
            owner[s] = o["id"]
        if o["status"] == "valid" and not o.get("certificate"):
            bad.append("order %s is valid without a certificate" % o["id"])
    for s in serials:
        if s not in owner:
            bad.append("certificate %x belongs to no order (issued twice for one finalize?)" % s)
    now = time.time()
    stuck = []
    for o in orders:
        if o["status"] == "processing":
            created = time.mktime(time.strptime(o["created"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
            if args.final or now - created > 60:
                stuck.append(o["id"])
    if stuck:
        bad.append("orders stuck in processing: %s" % stuck[:10])
    seen = told = 0
    for r in flows:
        seen += 1
        if not r.get("told_valid"):
            continue
        told += 1
        oid = r["url"].rsplit("/", 1)[-1]
        o = by_id.get(oid)
        if o is None:
            bad.append("order %s, valid for its client, is not in the store" % oid)
        elif o["status"] != "valid" or not o.get("certificate"):
            bad.append("order %s was valid for its client, the store says %s" % (oid, o["status"]))
        elif r.get("serial") and int(o["certificate"], 16) != int(r["serial"], 16):
            bad.append("order %s: client downloaded %s, store has %s" %
                       (oid, r["serial"], o["certificate"]))
    print("# store: %d orders, %d certificates; clients: %d flows, %d told valid" %
          (len(orders), len(certs), seen, told))
    for b in bad[:20]:
        print("# " + b)
    return 1 if bad else 0


def cmd_degraded(args):
    errors = []
    oks = []
    with open(os.path.join(args.out, "events.log")) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            t = float(parts[0])
            if t < args.since or (args.until and t > args.until):
                continue
            if parts[1] == "ok":
                oks.append(t)
            elif parts[1] == "err":
                errors.append(t)
    last = max(errors) if errors else args.since
    done = []
    path = os.path.join(args.out, "orders.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("serial") and r.get("t1", 0) >= last:
                    done.append(r["t1"])
    rec = (min(done) - args.since) if done else -1
    print("errors=%d degraded_s=%.1f recovered_s=%.1f" %
          (len(errors), last - args.since, rec))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--ca", required=True)
    r.add_argument("--h01", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--clients", type=int, default=8)
    r.add_argument("--duration", type=float, default=600)
    r.add_argument("--think", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--out", required=True)
    c.add_argument("--admin", required=True)
    c.add_argument("--conf", required=True)
    c.add_argument("--final", action="store_true")
    d = sub.add_parser("degraded")
    d.add_argument("--out", required=True)
    d.add_argument("--since", type=float, required=True)
    d.add_argument("--until", type=float, default=0)
    args = ap.parse_args()
    return {"run": cmd_run, "check": cmd_check, "degraded": cmd_degraded}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
