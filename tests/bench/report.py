#!/usr/bin/env python3
"""Writes tests/bench/RESULTS.md and the SVG plots from build/bench/results.

    report.py RESULTS_DIR OUT.md PLOTS_DIR

Every figure comes from the files of one `make bench` run (tests/bench/run.sh).
Each section is a module of tests/bench/benchreport/ that writes its part of
the report when imported; they are imported below in the report's order,
and a later one imports what it needs from an earlier one.
"""
import os
import sys

from benchreport import head, corpora, indexing, queries, targets, profile, plots  # noqa: F401 (in this order)
from benchreport.common import OUT, md

# sections make bench does not measure are kept as they are: the one
# `make bench-big` writes (tests/bench/big.sh) and the figures of separate
# scripts (scale_out.sh, profiles), each between its markers
big = ""
if os.path.exists(OUT):
    old = open(OUT, encoding="utf-8").read()
    for name in ("bench-big", "kept"):
        a, b = old.find(f"<!-- {name}:start -->"), old.find(f"<!-- {name}:end -->")
        if a >= 0 and b > a:
            big += "\n" + old[a:b] + f"<!-- {name}:end -->\n"
with open(OUT, "w", encoding="utf-8") as fh:
    fh.write("\n".join(md) + "\n" + big)
print(f"report: wrote {OUT}", file=sys.stderr)
