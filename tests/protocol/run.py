#!/usr/bin/python3
"""Runs the protocol tests against a running server and prints TAP.

Each test is a function named test_<ID>_<what> in a module tests/protocol/t_*.py,
where ID is a checklist id from acme-conformance.md with '_' for '-' (ACC_05).
It receives the shared context (see Ctx). The environment gives the server:

  ACME_DIR_URL    directory URL of the default directory
  ACME_BASE       base URL (https://localhost:PORT)
  ACME_CA         the root CA certificate (PEM) for HTTPS
  ACME_STATE      the state directory
  ACME_HTTP01_PORT  port our http-01 responder listens on
  ACME_ADMIN      path of acme-admin
  ACME_MGMT       pebble-challtestsrv management URL (http://127.0.0.1:8055)

Usage: run.py [-k SUBSTRING]... [-l]   (-l lists the tests with their ids)
"""

import glob
import importlib.util
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acmeclient import Client, Http01Responder, Key  # noqa: E402


class Ctx:
    def __init__(self):
        self.dir_url = os.environ["ACME_DIR_URL"]
        self.base = os.environ["ACME_BASE"]
        self.ca = os.environ["ACME_CA"]
        self.state = os.environ.get("ACME_STATE", "")
        self.admin = os.environ.get("ACME_ADMIN", "")
        self.mgmt = os.environ.get("ACME_MGMT", "")
        self.responder = Http01Responder(int(os.environ.get("ACME_HTTP01_PORT", "5002")))
        self._account = None
        self.counter = 0

    def url(self, directory="default", path="directory"):
        return "%s/acme/%s/%s" % (self.base, directory, path)

    def client(self, key=None, directory="default", register=True):
        c = Client(self.url(directory), self.ca, key or Key("p256"))
        if register:
            c.new_account({"termsOfServiceAgreed": True, "contact": ["mailto:test@example.org"]})
        return c

    @property
    def account(self):
        """A shared registered account for tests that do not change it."""
        if self._account is None:
            self._account = self.client()
        return self._account

    def reconfigure(self, edit, check):
        """Edit acme.conf with edit(text) -> text, reload acme-fcgi (SIGHUP to
        the master), and wait until check() is true (the new workers answer)."""
        import signal
        path = os.path.join(self.state, "acme.conf")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(edit(text))
        with open(os.path.join(self.state, "run", "stack-acme-fcgi.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)
        deadline = time.time() + 30
        while not check():
            if time.time() > deadline:
                raise AssertionError("the reload did not take effect")
            time.sleep(0.2)

    def name(self, prefix="t"):
        """A fresh DNS name (the test DNS answers 127.0.0.1 for every name)."""
        self.counter += 1
        return "%s%d-%d.example.com" % (prefix, os.getpid(), self.counter)


def discover():
    tests = []
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "t_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in dir(mod):
            fn = getattr(mod, attr)
            if attr.startswith("test_") and callable(fn):
                tests.append((name, attr, fn, fn.__code__.co_firstlineno))
    tests.sort(key=lambda t: (t[0], t[3]))
    return tests


def main():
    args = sys.argv[1:]
    filters = [args[i + 1] for i, a in enumerate(args) if a == "-k"]
    tests = [t for t in discover() if not filters or any(f in t[1] for f in filters)]
    if "-l" in args:
        for mod, name, fn, _ in tests:
            print("%s %s %s" % (mod, name, (fn.__doc__ or "").strip().splitlines()[0:1]))
        return 0
    ctx = Ctx()
    print("1..%d" % len(tests))
    failed = 0
    for n, (mod, name, fn, _) in enumerate(tests, 1):
        doc = (fn.__doc__ or "").strip().splitlines()
        desc = "%s %s" % (name[5:], ("- " + doc[0]) if doc else "")
        start = time.time()
        try:
            fn(ctx)
            print("ok %d - %s (%.2fs)" % (n, desc, time.time() - start))
        except Exception:  # a failing test must not stop the others
            failed += 1
            print("not ok %d - %s" % (n, desc))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        sys.stdout.flush()
    ctx.responder.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
