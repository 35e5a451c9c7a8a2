"""Section: indexing speed, kbdesk against the baselines, by corpus size.
"""
from benchreport.common import MB, REAL_DOCS, REAL_MB, REPS, fm, fr, mmm, ratio, rj, rt, w
from benchreport.corpora import size_mb, sizes


w("")
w("## 2. Indexing (real corpus)")
w("")


def idx_rows():
    rows = {}
    kb, xa, pg = [], [], []
    peers = {}
    cpu = {"kbdesk": [], "scriptindex": []}  # (user, sys) seconds per run
    for r in range(1, REPS + 1):
        t = rj(f"idx_kbdesk_{r}.time")
        s = rj(f"idx_kbdesk_{r}.size")
        if t:
            kb.append((t["wall"], s["bytes"], t["maxrss_kb"]))
            cpu["kbdesk"].append((t["user"], t["sys"]))
        t = rj(f"idx_xapian_{r}.time")
        s = rj(f"idx_xapian_{r}.size")
        if t:
            xa.append((t["wall"], s["bytes"], t["maxrss_kb"]))
            cpu["scriptindex"].append((t["user"], t["sys"]))
        p = rj(f"idx_pg_{r}.json")
        if p:
            pg.append(p)
        for peer in ("groonga", "sphinx"):
            t = rj(f"idx_{peer}_{r}.time")
            s = rj(f"idx_{peer}_{r}.size")
            if t and s:
                peers.setdefault(peer, []).append((t["wall"], s["bytes"], t["maxrss_kb"]))
    rows["kbdesk indexer"] = kb
    rows["Xapian scriptindex, CJK n-grams"] = xa
    rows["PostgreSQL tsvector ('simple') + GIN"] = [(p["fts_total_s"], p["fts_bytes"], p["peak_rss_kb_fts"]) for p in pg]
    rows["PostgreSQL pg_trgm GIN (same table)"] = [(p["trgm_total_s"], p["table_bytes"] + p["pkey_bytes"] + p["gin_trgm_bytes"], p["peak_rss_kb_trgm"]) for p in pg]
    rows["Groonga, TokenBigram + NormalizerAuto (load, then index)"] = peers.get("groonga", [])
    rows["Sphinx 2.2 indexer, CJK ngram_len = 1"] = peers.get("sphinx", [])
    return rows, pg, cpu


rows, pgruns, idx_cpu = idx_rows()
scale_ratio = None  # scriptindex's seconds / kbdesk's at the top scale size
w(f"{REAL_DOCS:,} documents, {REAL_MB:.2f} MB of text (title + body), the same documents for every "
  "engine, each build from scratch, inputs in the page cache. kbdesk and scriptindex run under "
  "`taskset -c 0`; PostgreSQL's server is pinned to CPU 0 and loads with `\\copy` (its table "
  "load includes computing the tsvector column), then `CREATE INDEX` (maintenance_work_mem "
  "512MB, no parallel workers), fsync on. Groonga (`groonga -n`, one process) loads the "
  "documents with `load`, then builds its two index columns (offline index construction); its "
  "size is the blocks in use (its files are sparse). Sphinx's `indexer --all` reads a tsvpipe "
  "source (tests/bench/peers.sh has both set-ups). Peak memory: `/usr/bin/time` max RSS, or for "
  "PostgreSQL the backend's VmHWM (shared buffers it touched included).")
w("")
w("| engine | docs/s | MB/s | seconds | index on disk (MB) | peak RSS (MB) | kbdesk's speed (MB/s) ÷ this |")
w("|---|---:|---:|---:|---:|---:|---:|")
kb_mbs = None
idx_med = {}
for name, runs in rows.items():
    if not runs:
        continue
    secs = mmm([r[0] for r in runs])
    dps = mmm([REAL_DOCS / r[0] for r in runs])
    mbs = mmm([REAL_MB / r[0] for r in runs])
    size = mmm([r[1] / MB for r in runs])
    rss = mmm([r[2] / 1024 for r in runs])
    idx_med[name] = mbs[1]
    if kb_mbs is None:
        kb_mbs = mbs[1]
    w(f"| {name} | {fm(dps, 0)} | {fm(mbs, 2)} | {fm(secs, 1)} | {fm(size, 1)} | {fm(rss, 0)} | "
      f"{fr(ratio(kb_mbs, mbs[1]))} |")
