#!/usr/bin/env python3
"""The benchmark corpora in the baselines' input formats, and the scale set.

    scale.py formats DOCS.jsonl PREFIX
        writes PREFIX.si (scriptindex input: id, title, body, lang; blank
        lines between records, continuation lines start with "=") and
        PREFIX.tsv (PostgreSQL COPY text format: id, lang, title, body) for
        every document of DOCS.jsonl (written by convert.py).

    scale.py variants DOCS.jsonl CORPUS --from A --to B [--emit PREFIX]
        writes the scale-set variants A..B-1 as kbdesk articles into
        CORPUS/vNNN/ (1,000 per folder), and with --emit appends them to
        PREFIX.si and PREFIX.tsv too. Prints the count and text bytes.

How a variant is made (deterministic: variant i uses its own
random.Random(20260511 * 1000003 + i), so any range gives the same files):
  1. a base document is drawn uniformly from the real documents;
  2. a run of 2 to 4 consecutive paragraphs of its body is taken (headings
     are not paragraphs; the nearest "## " heading above the run is
     remembered);
  3. one paragraph is borrowed from another document of the same language;
  4. the paragraphs (up to 5) are shuffled and the body is cut to at most
     1,200 bytes (at a character boundary);
  5. the title is the base title plus " - " and the remembered heading, or
     plus " (" the paragraph number ")" when there is none; the category is
     the base document's; the id is "v" + 6 digits (its number), and tags
     name the base and the borrowed document.
A scale set of size N is the real corpus (all of it) plus variants
0..N-1-real. Variants are short (about 0.6 KB) so that 200,000 documents
index within the time budget of `make bench`.
"""
import json
import os
import random
import sys

SEED = 20260511
MAX_BODY = 1200


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def si_record(doc):
    out = [f"id={doc['id']}", f"lang={doc['lang']}", f"title={doc['title']}"]
    body = doc["body"].split("\n")
    out.append("body=" + body[0])
    out.extend("=" + ln for ln in body[1:])
    return "\n".join(out) + "\n\n"


def tsv_escape(s):
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def tsv_record(doc):
    return "\t".join(tsv_escape(doc[k]) for k in ("id", "lang", "title", "body")) + "\n"


def md(doc):
    return ("---\n"
            f"id: {doc['id']}\n"
            "kind: article\n"
            f"title: {doc['title']}\n"
            f"category: {doc['category']}\n"
            f"tags: {doc['tags']}\n"
            f"lang: {doc['lang']}\n"
            "visibility: public\n"
            "updated: 2023-02-04\n"
            "---\n" + doc["body"] + "\n")


def paragraphs(body):
    """(heading above, paragraph) pairs of a body."""
    out = []
    head = None
    for p in body.split("\n\n"):
        p = p.strip()
        if not p:
            continue
        if p.startswith("## "):
            head = p[3:].strip()
            continue
        out.append((head, p))
    return out


def cut(s, limit):
    b = s.encode("utf-8")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", errors="ignore").rstrip()


class Pool:
    def __init__(self, docs):
        self.docs = docs
        self.paras = [paragraphs(d["body"]) for d in docs]
        self.by_lang = {}
        for i, d in enumerate(docs):
            if self.paras[i]:
                self.by_lang.setdefault(d["lang"], []).append(i)
        self.usable = [i for i in range(len(docs)) if self.paras[i]]

    def variant(self, i):
        rng = random.Random(SEED * 1000003 + i)
        b = self.usable[rng.randrange(len(self.usable))]
        base = self.docs[b]
        ps = self.paras[b]
        k = rng.randint(2, 4)
        start = rng.randrange(len(ps))
        run = ps[start:start + k]
        head = run[0][0]
        parts = [p for _, p in run]
        same = self.by_lang[base["lang"]]
        o = same[rng.randrange(len(same))]
        other = self.docs[o]
        op = self.paras[o]
        parts.append(op[rng.randrange(len(op))][1])
        rng.shuffle(parts)
        body = cut("\n\n".join(parts), MAX_BODY)
        title = f"{base['title']} - {head}" if head else f"{base['title']} ({start + 1})"
        return {"id": f"v{i:06d}", "source": "variant", "lang": base["lang"],
                "title": " ".join(title.split())[:200], "category": base["category"],
                "tags": f"variant, {base['id']}, {other['id']}", "body": body}


def main():
    cmd = sys.argv[1]
    docs = load(sys.argv[2])
    if cmd == "formats":
        prefix = sys.argv[3]
        with open(prefix + ".si", "w", encoding="utf-8") as si, \
                open(prefix + ".tsv", "w", encoding="utf-8") as tsv:
            for d in docs:
                si.write(si_record(d))
                tsv.write(tsv_record(d))
        return
    if cmd != "variants":
        sys.exit("usage: scale.py formats|variants ...")
    corpus = sys.argv[3]
    args = sys.argv[4:]
    a = int(args[args.index("--from") + 1])
    b = int(args[args.index("--to") + 1])
    emit = args[args.index("--emit") + 1] if "--emit" in args else None
    pool = Pool(docs)
    si = open(emit + ".si", "a", encoding="utf-8") if emit else None
    tsv = open(emit + ".tsv", "a", encoding="utf-8") if emit else None
    nbytes = 0
    for i in range(a, b):
        d = pool.variant(i)
        folder = os.path.join(corpus, f"v{i // 1000:03d}")
        if i % 1000 == 0 or i == a:
            os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, d["id"] + ".md"), "w", encoding="utf-8") as fh:
            fh.write(md(d))
        nbytes += len((d["title"] + "\n" + d["body"]).encode("utf-8"))
        if si:
            si.write(si_record(d))
            tsv.write(tsv_record(d))
    print(json.dumps({"from": a, "to": b, "docs": b - a, "text_bytes": nbytes}))


if __name__ == "__main__":
    main()
