#!/usr/bin/env python3
"""bench/report.py: merge the per-run JSON of bench/run.sh into one report
(bench/results/<date>-<commit>.json) and print the side-by-side table.

The report is reported, never asserted: the targets column says whether a
target was met on this run, and the exit status does not depend on it.
Usage: report.py --work DIR --out FILE --commit ID [--settings TEXT]
       report.py --print FILE      (the table of an earlier report)
"""

import argparse
import glob
import json
import os
import platform
import sys
import time


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def collect(work):
    """{"ours": {...}, "pebble": {...}} with idle snapshots and runs keyed
    by mode-policy-concurrency (flows-honour-8, flows-backoff-8, nonce-32,
    directory-32, scale-100000)."""
    out = {}
    for side in ("ours", "pebble"):
        s = {"runs": {}, "stalled": {}}
        idle = load(os.path.join(work, side + "-idle.json"))
        if idle:
            s["idle"] = idle.get("idle")
        for path in sorted(glob.glob(os.path.join(work, side + "-*.json"))):
            name = os.path.basename(path)[len(side) + 1:-5]
            if name == "idle":
                continue
            d = load(path)
            if not d:
                s["runs"]["failed:" + name] = None
                continue
            for r in d.get("runs", []):
                r["poll"] = d.get("poll")
                r["accounts"] = d.get("accounts")
                if name.startswith("scale-"):
                    key = name
                    size = int(name.split("-", 1)[1])
                    r["store_certificates"] = size
                    secs = load_text(os.path.join(work, "seed-%d.seconds" % size))
                    dbkb = load_text(os.path.join(work, "seed-%d.dbkb" % size))
                    r["seed_seconds"] = int(secs) if secs else None
                    r["store_db_kb"] = int(dbkb) if dbkb else None
                elif name.startswith("stalled-"):
                    s["stalled"].setdefault("flows-honour-%d" % r["concurrency"], []).append(r)
                    continue
                elif r["mode"] == "flows":
                    key = "flows-%s-%d" % (d.get("poll"), r["concurrency"])
                else:
                    key = "%s-%d" % (r["mode"], r["concurrency"])
                s["runs"][key] = r
        # Of the attempts of a run that stalled, the one that completed most
        # flows is the run; the others stay under "stalled".
        for key, others in s["stalled"].items():
            cur = s["runs"].get(key)
            best = max([x for x in others + [cur] if x], key=lambda x: x.get("ok", 0))
            if best is not cur:
                others.remove(best)
                if cur:
                    others.append(cur)
                s["runs"][key] = best
        out[side] = s
    return out


