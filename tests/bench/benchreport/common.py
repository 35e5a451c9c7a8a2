"""The reading of one run's results (the folder, JSON and text files in it), the
formatting of figures, the run's machine and corpus facts, and the report's
lines (md, appended to with w) that every section writes to.
"""
import glob
import json
import os
import statistics
import sys

R, OUT, PLOTS = sys.argv[1], sys.argv[2], sys.argv[3]
MB = 1e6
BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/bench


def rj(name, default=None):
    p = os.path.join(R, name)
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return default
    with open(p) as fh:
        txt = fh.read().strip()
    try:
        return json.loads(txt)
    except ValueError:
        lines = txt.splitlines()     # several JSON lines: the last one
        return json.loads(lines[-1]) if lines else default


def rt(name, default=""):
    p = os.path.join(R, name)
    return open(p).read() if os.path.exists(p) else default


def mmm(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return (min(vals), statistics.median(vals), max(vals))


def f(x, nd=1):
    if x is None:
        return "—"
    if isinstance(x, (int,)) or (abs(x) >= 100 and nd <= 1):
        return f"{x:,.0f}"
    return f"{x:,.{nd}f}"


def fm(t, nd=1):
    """min/median/max as 'median (min–max)'."""
    if t is None:
        return "—"
    lo, med, hi = t
    if len(set(round(v, nd + 2) for v in t)) == 1:
        return f"**{f(med, nd)}**"
    return f"**{f(med, nd)}** ({f(lo, nd)}–{f(hi, nd)})"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fr(x):
    if x is None:
        return "—"
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def fk(x):
    """A baseline's latency ÷ kbdesk's, said as kbdesk faster or slower."""
    if x is None:
        return "—"
    if x >= 1:
        return f"{x:.1f}× faster" if x < 10 else f"{x:.0f}× faster"
    y = 1 / x
    return f"{y:.1f}× slower" if y < 10 else f"{y:.0f}× slower"


machine = dict(line.split(": ", 1) for line in rt("machine.txt").splitlines() if ": " in line)
quick = machine.get("quick", "no") not in ("no", "")
reps_glob = sorted(glob.glob(os.path.join(R, "idx_kbdesk_*.time")))
REPS = len(reps_glob)
sources = rj("sources.json", [])
real = rj("real.json", {})
REAL_MB = real.get("text_bytes", 0) / MB
REAL_DOCS = real.get("docs", 0)
md = []
w = md.append
