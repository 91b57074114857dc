#!/usr/bin/python3
"""Roll over the account key of an existing ACME account (RFC 8555 7.3.5)
whose key is in a PEM file, and put the new key in that file.

lego 4.9 has no key rollover command, so the lifecycle test rolls lego's
account key with this tool and then lets lego carry on with the new key.

Usage: keyroll.py DIRECTORY_URL CAFILE ACCOUNT_URL KEY_PEM_FILE
Exit 0 when the server accepted the new key and refuses the old one.
"""

import os
import sys

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acmeclient import Client, Key  # noqa: E402
from t_account import inner_jws  # noqa: E402


def main():
    dir_url, cafile, account, path = sys.argv[1:5]
    with open(path, "rb") as f:
        old = Key(priv=serialization.load_pem_private_key(f.read(), None),
                  kind="p256")
    c = Client(dir_url, cafile, old)
    c.kid = account
    new = Key("p256")
    r = c.post(c.directory["keyChange"], inner_jws(c, new))
    print("keyChange: %d" % r.status_code)
    if r.status_code != 200:
        return 1
    refused = c.post(account, "", check=False)
    print("old key afterwards: %d %s" % (refused.status_code, refused.json().get("type")))
    if refused.status_code < 400:
        return 1
    pem = new.priv.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(pem)
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