if all(idx_cpu.values()):
    w("")
    w("CPU time of the same builds, user + system (seconds, median (min–max)): " + "; ".join(
        f"{name} {fm(mmm([u for u, _ in v]), 2)} + {fm(mmm([sy for _, sy in v]), 2)}"
        for name, v in idx_cpu.items()) +
      ". kbdesk reads one file per article (and hashes each, to find what changed), scriptindex one "
      "dump file. Measured apart from this run, on this kind of machine (whose page cache holds "
      "little for long): the same kbdesk build with every file cached took 0.2 s of system time "
      "(77,000 minor page faults, as in every build), one whose files had left the page cache "
      "0.8 s, its reads blocking about once per file (6,542 voluntary context switches).")
w("")
# the same two builds on both cores: kbdesk's indexer reads, parses and
# analyses the files on a second thread while its main thread writes the
# index (indexer/prep.h); scriptindex has one thread
two = {}
for name, key in (("kbdesk indexer (reading stage on a second thread)", "kbdesk"),
                  ("Xapian scriptindex, CJK n-grams (one thread)", "xapian")):
    runs = [t for t in (rj(f"idx2_{key}_{r}.time") for r in range(1, REPS + 1)) if t]
    if runs:
        two[name] = runs
idx2_med = {}
if len(two) == 2:
    w("**On both cores** (`taskset -c 0,1`), the same documents, in the same repeats: kbdesk's "
      "indexer reads, parses and analyses the next files on a second thread while its main "
      "thread writes the current one into Xapian (indexer/prep.h; on a single CPU it does both "
      "in turn, as before); scriptindex has no second thread. CPU time is user + system: what "
      "the build costs whatever the cores.")
    w("")
    w("| engine | docs/s | MB/s | seconds | CPU seconds | kbdesk's speed (MB/s) ÷ this |")
    w("|---|---:|---:|---:|---:|---:|")
    first = None
    for name, runs in two.items():
        mbs = mmm([REAL_MB / t["wall"] for t in runs])
        idx2_med[name] = mbs[1]
        first = first or mbs[1]
        w(f"| {name} | {fm(mmm([REAL_DOCS / t['wall'] for t in runs]), 0)} | {fm(mbs, 2)} | "
          f"{fm(mmm([t['wall'] for t in runs]), 1)} | {fm(mmm([t['user'] + t['sys'] for t in runs]), 2)} | "
          f"{fr(ratio(first, mbs[1]))} |")
    w("")
if pgruns:
    p = pgruns[-1]
    w(f"PostgreSQL's parts (last run): table load with tsvector {p['load_s']:.1f} s, tsvector GIN "
      f"{p['fts_gin_s']:.1f} s, trigram GIN {p['trgm_gin_s']:.1f} s; table (heap + TOAST, tsvector "
      f"included) {p['table_bytes'] / MB:.1f} MB, primary key {p['pkey_bytes'] / MB:.1f} MB, "
      f"tsvector GIN {p['gin_tsv_bytes'] / MB:.1f} MB, trigram GIN {p['gin_trgm_bytes'] / MB:.1f} MB.")
w("")
w("**Chinese in PostgreSQL** (checked in this run):")
w("")
w("```")
w(rt("pg_locale.txt").strip())
w("```")
w("")
w("PostgreSQL has no Chinese parser. The default parser treats a run of Han characters as one "
  "word: with `initdb --no-locale` (C locale) every non-ASCII character counts as a letter, so "
  "a whole clause, full-width punctuation and attached Latin included, becomes one token; in a "
  "`C.UTF-8` database full-width punctuation separates words, but a Chinese sentence still "
  "becomes a few long tokens. A `tsvector` search for Chinese therefore only matches a query "
  "run that equals a whole run of the document. `pg_trgm` extracts **no** trigrams from "
  "Chinese in the C locale (`show_trgm('知识库管理')` is `{}`: it keeps only characters "
  "`isalnum()` accepts), so a trigram index cannot help there; in a `C.UTF-8` database it does "
  "(hashed trigrams above). The PostgreSQL baselines therefore use a database created with "
  "`LC_CTYPE 'C.UTF-8'` in the same cluster, the better case for PostgreSQL.")

