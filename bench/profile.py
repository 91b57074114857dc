#!/usr/bin/env python3
"""bench/profile.py: where our server's CPU goes, per issuance.

Reads `perf script -F comm,pid,period,ip,sym,dso` output of a
`perf record --call-graph dwarf -p PIDS` taken while acme-bench ran flows
against our stack, puts every sample into one cost category by looking at
its whole call chain (the first rule that matches wins, so fdatasync inside
a commit counts as fsync, not as Berkeley DB), and prints each category's
share of the server's CPU and, given the issuance count and the measured
CPU per issuance, its milliseconds per issuance.

  perf record -F 1000 --call-graph dwarf,32768 -p PIDS -o srv.perf -- sleep 8
  perf script -i srv.perf -F comm,pid,period,ip,sym,dso > srv.txt
  bench/profile.py srv.txt --ms-per-issuance 2.6

See bench/README.md ("Profiling").
"""

import argparse
import collections
import sys

FSYNC = {"do_fsync", "__x64_sys_fdatasync", "__x64_sys_fsync", "fdatasync", "fsync"}
BDB_PREFIX = ("__db", "__bam", "__memp", "__txn", "__log", "__lock", "__env", "__dbc", "__ham",
              "__os_", "__mutex", "__rep", "__qam", "db_", "__ENV", "__dbreg", "__fop")
OSSL_OVERHEAD = ("OSSL_DECODER", "OSSL_ENCODER", "EVP_KEYMGMT_do_all_provided", "ossl_method_store",
                 "CRYPTO_THREAD_read_lock", "CRYPTO_THREAD_unlock", "CRYPTO_THREAD_write_lock",
                 "ossl_namemap", "EVP_KEYMGMT_fetch", "evp_generic_fetch", "ossl_decoder",
                 "ossl_encoder", "OSSL_PROVIDER", "ossl_provider")


def samples(f):
    """(comm, period, [(sym, dso), ...] leaf first)."""
    head, stack = None, []
    for line in f:
        line = line.rstrip("\n")
        if not line:
            if head:
                yield head[0], head[1], stack
            head, stack = None, []
            continue
        if not line.startswith((" ", "\t")):
            parts = line.split()
            try:
                period = int(parts[-1])
            except ValueError:
                period = 1
            head = (parts[0], period)
            continue
        rest = line.strip().split(" ", 1)
        if len(rest) < 2:
            continue
        symdso = rest[1]
        dso = ""
        if symdso.endswith(")") and " (" in symdso:
            sym, dso = symdso.rsplit(" (", 1)
            dso = dso[:-1]
        else:
            sym = symdso
        stack.append((sym.split("+")[0], dso.rsplit("/", 1)[-1]))
    if head:
        yield head[0], head[1], stack


def has(stack, *names):
    return any(s in names for s, _ in stack)


def has_prefix(stack, prefixes):
    return any(s.startswith(prefixes) for s, _ in stack)


def kernel_only(stack):
    return all(d.startswith("[kernel") or d == "" for _, d in stack)


def category(comm, stack):
    syms = [s for s, _ in stack]
    dsos = [d for _, d in stack]
    if any(s in FSYNC for s in syms):
        if has(stack, "__log_flush_int", "__log_flush", "__txn_commit", "__log_put"):
            return "fdatasync: Berkeley DB log flush at commit"
        if any(s.startswith("acme_audit") or s.startswith("audit_") for s in syms):
            return "fdatasync: audit log line"
        return "fdatasync: other"
    if comm.startswith("acme-fcgi"):
        if has(stack, "jws_verify"):
            return "fcgi: JWS signature verify (ECDSA P-256)"
        if has(stack, "ca_issue"):
            if has(stack, "X509_PUBKEY_set"):
                return "fcgi: issue: X509_PUBKEY_set (OpenSSL 3 encoder)"
            if has(stack, "X509_sign", "ASN1_item_sign_ctx", "ASN1_item_sign_ex"):
                return "fcgi: issue: sign the certificate (ECDSA)"
            return "fcgi: issue: build the certificate"
        if has(stack, "csr_parse", "acme_csr_parse"):
            return "fcgi: CSR parse and verify"
        if has_prefix(stack, BDB_PREFIX) or "libdb-5.3.so" in dsos:
            return "fcgi: Berkeley DB (no fsync)"
        if any(s.startswith("acme_audit") for s in syms):
            return "fcgi: audit log (format, write)"
        if any("nonce" in s for s in syms):
            return "fcgi: nonces"
        if any(s.startswith(("jwk_", "keypol")) for s in syms):
            return "fcgi: JWK parse, key policy"
        if any(s.startswith(("json_", "acme_json", "acme_view", "views_")) for s in syms) or \
                any(d.startswith("libjson-c") for d in dsos):
            return "fcgi: JSON parse and build"
        if any(s.startswith(("log_", "acme_log", "vsyslog", "__vsyslog")) for s in syms):
            return "fcgi: logging"
        if any(s.startswith(("FCGX_", "fcgi_request_read", "fcgi_io")) for s in syms) or \
                any(d.startswith("libfcgi") for d in dsos):
            return "fcgi: FastCGI I/O"
        if kernel_only(stack):
            return "fcgi: kernel (scheduling, interrupts)"
        if any(s.startswith(("acme_", "h_", "rq_")) for s in syms):
            return "fcgi: protocol code, other"
        return "fcgi: other"
    if comm.startswith("acme-valid"):
        if has_prefix(stack, BDB_PREFIX) or "libdb-5.3.so" in dsos:
            return "validator: Berkeley DB (no fsync)"
        if any(d.startswith("libunbound") for d in dsos):
            return "validator: DNS (libunbound)"
        if any(d.startswith("libcurl") for d in dsos):
            return "validator: HTTP (libcurl)"
        if any("caa" in s for s in syms):
            return "validator: CAA"
        if kernel_only(stack):
            return "validator: kernel (network, scheduling)"
        return "validator: other"
    if comm.startswith("nginx"):
        if any(d.startswith(("libssl", "libcrypto")) for d in dsos):
            return "nginx: TLS"
        if kernel_only(stack):
            return "nginx: kernel (network, scheduling)"
        return "nginx: HTTP and FastCGI"
    return comm + ": other"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("script", help="perf script output")
    ap.add_argument("--ms-per-issuance", type=float, default=None,
                    help="the server CPU per issuance measured by acme-bench (without perf)")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    cats = collections.Counter()
    comms = collections.Counter()
    ossl = 0
    total = 0
    with open(a.script) as f:
        for comm, period, stack in samples(f):
            c = category(comm, stack)
            cats[c] += period
            comms[comm] += period
            total += period
            if any(s.startswith(OSSL_OVERHEAD) for s, _ in stack):
                ossl += period
    if total == 0:
        sys.exit("no samples")
    print("share of the server's CPU by process:")
    for comm, n in comms.most_common():
        print("  %-20s %5.1f%%" % (comm, 100.0 * n / total))
    print("by cost (first matching rule on the call chain):")
    for c, n in cats.most_common(a.top):
        ms = "" if a.ms_per_issuance is None else "  %.3f ms/issuance" % (a.ms_per_issuance * n / total)
        print("  %-52s %5.1f%%%s" % (c, 100.0 * n / total, ms))
    ms = "" if a.ms_per_issuance is None else "  %.3f ms/issuance" % (a.ms_per_issuance * ossl / total)
    print("across all: OpenSSL 3 fetch/decoder/encoder/lock overhead %5.1f%%%s" % (100.0 * ossl / total, ms))


if __name__ == "__main__":
    main()
