#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, when any is missing.
# Called by `make run` and `make check`; a no-op when everything is present.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libfcgi-dev libssl-dev libjson-c-dev libdb-dev libcurl4-openssl-dev libunbound-dev
  libcmocka-dev
  spawn-fcgi nginx lighttpd lighttpd-mod-openssl
  certbot lego pebble knot ldnsutils
  openssl curl ca-certificates publicsuffix
  softhsm2 libengine-pkcs11-openssl opensc
  clang libclang-rt-14-dev valgrind
  python3 python3-cryptography python3-requests
)

# Run as root, the server drops root (docs/security.md): acme-fcgi's workers
# run as "acme", acme-validator as "acme-validator", both in group "acme",
# which shares the store. System users without a shell or a home.
service_users() {
  [ "$(id -u)" -eq 0 ] || return 0
  getent group acme >/dev/null || groupadd --system acme
  getent passwd acme >/dev/null ||
    useradd --system --gid acme --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin acme
  getent passwd acme-validator >/dev/null ||
    useradd --system --gid acme --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      acme-validator
}
service_users

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# A stale third-party source must not stop the install: Debian's own lists are what we need.
$SUDO apt-get update -qq || echo "deps: apt-get update reported errors; trying the install anyway" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
exit 0
