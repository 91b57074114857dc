#!/usr/bin/env bash
# The dependency direction: fcgi -> core -> store, validators -> core -> store,
# admin -> core -> store. Only store/ includes <db.h>, only fcgi/ the FastCGI
# headers, only validators/ (and bench/) the network libraries.
set -u
cd "$(dirname "$0")/.."
bad=0
fail() { echo "layering: $*"; bad=1; }
inc() { grep -lE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" $1 2>/dev/null; }

for f in $(inc "core/*.[ch] fcgi/*.[ch] validators/*.[ch] admin/*.[ch]" 'db\.h'); do
  fail "$f includes <db.h> (only store/ may)"; done
for f in $(inc "core/*.[ch] store/*.[ch] validators/*.[ch] admin/*.[ch]" 'fcgiapp\.h|fcgi_stdio\.h|fcgios\.h'); do
  fail "$f includes FastCGI headers (only fcgi/ may)"; done
for f in $(inc "core/*.[ch] store/*.[ch] fcgi/*.[ch] admin/*.[ch]" 'curl/|unbound\.h|openssl/ssl\.h'); do
  fail "$f includes a network library (only validators/ may)"; done
for f in $(inc "store/*.[ch]" 'core/|fcgi/|validators/|admin/'); do
  fail "$f includes a header from above the store"; done
for f in $(inc "core/*.[ch]" 'fcgi/|validators/|admin/'); do
  fail "$f includes a header from above the core"; done
for f in $(inc "fcgi/*.[ch]" 'store/'); do
  fail "$f includes store/ directly (go through core/)"; done
for f in $(grep -lE '\b(socket|connect|getaddrinfo)\(' core/*.c 2>/dev/null); do
  fail "$f makes network calls (core has no sockets)"; done
exit $bad