def load_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def machine():
    m = {"cpus": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            m["mem_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    return m


# --- the table ---------------------------------------------------------------

def g(run, *path, default=None):
    v = run
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return default
        v = v[p]
    return v


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        s = "%.0f" % v
    elif abs(v) >= 100:
        s = "%.0f" % v
    elif abs(v) >= 10:
        s = "%.1f" % v
    else:
        s = "%.2f" % v
    return s + unit


def ratio(ours, pebble, higher_better):
    if ours is None or pebble is None or ours <= 0 or pebble <= 0:
        return "-"
    r = ours / pebble if higher_better else pebble / ours
    word = ("faster" if higher_better else "lower") if r >= 1 else ("slower" if higher_better else "higher")
    return "%.1fx %s" % (r if r >= 1 else 1 / r, word)


class Table:
    def __init__(self):
        self.rows = []

    def head(self, text):
        self.rows.append(("head", text))

    def row(self, metric, ours, pebble, rat="", target=""):
        self.rows.append(("row", (metric, ours, pebble, rat, target)))

    def render(self):
        w = [48, 14, 14, 16]
        out = []
        line = "%-*s %*s %*s  %-*s  %s" % (w[0], "metric", w[1], "ours", w[2], "Pebble", w[3],
                                           "ours vs Pebble", "target (reported, not asserted)")
        out.append(line)
        out.append("-" * len(line))
        for kind, v in self.rows:
            if kind == "head":
                out.append(v)
            else:
                m, o, p, r, t = v
                out.append("%-*s %*s %*s  %-*s  %s" % (w[0], "  " + m, w[1], o, w[2], p, w[3], r, t))
        return "\n".join(out)


def met(ok):
    return "met" if ok else "missed"


def flows_rows(t, ours, peb, key_o, key_p, c):
    o = ours.get(key_o)
    p = peb.get(key_p)
    t.row("c=%d issuances/s" % c, fmt(g(o, "rate")), fmt(g(p, "rate")),
          ratio(g(o, "rate"), g(p, "rate"), True))
    lat = lambda r: "/".join(fmt(g(r, "flow", q)) for q in ("p50_ms", "p90_ms", "p99_ms", "max_ms")) if r else "-"
    t.row("c=%d flow ms p50/p90/p99/max" % c, lat(o), lat(p),
          ratio(g(o, "flow", "p50_ms"), g(p, "flow", "p50_ms"), False) + " (p50)")
    t.row("c=%d server CPU ms per issuance" % c, fmt(g(o, "server", "cpu_ms_per_op")),
          fmt(g(p, "server", "cpu_ms_per_op")),
          ratio(g(o, "server", "cpu_ms_per_op"), g(p, "server", "cpu_ms_per_op"), False))
    for grp in ("nginx", "fcgi", "validator"):
        t.row("c=%d   of which %s" % (c, grp), fmt(g(o, "server", "groups", grp, "cpu_ms_per_op")), "", "")
    t.row("c=%d DNS server (challtestsrv) CPU ms/issuance" % c, fmt(g(o, "aux", "dns", "cpu_ms_per_op")),
          fmt(g(p, "aux", "dns", "cpu_ms_per_op")))
    t.row("c=%d server CPU use (cores)" % c, fmt(g(o, "server", "cpu_util")), fmt(g(p, "server", "cpu_util")))
    t.row("c=%d client CPU ms per issuance (cores)" % c,
          "%s (%s)" % (fmt(g(o, "client", "cpu_ms_per_op")), fmt(g(o, "client", "cpu_util"))) if o else "-",
          "%s (%s)" % (fmt(g(p, "client", "cpu_ms_per_op")), fmt(g(p, "client", "cpu_util"))) if p else "-")
    t.row("c=%d requests per issuance (polls)" % c,
          "%s (%s)" % (fmt(g(o, "requests_per_op")), fmt(g(o, "polls_authz", default=0) + g(o, "polls_order", default=0))) if o else "-",
          "%s (%s)" % (fmt(g(p, "requests_per_op")), fmt(g(p, "polls_authz", default=0) + g(p, "polls_order", default=0))) if p else "-")
    okf = lambda r: "-" if not r else "%s/%s%s" % (g(r, "ok"), g(r, "failed"),
                                                  " STALLED" if r.get("stalled") else "")
    t.row("c=%d flows ok / failed" % c, okf(o), okf(p), "",
          "STALLED: the server stopped answering; rates over the time before" if
          (o and o.get("stalled")) or (p and p.get("stalled")) else "")
    t.row("c=%d other load on the machine (cores)" % c, fmt(g(o, "machine", "other_util")),
          fmt(g(p, "machine", "other_util")))


def mb(kb):
    return None if kb is None else kb / 1024.0


def table(rep):
    ours = rep["ours"]["runs"]
    peb = rep["pebble"]["runs"]
    t = Table()
    concs = sorted({r["concurrency"] for k, r in list(ours.items()) + list(peb.items())
                    if r and k.startswith("flows-")})

    t.head("Full issuance (newOrder, authz, http-01, polls, finalize with a fresh P-256 CSR, "
           "download); Retry-After honoured")
    for c in concs:
        flows_rows(t, ours, peb, "flows-honour-%d" % c, "flows-honour-%d" % c, c)
    if any(k.startswith("flows-backoff-") for k in ours):
        t.head("Full issuance, client backoff (2 ms doubling; ours's Retry-After ignored; "
               "Pebble sends none: its column repeats the run above)")
        for c in concs:
            flows_rows(t, ours, peb, "flows-backoff-%d" % c, "flows-honour-%d" % c, c)

    for mode, title in (("nonce", "Raw newNonce (HEAD)"), ("directory", "Raw directory (GET)")):
        keys = sorted({int(k.split("-")[1]) for k in list(ours) + list(peb) if k.startswith(mode + "-")})
        if not keys:
            continue
        t.head(title)
        for c in keys:
            o = ours.get("%s-%d" % (mode, c))
            p = peb.get("%s-%d" % (mode, c))
            t.row("c=%d requests/s" % c, fmt(g(o, "rate")), fmt(g(p, "rate")),
                  ratio(g(o, "rate"), g(p, "rate"), True))
            us = lambda r: None if r is None else g(r, "server", "cpu_ms_per_op") * 1000
            t.row("c=%d server CPU us per request" % c, fmt(us(o)), fmt(us(p)), ratio(us(o), us(p), False))
            t.row("c=%d latency ms p50/p99" % c,
                  "%s/%s" % (fmt(g(o, "requests", "newNonce" if mode == "nonce" else "directory", "p50_ms")),
                             fmt(g(o, "requests", "newNonce" if mode == "nonce" else "directory", "p99_ms"))) if o else "-",
                  "%s/%s" % (fmt(g(p, "requests", "newNonce" if mode == "nonce" else "directory", "p50_ms")),
                             fmt(g(p, "requests", "newNonce" if mode == "nonce" else "directory", "p99_ms"))) if p else "-")
            t.row("c=%d client CPU us per request" % c,
                  fmt(None if o is None else g(o, "client", "cpu_ms_per_op") * 1000),
                  fmt(None if p is None else g(p, "client", "cpu_ms_per_op") * 1000))

    t.head("Memory, whole server (ours: nginx master+worker, acme-fcgi master+2 workers, "
           "validator; Pebble: one process), MB")
    oi, pi = rep["ours"].get("idle"), rep["pebble"].get("idle")
    t.row("idle RSS sum / PSS sum", "%s/%s" % (fmt(mb(g(oi, "rss_kb"))), fmt(mb(g(oi, "pss_kb")))),
          "%s/%s" % (fmt(mb(g(pi, "rss_kb"))), fmt(mb(g(pi, "pss_kb")))),
          ratio(g(oi, "pss_kb"), g(pi, "pss_kb"), False) + " (PSS)",
          "< 32 MB idle: RSS %s, PSS %s" % (met((g(oi, "rss_kb") or 1e12) < 32 * 1024),
                                           met((g(oi, "pss_kb") or 1e12) < 32 * 1024)))
    for key in ("flows-honour-%d" % max(concs or [0]), "flows-backoff-%d" % max(concs or [0])):
        o, p = ours.get(key), peb.get(key.replace("backoff", "honour"))
        if o is None and p is None:
            continue
        t.row("%s: peak RSS sum / PSS at end" % key,
              "%s/%s" % (fmt(mb(g(o, "server", "rss_kb_peak"))), fmt(mb(g(o, "server", "pss_kb_end")))),
              "%s/%s" % (fmt(mb(g(p, "server", "rss_kb_peak"))), fmt(mb(g(p, "server", "pss_kb_end")))),
              ratio(g(o, "server", "pss_kb_end"), g(p, "server", "pss_kb_end"), False) + " (PSS)",
              "< 64 MB at c=32: RSS %s, PSS %s" % (
                  met((g(o, "server", "rss_kb_peak") or 1e12) < 64 * 1024),
                  met((g(o, "server", "pss_kb_end") or 1e12) < 64 * 1024)))
        t.row("%s: sum of VmHWM (each process's peak)" % key, fmt(mb(g(o, "server", "hwm_kb_end"))),
              fmt(mb(g(p, "server", "hwm_kb_end"))))

    scale = sorted((r for k, r in ours.items() if k.startswith("scale-") and r),
                   key=lambda r: r["store_certificates"])
    if scale:
        t.head("Store size (acme-admin bench-seed, then issuance at c=%d with client backoff)"
               % scale[0]["concurrency"])
        for r in scale:
            t.row("%d certs: server CPU ms/issuance, issuances/s" % r["store_certificates"],
                  "%s, %s/s" % (fmt(g(r, "server", "cpu_ms_per_op")), fmt(g(r, "rate"))), "", "",
                  "db %s MB, seeded in %s s" % (fmt(mb(r.get("store_db_kb"))), r.get("seed_seconds")))
        base = g(scale[0], "server", "cpu_ms_per_op")
        last = g(scale[-1], "server", "cpu_ms_per_op")
        if base and last:
            t.row("cost growth %d -> %d certs" % (scale[0]["store_certificates"], scale[-1]["store_certificates"]),
                  "%.2fx" % (last / base), "", "", "flat: " + met(last / base < 1.25))

    # Targets, on the runs they are about.
    t.head("Targets")
    o8 = ours.get("flows-backoff-8") or ours.get("flows-honour-8")
    p8 = peb.get("flows-honour-8")
    if o8 and p8:
        oc, pc = g(o8, "server", "cpu_ms_per_op"), g(p8, "server", "cpu_ms_per_op")
        t.row("server CPU/issuance c=8 (%s)" % o8["poll"], fmt(oc), fmt(pc), ratio(oc, pc, False),
              ">= 5x lower than Pebble's: %s; <= 1.5 ms: %s" % (met(oc and pc and pc / oc >= 5),
                                                                 met(oc and oc <= 1.5)))
    for c in (8, 32):
        for pol in ("honour", "backoff"):
            o, p = ours.get("flows-%s-%d" % (pol, c)), peb.get("flows-honour-%d" % c)
            if o and p:
                t.row("issuances/s c=%d (%s)" % (c, pol), fmt(g(o, "rate")), fmt(g(p, "rate")),
                      ratio(g(o, "rate"), g(p, "rate"), True),
                      ">= 5x Pebble: " + met(g(o, "rate") >= 5 * g(p, "rate")))
    for pol in ("honour", "backoff"):
        o, p = ours.get("flows-%s-1" % pol), peb.get("flows-honour-1")
        if o:
            t.row("median flow latency c=1 (%s), ms" % pol, fmt(g(o, "flow", "p50_ms")),
                  fmt(g(p, "flow", "p50_ms")), "", "< 10 ms: " + met(g(o, "flow", "p50_ms") < 10))
    o, p = ours.get("nonce-32"), peb.get("nonce-32")
    if o and p:
        ok = g(o, "rate") >= g(p, "rate") and g(o, "server", "cpu_ms_per_op") <= g(p, "server", "cpu_ms_per_op") / 2
        t.row("newNonce c=32: rate, us CPU/request",
              "%s, %s" % (fmt(g(o, "rate")), fmt(g(o, "server", "cpu_ms_per_op") * 1000)),
              "%s, %s" % (fmt(g(p, "rate")), fmt(g(p, "server", "cpu_ms_per_op") * 1000)), "",
              ">= Pebble's rate at <= half its CPU: " + met(ok))
    return t.render()


def errors_text(rep):
    lines = []
    for side in ("ours", "pebble"):
        for k, r in sorted(rep[side]["runs"].items()):
            if r is None:
                lines.append("%s %s: acme-bench failed (no report)" % (side, k))
                continue
            for e, n in sorted(r.get("errors", {}).items()):
                lines.append("%s %s: %s x%d" % (side, k, e, n))
        for k, rs in sorted(rep[side].get("stalled", {}).items()):
            for r in rs:
                lines.append("%s %s: another attempt stalled after %s flows in %.2f s (%s)" % (
                    side, k, r.get("ok"), r.get("wall_s", 0),
                    ", ".join("%s x%d" % kv for kv in sorted(r.get("errors", {}).items()))))
    return "\n".join(lines) if lines else "none"


def per_request(rep):
    out = []
    for side in ("ours", "pebble"):
        for k in sorted(rep[side]["runs"]):
            r = rep[side]["runs"][k]
            if not r or not k.startswith("flows-") or r["concurrency"] != 8:
                continue
            ops = max(r.get("ok", 0), 1)
            parts = []
            for name, v in r["requests"].items():
                parts.append("%s %.2f/%.2f (x%.1f)" % (name, v["p50_ms"], v["p99_ms"], v["n"] / ops))
            out.append("%s %s: %s" % (side, k, "; ".join(parts)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--out")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--settings", default="")
    ap.add_argument("--print", dest="show")
    a = ap.parse_args()
    if a.show:
        rep = load(a.show)
        if not rep:
            sys.exit("cannot read " + a.show)
    else:
        rep = collect(a.work)
        rep["commit"] = a.commit
        rep["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        rep["machine"] = machine()
        rep["settings"] = dict(kv.split("=", 1) for kv in a.settings.split(" ") if "=" in kv) if a.settings else {}
        with open(a.out, "w") as f:
            json.dump(rep, f, indent=1, sort_keys=True)
    print()
    print("acme-bench %s, %s, %s CPUs (%s)" % (rep.get("commit"), rep.get("date"),
          g(rep, "machine", "cpus"), g(rep, "machine", "cpu", default="?")))
    print(table(rep))
    print()
    print("Per request type at c=8, ms p50/p99 (requests per issuance):")
    print(per_request(rep))
    print()
    print("Errors by problem type:")
    print(errors_text(rep))


if __name__ == "__main__":
    main()