# scale indexing
w("")
w("### Indexing the scale set")
w("")
w("kbdesk builds incrementally: each size adds the new variants to the previous index "
  "(`indexer build` hashes every file, parses only new ones). One run per size, on both cores "
  "(`taskset -c 0,1`: the reading stage on its own thread, as above), as scriptindex's baseline "
  "below; CPU is user + system seconds.")
w("")
w("| documents | added | seconds | CPU seconds | docs/s (added) | MB/s (added) | index on disk (MB) | peak RSS (MB) |")
w("|---:|---:|---:|---:|---:|---:|---:|---:|")
prev = 0
prev_mb = 0
for n in sizes:
    t = rj(f"scale_idx_{n}.time")
    s = rj(f"scale_size_{n}.json")
    if not t:
        continue
    added = n - prev
    add_mb = size_mb[n] - prev_mb if prev else size_mb[n]
    w(f"| {n:,} | {added:,} | {t['wall']:.1f} | {t['user'] + t['sys']:.1f} | {added / t['wall']:,.0f} | {add_mb / t['wall']:.2f} | "
      f"{s['bytes'] / MB:,.0f} | {t['maxrss_kb'] / 1024:,.0f} |")
    prev, prev_mb = n, size_mb[n]
TOP = sizes[-1] if sizes else None
ct = rj("scale_compact.time")
cs = rj("scale_compact.size")
if ct and cs and TOP:
    w("")
    w(f"Incremental updates leave free space in Xapian's B-trees: `xapian-compact` of the "
      f"{TOP:,}-document index takes {ct['wall']:.1f} s and gives {cs['bytes'] / MB:,.0f} MB "
      f"(from {rj(f'scale_size_{TOP}.json')['bytes'] / MB:,.0f} MB).")
xt = rj("scale_idx_xapian.time")
xs = rj("scale_idx_xapian.size")
ps = rj("scale_idx_pg.json")
if TOP and xt:
    w("")
    w(f"Baselines on the same {TOP:,} documents ({size_mb[TOP]:.1f} MB), from scratch, one run "
      "(scriptindex on both cores as kbdesk; PostgreSQL's server on CPU 0):")
    w("")
    w("| engine | seconds | docs/s | MB/s | index on disk (MB) | peak RSS (MB) |")
    w("|---|---:|---:|---:|---:|---:|")
    kb_total = sum(rj(f"scale_idx_{n}.time")["wall"] for n in sizes if rj(f"scale_idx_{n}.time"))
    scale_ratio = xt["wall"] / kb_total
    kb_last = rj(f"scale_size_{TOP}.json")
    kb_rss = max(rj(f"scale_idx_{n}.time")["maxrss_kb"] for n in sizes if rj(f"scale_idx_{n}.time"))
    w(f"| kbdesk (sum of the incremental builds) | {kb_total:.1f} | {TOP / kb_total:,.0f} | "
      f"{size_mb[TOP] / kb_total:.2f} | {kb_last['bytes'] / MB:,.0f} | {kb_rss / 1024:,.0f} |")
    w(f"| Xapian scriptindex, CJK n-grams | {xt['wall']:.1f} | {TOP / xt['wall']:,.0f} | "
      f"{size_mb[TOP] / xt['wall']:.2f} | {xs['bytes'] / MB:,.0f} | {xt['maxrss_kb'] / 1024:,.0f} |")
    if ps:
        w(f"| PostgreSQL tsvector + GIN | {ps['fts_total_s']:.1f} | {TOP / ps['fts_total_s']:,.0f} | "
          f"{size_mb[TOP] / ps['fts_total_s']:.2f} | {ps['fts_bytes'] / MB:,.0f} | {ps['peak_rss_kb_fts'] / 1024:,.0f} |")
        w(f"| PostgreSQL pg_trgm GIN | {ps['trgm_total_s']:.1f} | {TOP / ps['trgm_total_s']:,.0f} | "
          f"{size_mb[TOP] / ps['trgm_total_s']:.2f} | {(ps['table_bytes'] + ps['pkey_bytes'] + ps['gin_trgm_bytes']) / MB:,.0f} | "
          f"{ps['peak_rss_kb_trgm'] / 1024:,.0f} |")
