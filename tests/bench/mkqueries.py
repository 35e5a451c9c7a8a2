#!/usr/bin/env python3
"""Writes the benchmark query log from the converted real corpus.

    mkqueries.py DOCS.jsonl > tests/bench/queries.txt

Deterministic (random.Random(5), documents in docs.jsonl order). Each line:
type<TAB>lang<TAB>source-id<TAB>query, where source-id is the document the
query was drawn from (the known item for hit@10). Types:
  title      a document title as typed (zh and en)
  heading    a section heading ("## ..." in the body)
  question   a sentence of the body cut to a clause and put in a user's
             words: "怎么…", "…怎么办", "如何…？", "请问…", "how do I …",
             "what does … mean", ...
  error      error strings from the text: LibreOffice's Err:5xx codes and
             #NAME?-style values, errno names (EACCES, ENOENT), sentences
             with error/failed/cannot/denied/not found, 错误/失败/无法/拒绝,
             with a user's "提示" or "getting" around them
  mixed      Chinese with an English word from the same Chinese document (a
             command, option or function name): "grep 怎么只显示文件名"
  keywords   2 to 5 terms: English content words of the title and first
             paragraph; Chinese 2-4 character pieces of the document's
             clauses, space-separated (as people type into a search box)
"""
import json
import random
import re
import sys

HAN = re.compile(r"[\u4e00-\u9fff]")
EN_STOP = set("""a an the and or of to in on for with by from at as is are be was were this that
these those it its you your can will may if then than into not no use used using which when
where what how who all any each other such only also more most some see following example
select choose click command commands option options file files set sets value values""".split())
ZH_Q = ["怎么{c}", "{c}怎么办", "如何{c}？", "请问{c}", "{c}是什么意思", "为什么{c}", "{c}应该怎么设置",
        "我想{c}，该怎么做"]
EN_Q = ["how do I {p}", "how to {p}", "what does {p} mean", "{p}?", "why {p}", "help with {p}"]
ERR_EN = re.compile(r"[^.;:\n#]{0,50}\b(?:error|failed|fails|cannot|can't|denied|not found|invalid|"
                    r"unable|refused|timed out)\b[^.;:\n#]{0,40}", re.I)
ERR_ZH = re.compile(r"(?<![A-Za-z])[^。；，,A-Za-z\n#]{0,16}(?:错误|失败|无法|拒绝|找不到|无效|不能)[^。；，,\n#]{0,12}")
ERR_CODE = re.compile(r"\bErr:\d{3}\b|#(?:NAME\?|VALUE!|REF!|DIV/0!|N/A|NUM!|NULL!)|"
                      r"\bE(?:ACCES|NOENT|PERM|INVAL|AGAIN|EXIST|NOMEM|BADF|BUSY|NOSPC|PIPE|"
                      r"ISDIR|NOTDIR|INTR|IO|NOTTY|ROFS|MFILE|NOSYS|TIMEDOUT|CONNREFUSED)\b")
ASCII_TOK = re.compile(r"(?<![A-Za-z0-9_.-])(?:--?)?[A-Za-z][A-Za-z0-9_.-]{2,24}(?![A-Za-z0-9_])")


def clean(s):
    s = re.sub(r"\s+", " ", s.replace("\t", " ")).strip()
    return s.strip(" ,.;:，。；：、")


def paras(doc):
    return [p.strip() for p in doc["body"].split("\n\n") if p.strip() and not p.startswith("## ")]


def headings(doc):
    return [p[3:].strip() for p in doc["body"].split("\n\n") if p.startswith("## ")]


COMMON = {}   # clause -> number of documents it appears in (boilerplate filter)


def zh_clauses(doc):
    out = []
    for p in paras(doc):
        for c in re.split(r"[。！？；，、：:（）()“”「」\n]", p):
            c = c.strip()
            n = len(HAN.findall(c))
            if 4 <= n and len(c) <= 24 and n >= len(c) * 0.6 and COMMON.get(c, 0) <= 5:
                out.append(c)
    return out


def en_sentences(doc):
    out = []
    for p in paras(doc):
        for s in re.split(r"(?<=[.!?])\s+", p):
            w = s.split()
            if 5 <= len(w) <= 30 and not HAN.search(s):
                out.append(s)
    return out


