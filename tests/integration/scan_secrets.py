#!/usr/bin/python3
"""Secrets never reach a log (docs/security.md).

  scan_secrets.py STATE [SECRET...]

Reads every file under STATE/log/ (the server's log, the audit log, the
stdout and stderr of each process, the web server's logs) and the audit
log wherever acme.conf puts it, and looks for:
  * PEM private key markers ("PRIVATE KEY-----");
  * the body of every private key file in the state (STATE/**/*.key and
    acme.conf's ca_key when it is a file): any of its base64 lines;
  * the content of every secret file acme.conf names (pkcs11_pin_file,
    upstream_eab_hmac_file, upstream_passphrase_file, upstream_tsig_key_file)
    and every pin-value of a pkcs11: URI in it;
  * the SECRETs given (EAB HMAC keys a test created, passphrases...), as
    they are, and in the other base64 alphabet.
Secrets shorter than 6 characters are only looked for next to "pin"
(pin-value=1234 would otherwise match timestamps). Prints one line per
finding ("FILE: what") and exits 1 if there is any; 0 otherwise, with a
line saying how many files and secrets were checked.
"""

import base64
import glob
import os
import re
import sys

SECRET_FILE_KEYS = ("pkcs11_pin_file", "upstream_eab_hmac_file", "upstream_passphrase_file",
                    "upstream_tsig_key_file")


def conf_values(path):
    vals = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or line.startswith("["):
                    continue
                k, sep, v = line.partition("=")
                if sep:
                    vals.append((k.strip(), v.strip()))
    except OSError:
        pass
    return vals


def rel(state, p):
    return p if os.path.isabs(p) else os.path.join(state, p)


def key_lines(path):
    """The base64 lines of a PEM private key (at least 40 characters)."""
    out = []
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return out
    if "PRIVATE KEY" not in text:
        return out
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= 40 and not line.startswith("-----") and ":" not in line:
            out.append(line)
    return out


def variants(s):
    """s, and s in the other base64 alphabet (with and without padding)."""
    v = {s}
    if re.fullmatch(r"[A-Za-z0-9_\-+/=]+", s):
        std = s.replace("-", "+").replace("_", "/")
        url = s.replace("+", "-").replace("/", "_")
        v |= {std, url, std.rstrip("="), url.rstrip("=")}
        try:   # the raw bytes in hex, as a careless log line might print them
            raw = base64.urlsafe_b64decode(url.rstrip("=") + "=" * (-len(url.rstrip("=")) % 4))
            if len(raw) >= 8:
                v.add(raw.hex())
        except ValueError:
            pass
    return {x for x in v if x}


def main():
    if len(sys.argv) < 2:
        print("usage: scan_secrets.py STATE [SECRET...]", file=sys.stderr)
        return 2
    state = os.path.abspath(sys.argv[1])
    conf = os.path.join(state, "acme.conf")
    secrets = {}      # text -> what it is
    short = {}        # short secrets (PINs): only next to "pin"

    def add(s, what):
        s = s.strip()
        if not s:
            return
        if len(s) < 6:
            short[s] = what
            return
        for v in variants(s):
            secrets.setdefault(v, what)

    logs = set(glob.glob(os.path.join(state, "log", "**", "*"), recursive=True))
    for k, v in conf_values(conf):
        if k in SECRET_FILE_KEYS:
            try:
                with open(rel(state, v), errors="replace") as f:
                    add(f.readline(), "%s (%s)" % (k, v))
            except OSError:
                pass
        if k == "ca_key" and not v.startswith("pkcs11:"):
            for line in key_lines(rel(state, v[5:] if v.startswith("file:") else v)):
                secrets.setdefault(line, "ca_key %s" % v)
        for m in re.finditer(r"pin-value=([^;?&\s]+)", v):
            add(m.group(1), "pin-value of %s" % k)
        if k == "audit_log" and v.startswith("file:"):
            logs.add(rel(state, v[5:]))
    for p in glob.glob(os.path.join(state, "**", "*.key"), recursive=True):
        for line in key_lines(p):
            secrets.setdefault(line, "private key %s" % os.path.relpath(p, state))
    for s in sys.argv[2:]:
        add(s, "a secret the test gave")

    bad = []
    nfiles = 0
    for p in sorted(logs):
        if not os.path.isfile(p):
            continue
        nfiles += 1
        with open(p, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        name = os.path.relpath(p, state)
        if "PRIVATE KEY-----" in text:
            bad.append("%s: a PEM private key marker" % name)
        for s, what in secrets.items():
            if s in text:
                bad.append("%s: %s" % (name, what))
        for s, what in short.items():
            if re.search(r"pin[^\n]{0,24}?" + re.escape(s) + r"(?![0-9A-Za-z])", text, re.I):
                bad.append("%s: %s" % (name, what))
    for b in sorted(set(bad)):
        print(b)
    if bad:
        return 1
    print("%d log files, %d secrets (%d short): none found" % (nfiles, len(secrets), len(short)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
