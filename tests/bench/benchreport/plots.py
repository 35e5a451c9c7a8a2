"""The SVG plots (gnuplot) of the figures above.
"""
import os
import subprocess
import sys

from benchreport.common import PLOTS, R, REAL_DOCS
from benchreport.indexing import TOP
from benchreport.queries import ENGINES, lat, read_raw, scale_pts


os.makedirs(PLOTS, exist_ok=True)


def gp(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed: {e}", file=sys.stderr)


# latency vs size
dat = os.path.join(R, "lat_vs_size.dat")
with open(dat, "w") as fh:
    for n, l in scale_pts:
        fh.write(f"{n} {l['p50'][1]} {l['p90'][1]} {l['p99'][1]} {l['p50'][0]} {l['p50'][2]} {l['p99'][0]} {l['p99'][2]}\n")
base_pts = []
if TOP:
    for e in ("xapian-qp", "xapian-bag", "pg-fts", "pg-fts-or"):
        d, l = lat(f"scale_lat_{TOP}", e)
        if l:
            base_pts.append((e, l["p50"][1]))
with open(os.path.join(R, "base_top.dat"), "w") as fh:
    for e, v in base_pts:
        fh.write(f"{TOP} {v} {e}\n")
base_plot = "".join(
    f", \\\n     '{R}/base_top.dat' every ::{i}::{i} using 1:2 with points pt {5 + i} ps 1.5 "
    f"title '{e} p50 at {TOP}'" for i, (e, v) in enumerate(base_pts))
if scale_pts:
    gp(f"""set terminal svg size 760,460 dynamic noenhanced font 'sans,11'
set output '{PLOTS}/latency_vs_size.svg'
set offsets graph 0.03, graph 0.03, 0, 0
set key outside right top
set title 'kbdesk query latency (in-process) vs corpus size'
set xlabel 'documents'
set ylabel 'ms per query'
set logscale y
set grid
set format x '%.0s%c'
plot '{dat}' using 1:2:5:6 with yerrorlines lw 2 title 'kbdesk p50 (min-max)', \\
     '{dat}' using 1:3 with linespoints lw 2 title 'kbdesk p90', \\
     '{dat}' using 1:4:7:8 with yerrorlines lw 2 title 'kbdesk p99 (min-max)'{base_plot}
""")
# latency distribution (CDF) on the real corpus
series = []
for e, name in ENGINES:
    p = os.path.join(R, f"raw_real_{e}.txt")
    if os.path.exists(p) and os.path.getsize(p):
        v = sorted(t for t, _ in read_raw(p))
        cdf = os.path.join(R, f"cdf_real_{e}.dat")
        with open(cdf, "w") as fh:
            step = max(1, len(v) // 400)
            for i in range(0, len(v), step):
                fh.write(f"{max(v[i], 0.001)} {(i + 1) / len(v)}\n")
            fh.write(f"{max(v[-1], 0.001)} 1\n")
        series.append((cdf, name))
if series:
    plots = ", \\\n     ".join(f"'{c}' using 1:2 with lines lw 2 title '{n.replace(chr(39), '')}'" for c, n in series)
    gp(f"""set terminal svg size 760,440 dynamic noenhanced font 'sans,11'
set output '{PLOTS}/latency_cdf.svg'
set title 'Query latency distribution, real corpus ({REAL_DOCS} documents), in-process'
set xlabel 'ms per query (log)'
set ylabel 'fraction of queries'
set logscale x
set key left top
set grid
plot {plots}
""")
