"""Section: the corpora measured.
"""
import glob
import json
import os
import re

from benchreport.common import BENCH, MB, R, REAL_DOCS, REAL_MB, quick, rt, sources, w


w("")
w("## 1. Corpora")
w("")
w("Real IT text from Debian packages, converted by `tests/bench/convert.py` into kbdesk "
  "articles (Markdown with the article header):")
w("")
w("| source | package | documents | MB of text | skipped |")
w("|---|---|---:|---:|---:|")
for s in sources:
    w(f"| {s['source']} | {s['package']} | {s['docs']:,} | {s['text_bytes'] / MB:.2f} | {s['skipped']} |")
w(f"| **all** | | **{REAL_DOCS:,}** | **{REAL_MB:.2f}** | |")
w("")
w("- LibreOffice help (zh-CN and en-US, the same pages in both languages): only the page's "
  "`DisplayArea` is kept; scripts, styles, header, navigation, footer and the platform "
  "variants the help viewer hides (MAC/UNIX/WIN) are dropped; `h2`..`h6` become `## ` "
  "headings; the title is the page's `<title>`. Pages with less than 40 characters of text "
  "are skipped.")
w("- manpages-zh: roff read by a minimal roff reader (sections, `.TP` tags, font escapes, "
  "special characters; `.so` stubs and symlinks skipped); title `name(section) - description` "
  "from the NAME section; one article per page.")
w("- debian-reference (zh-cn, en): the packaged plain-text book split at its numbered section "
  "headings, one article per section with a body; wrapped lines joined (no space between "
  "Chinese characters).")
w("")
gens = sorted(glob.glob(os.path.join(R, "scale_gen_*.json")), key=lambda p: int(re.findall(r"\d+", p)[-1]))
sizes = [int(re.findall(r"\d+", p)[-1]) for p in gens]
var_bytes = 0
size_mb = {}
for p, n in zip(gens, sizes):
    var_bytes += json.load(open(p))["text_bytes"]
    size_mb[n] = REAL_MB + var_bytes / MB
w(f"**Scale set** (`tests/bench/scale.py`): a set of N documents is the whole real corpus plus "
  f"N − {REAL_DOCS:,} variants. Variant *i* uses its own `random.Random(20260511 × 1000003 + i)`: "
  "a base document drawn uniformly from the real ones; a run of 2–4 consecutive paragraphs of "
  "its body; one paragraph borrowed from another document of the same language; the paragraphs "
  "shuffled and the body cut to at most 1,200 bytes; title = base title + ` - ` + the nearest "
  "heading above the run (or `(paragraph number)`); category of the base; id `v` + 6 digits. "
  "Generated on the fly into `build/bench/scale/` (1,000 files per folder), and in the "
  "baselines' formats for the same documents.")
w("")
w("| documents | MB of text |")
w("|---:|---:|")
for n in sizes:
    w(f"| {n:,} | {size_mb[n]:.1f} |")
w("")
qtypes = {}
qlang = {}
for line in open(os.path.join(BENCH, "queries.txt"), encoding="utf-8"):
    if line.startswith("#"):
        continue
    t = line.split("\t")
    qtypes[t[0]] = qtypes.get(t[0], 0) + 1
    qlang[t[1]] = qlang.get(t[1], 0) + 1
nq = sum(qtypes.values())
w(f"**Query log** `tests/bench/queries.txt`: {nq:,} queries written by `tests/bench/mkqueries.py` "
  "(deterministic) from the real corpus: " + ", ".join(f"{k} {v}" for k, v in qtypes.items()) +
  f"; by the source document's language " + ", ".join(f"{k} {v}" for k, v in qlang.items()) +
  ". Each line carries the document it was drawn from (the known item for hit@10). "
  "Regenerating it in this run gave " +
  ("the same file." if rt("queries_same.json").strip() == "true" else
   "a **different** file (package versions changed?); the committed one was used.") +
  " Repeated latency runs use every "
  f"{'8th' if quick else '4th'} query (all types); the HTTP throughput target uses the titles and "
  "keyword queries (`typical 2–5 term queries`).")
