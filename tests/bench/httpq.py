#!/usr/bin/env python3
"""Sends the benchmark's queries to searchd's /search one at a time over one
keep-alive connection (for tests/bench/callgrind_http.sh).

    httpq.py URL QUERIES [--warm N] [--answers FILE] [--before CMD] [--after CMD]
             [--params A=B&C=D]

QUERIES: type<TAB>lang<TAB>source<TAB>query lines ('#' lines skipped). The
first N queries are sent as a warm-up, then CMD --before runs (zeroing the
profiler's counters), then every query once, then CMD --after. Each
measured answer goes to FILE as one line (its "took_ms" removed: the only
member that changes from run to run). Prints "requests: N". Exits 1 on
any answer other than 200. --params: more parameters for every request
(e.g. facets=1)."""
import argparse
import http.client
import re
import subprocess
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("queries")
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--answers")
    ap.add_argument("--before")
    ap.add_argument("--after")
    ap.add_argument("--params", default="")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    qs = []
    with open(a.queries, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            qs.append(parts[3] if len(parts) >= 4 else parts[-1])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def ask(q):
        extra = "&" + a.params if a.params else ""
        conn.request("GET", "/search?q=" + urllib.parse.quote(q, safe="") + extra)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("httpq: %d for %r: %s" % (r.status, q, body[:200]))
        return body

    for q in qs[: a.warm]:
        ask(q)
    if a.before:
        subprocess.run(a.before, shell=True, check=True, stdout=subprocess.DEVNULL)
    out = []
    for q in qs:
        out.append(ask(q))
    if a.after:
        subprocess.run(a.after, shell=True, check=True, stdout=subprocess.DEVNULL)
    if a.answers:
        with open(a.answers, "wb") as f:
            for b in out:
                f.write(re.sub(rb',?"took_ms":[0-9.e+-]+', b"", b) + b"\n")
    print("requests: %d" % len(qs))


if __name__ == "__main__":
    main()