def main():
    docs = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    for d in docs:
        for c in set(zh_clauses(d)):
            COMMON[c] = COMMON.get(c, 0) + 1
    rng = random.Random(5)
    zh = [d for d in docs if d["lang"] == "zh"]
    en = [d for d in docs if d["lang"] == "en"]
    out = []
    seen = set()

    def add(t, d, q):
        q = clean(q)
        if not q or len(q) > 200 or q.lower() in seen:
            return False
        seen.add(q.lower())
        out.append((t, d["lang"], d["id"], q))
        return True

    def fill(n, pool, make):
        got = tries = 0
        while got < n and tries < n * 50:
            tries += 1
            d = pool[rng.randrange(len(pool))]
            q = make(d)
            if q and add(*q):
                got += 1

    fill(240, zh, lambda d: ("title", d, d["title"]))
    fill(160, en, lambda d: ("title", d, d["title"]))

    def heading(d):
        h = headings(d)
        return ("heading", d, rng.choice(h)) if h else None
    fill(180, zh, heading)
    fill(120, en, heading)

    def q_zh(d):
        c = zh_clauses(d)
        if not c:
            return None
        c = rng.choice(c)
        if len(c) > 14:
            s = rng.randrange(len(c) - 10)
            c = c[s:s + rng.randint(8, 14)]
        return ("question", d, rng.choice(ZH_Q).format(c=c))
    fill(450, zh, q_zh)

    def q_en(d):
        s = en_sentences(d)
        if not s:
            return None
        w = rng.choice(s).rstrip(".!?").split()
        k = rng.randint(4, 8)
        st = rng.randrange(max(1, len(w) - k))
        p = " ".join(w[st:st + k]).lower()
        return ("question", d, rng.choice(EN_Q).format(p=p))
    fill(300, en, q_en)

    def err(d):
        text = d["title"] + "\n" + d["body"]
        codes = ERR_CODE.findall(text)
        if codes and rng.random() < 0.5:
            c = rng.choice(codes)
            if d["lang"] == "zh":
                cl = zh_clauses(d)
                tail = rng.choice(cl)[:8] if cl else ""
                return ("error", d, rng.choice(["提示 {c}", "{c} {t}", "{c} 是什么错误", "报错 {c} {t}"])
                        .format(c=c, t=tail))
            return ("error", d, rng.choice(["{c}", "getting {c}", "{c} error"]).format(c=c))
        if d["lang"] == "zh":
            m = ERR_ZH.findall(text)
            if not m:
                return None
            c = clean(rng.choice(m))
            return ("error", d, rng.choice(["提示{c}", "{c}怎么办", "{c}", "报错：{c}"]).format(c=c))
        m = ERR_EN.findall(text)
        if not m:
            return None
        c = clean(rng.choice(m)).lower()
        if len(c.split()) < 3:
            return None
        return ("error", d, rng.choice(["{c}", "getting \"{c}\"", "{c} how to fix"]).format(c=c))
    fill(150, zh, err)
    fill(100, en, err)

    def mixed(d):
        toks = [t for t in ASCII_TOK.findall(d["title"] + " " + d["body"])
                if not t.lower() in EN_STOP and not t.startswith("http")]
        cl = zh_clauses(d)
        if not toks or not cl:
            return None
        t = rng.choice(toks)
        c = rng.choice(cl)[:10]
        tpl = rng.choice(["{t} {c}", "{t} 怎么{c}", "{c}用{t}怎么做", "{t}命令{c}", "用 {t} {c}"])
        return ("mixed", d, tpl.format(t=t, c=c))
    fill(300, zh, mixed)

    def kw_en(d):
        words = re.findall(r"[A-Za-z][A-Za-z0-9-]{3,}", d["title"] + " " + " ".join(paras(d)[:1]))
        words = [w.lower() for w in words if w.lower() not in EN_STOP]
        uniq = list(dict.fromkeys(words))
        if len(uniq) < 2:
            return None
        k = rng.randint(2, min(5, len(uniq)))
        return ("keywords", d, " ".join(rng.sample(uniq, k)))
    fill(200, en, kw_en)

    def kw_zh(d):
        cl = zh_clauses(d)
        if len(cl) < 2:
            return None
        k = rng.randint(2, 3)
        parts = []
        for c in rng.sample(cl, min(k, len(cl))):
            n = rng.randint(2, 4)
            s = rng.randrange(max(1, len(c) - n))
            parts.append(c[s:s + n])
        return ("keywords", d, " ".join(parts))
    fill(200, zh, kw_zh)

    print("# kbdesk benchmark query log: type, lang, source document, query "
          "(tests/bench/mkqueries.py; regenerate with tests/bench/run.sh --queries)")
    for t, lang, src, q in out:
        print(f"{t}\t{lang}\t{src}\t{q}")
    by = {}
    for t, *_ in out:
        by[t] = by.get(t, 0) + 1
    print(f"mkqueries: {len(out)} queries {by}", file=sys.stderr)


if __name__ == "__main__":
    main()
