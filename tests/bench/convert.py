#!/usr/bin/env python3
"""Converts real IT text from Debian packages into kbdesk articles.

    convert.py OUTDIR

Sources (installed by tests/bench/run.sh):
  lo-zh, lo-en   libreoffice-help-zh-cn / -en-us: the HTML help pages under
                 /usr/share/libreoffice/help/{zh-CN,en-US}/text/. Only the
                 page's DisplayArea is kept; <script>, <style>, the page
                 header/navigation/footer and the platform variants hidden
                 by the help viewer (MAC/UNIX/WIN spans) are dropped; h2..h6
                 become "## " headings. Title: the page's <title>.
  man-zh         manpages-zh: /usr/share/man/zh_CN/man*/*.gz (roff), read
                 with a minimal roff reader (requests .SH .SS .TP .IP .PP
                 .B .I .BR ..., font escapes, \\- \\(xx \\e \\&, comments);
                 symlinks and .so stubs are skipped. Title: "name(sec) -
                 description" from the NAME section; one article per page.
  debref-zh, debref-en
                 debian-reference-zh-cn / -en: the plain-text book
                 /usr/share/debian-reference/debian-reference.*.txt.gz, split
                 at its numbered section headings (1.2.3. Heading) into one
                 article per section with a body; wrapped lines are joined.

Writes OUTDIR/docs.jsonl (one JSON object per document: id, source, lang,
title, category, body) and OUTDIR/corpus/<source>/<id>.md (kbdesk articles),
and prints per-source statistics as JSON on stdout. Documents with less than
40 characters of body are skipped. Deterministic: same packages, same output.
"""
import gzip
import html
import html.parser
import json
import os
import re
import sys

LO_ROOT = "/usr/share/libreoffice/help"
MAN_ROOT = "/usr/share/man/zh_CN"
DEBREF = "/usr/share/debian-reference/debian-reference.{}.txt.gz"
UPDATED = "2023-02-04"

CJK_RE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def is_cjk(ch):
    return bool(ch) and bool(CJK_RE.match(ch))


def join_lines(lines):
    """Joins wrapped lines: no space between CJK characters, else one."""
    out = ""
    for ln in lines:
        ln = ln.strip()
        if not ln:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(ln[0])):
            out += " "
        out += ln
    return out


def clean_ws(s):
    s = s.replace("\u00a0", " ").replace("\u200b", "")
    s = re.sub(r"\s+", " ", s)
    return s.strip()


def safe_id(s):
    return re.sub(r"[^A-Za-z0-9._-]", "_", s)


def cat_level(s):
    return clean_ws(s.replace("/", "-").replace(",", " "))[:60] or "misc"


# ---- LibreOffice help HTML -------------------------------------------------

BLOCK = {"p", "div", "br", "li", "tr", "table", "ul", "ol", "pre", "h1", "h2", "h3", "h4",
         "h5", "h6", "td", "th", "dt", "dd", "section", "article", "blockquote"}
VOID = {"br", "img", "input", "meta", "link", "hr", "area", "base", "col", "embed", "param",
        "source", "track", "wbr"}


class HelpPage(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.in_title = False
        self.in_area = False
        self.done = False
        self.skip = 0          # depth inside a dropped element
        self.stack = []        # tags inside the area, with their skip flag
        self.blocks = []       # finished blocks (text lines)
        self.cur = ""
        self.heading = None    # "h2".. while inside a heading

    def flush(self):
        t = clean_ws(self.cur)
        if t:
            if self.heading and self.heading != "h1":
                t = "## " + t
            if self.heading == "h1":
                t = ""
            if t:
                self.blocks.append(t)
        self.cur = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title" and not self.in_area:
            self.in_title = True
            return
        if self.done:
            return
        if tag == "div" and a.get("id") == "DisplayArea":
            self.in_area = True
            self.stack = []
            return
        if not self.in_area:
            return
        if tag == "div" and a.get("id") in ("SearchFrame", "DonationFrame"):
            self.flush()
            self.done = True
            self.in_area = False
            return
        drop = (tag in ("script", "style", "noscript", "header", "footer", "nav", "aside")
                or ("hidden" in a and not (a.get("id") or "").startswith("default")))
        if tag in VOID:
            if tag == "br" and not self.skip:
                self.flush()
            return
        self.stack.append((tag, drop))
        if drop:
            self.skip += 1
            return
        if self.skip:
            return
        if tag in BLOCK:
            self.flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.heading = tag
        if tag in ("td", "th"):
            self.cur += " "

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
            return
        if not self.in_area or tag in VOID:
            return
        # pop to the matching tag (HTML may be sloppy)
        while self.stack:
            t, drop = self.stack.pop()
            if drop:
                self.skip -= 1
            if t == tag:
                break
        if self.skip:
            return
        if tag in BLOCK:
            self.flush()
            if tag.startswith("h") and len(tag) == 2:
                self.heading = None

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.in_area and not self.skip:
            self.cur += data


def lo_docs(lang_dir, lang, source):
    root = os.path.join(LO_ROOT, lang_dir, "text")
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".html"):
                files.append(os.path.join(d, n))
    files.sort()
    for f in files:
        rel = os.path.relpath(f, root)[:-5]
        with open(f, encoding="utf-8", errors="replace") as fh:
            p = HelpPage()
            p.feed(fh.read())
            p.close()
        title = clean_ws(p.title)
        body = "\n\n".join(p.blocks)
        parts = rel.split("/")
        cat = "LibreOffice/" + "/".join(cat_level(x) for x in parts[:-1][:2])
        yield {"id": source + "-" + safe_id(rel.replace("/", ".")), "source": source,
               "lang": lang, "title": title, "category": cat.rstrip("/"), "body": body}


# ---- man pages (minimal roff) ---------------------------------------------

ROFF_CHARS = {"em": "—", "en": "–", "hy": "-", "bu": "•", "lq": "“", "rq": "”", "oq": "‘",
              "cq": "’", "aq": "'", "dq": '"', "co": "©", "rg": "®", "tm": "™", "mu": "×",
              "<=": "≤", ">=": "≥", "!=": "≠", "->": "→", "<-": "←", "de": "°", "ti": "~",
              "ha": "^", "rs": "\\", "ba": "|", "sl": "/", "pl": "+", "mi": "-", "eq": "=",
              "fm": "′", "sq": "□", "ci": "○", "lh": "☜", "rh": "☞"}


def roff_name_end(s, i):
    """Where the name after an escape such as \\f, \\* or \\n that starts at
    s[i] ends: a one-letter name x, a two-letter (xx or a bracketed [name]."""
    n = len(s)
    if i < n and s[i] == "(":
        return i + 3
    if i < n and s[i] == "[":
        j = s.find("]", i)
        return j + 1 if j >= 0 else n
    return i + 1


def roff_inline(s):
    out = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            break
        c = s[i]
        i += 1
        if c == "f":                          # \fB \f(CW \f[I]
            i = roff_name_end(s, i)
        elif c == "(":                        # \(xx
            out.append(ROFF_CHARS.get(s[i:i + 2], ""))
            i += 2
        elif c == "[":                        # \[xx]
            j = s.find("]", i)
            name = s[i:j] if j >= 0 else ""
            out.append(ROFF_CHARS.get(name, ""))
            i = j + 1 if j >= 0 else n
        elif c == "*":                        # \*x \*(xx \*[..] strings
            i = roff_name_end(s, i)
        elif c in "sS":                       # \s+2 \s0 \s(12
            while i < n and (s[i] in "+-0123456789(["):
                i += 1
        elif c in "nmgkFV$":                  # registers, colours, ...
            i = roff_name_end(s, i)
        elif c in "hvwlLoHxDNbXRzYZ":         # \h'..' and friends
            if i < n and s[i] == "'":
                j = s.find("'", i + 1)
                i = j + 1 if j >= 0 else n
            elif c in "zY":
                i += 1
        elif c == '"':                        # comment
            break
        elif c == "-":
            out.append("-")
        elif c == "e" or c == "\\":
            out.append("\\")
        elif c in "&|^/,)c!%:{}":
            pass
        elif c in " 0~":
            out.append(" ")
        elif c == "t":
            out.append(" ")
        else:
            out.append(c)
    return "".join(out)


def roff_args(s):
    args = []
    for m in re.finditer(r'"((?:[^"]|"")*)"|(\S+)', s):
        args.append(m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2))
    return args


def man_doc(path, text):
    lines = text.split("\n")
    sections = []        # [heading, [paragraph strings]]
    cur = ["", []]
    para = []
    nofill = False
    th = None
    tp_tag = False

    def end_para():
        if para:
            if nofill:
                cur[1].append("\n".join(x for x in para if x.strip()))
            else:
                cur[1].append(join_lines(para))
            para.clear()

    for raw in lines:
        if raw.startswith(".\\\"") or raw.startswith("'\\\"") or raw.startswith('.\\"'):
            continue
        if raw.startswith(".") or raw.startswith("'"):
            m = re.match(r"[.'](\S*)\s*(.*)", raw)
            req, rest = m.group(1), m.group(2)
            if req == "TH":
                th = roff_args(roff_inline(rest))
            elif req in ("SH", "SS"):
                end_para()
                sections.append(cur)
                cur = [clean_ws(roff_inline(" ".join(roff_args(rest)))), []]
            elif req in ("PP", "P", "LP", "sp", "br", "TP", "HP", "RS", "RE", "in", "ti"):
                end_para()
                tp_tag = req == "TP"
            elif req == "IP":
                end_para()
                a = roff_args(rest)
                if a:
                    para.append(roff_inline(a[0]))
            elif req == "nf":
                end_para()
                nofill = True
            elif req == "fi":
                end_para()
                nofill = False
            elif req in ("B", "I", "SM", "SB"):
                para.append(roff_inline(" ".join(roff_args(rest))))
                if tp_tag:
                    end_para()
                    tp_tag = False
            elif req in ("BR", "RB", "BI", "IB", "IR", "RI"):
                para.append(roff_inline("".join(roff_args(rest))))
                if tp_tag:
                    end_para()
                    tp_tag = False
            elif req == "so":
                return None
            continue
        para.append(roff_inline(raw))
        if tp_tag:
            end_para()
            tp_tag = False
    end_para()
    sections.append(cur)
    name_desc = ""
    body = []
    for head, paras in sections:
        paras = [clean_ws(p) if "\n" not in p else p.strip() for p in paras]
        paras = [p for p in paras if p]
        if not head and not paras:
            continue
        if head.upper() in ("名称", "NAME", "名字", "名 称", "名稱") and paras and not name_desc:
            name_desc = paras[0]
        if head:
            body.append("## " + head)
        body.extend(paras)
    base = os.path.basename(path)[:-3]           # ls.1
    name, _, sec = base.rpartition(".")
    if name_desc:
        title = name_desc.replace(" - ", f"({sec}) - ", 1) if " - " in name_desc else \
            f"{name}({sec}) - {name_desc}"
    else:
        title = f"{name}({sec})"
    title = clean_ws(title)[:200]
    return {"id": "man-zh-" + safe_id(base), "source": "man-zh", "lang": "zh",
            "title": title, "category": "manpages/man" + sec[:1],
            "body": "\n\n".join(body)}


def man_docs():
    files = []
    for d, _, names in os.walk(MAN_ROOT):
        for n in names:
            f = os.path.join(d, n)
            if n.endswith(".gz") and not os.path.islink(f):
                files.append(f)
    files.sort()
    for f in files:
        with gzip.open(f, "rb") as fh:
            text = fh.read().decode("utf-8", errors="replace")
        d = man_doc(f, text)
        if d:
            yield d


# ---- debian-reference plain text ------------------------------------------

HEAD_RE = re.compile("^(?:([0-9]+|[A-Z])((?:\\.[0-9]+)*)\\.[ \u00a0](\\S.*)|"
                     "((?:第|Chapter|附录|Appendix)[ \u00a0].*))$")


def debref_docs(lang_code, lang, source):
    with gzip.open(DEBREF.format(lang_code), "rb") as fh:
        lines = fh.read().decode("utf-8", errors="replace").split("\n")
    # the body starts at the second "Preface" heading (the first is in the
    # table of contents)
    starts = [i for i, ln in enumerate(lines) if ln.strip() in ("序言", "Preface")]
    lines = lines[starts[1]:] if len(starts) > 1 else lines
    chapter = "Preface" if lang == "en" else "序言"
    secs = []
    cur = None
    for ln in lines:
        m = HEAD_RE.match(ln)
        if m and not ln.startswith(" "):
            if m.group(4):
                chapter = m.group(4).replace("\u00a0", " ")
                cur = None
                continue
            num = m.group(1) + m.group(2)
            cur = {"num": num, "head": m.group(3).replace("\u00a0", " ").strip(), "chapter": chapter, "lines": []}
            secs.append(cur)
            continue
        if cur is not None:
            cur["lines"].append(ln)
    seen = {}
    for s in secs:
        paras, para = [], []
        for ln in s["lines"] + [""]:
            if ln.strip():
                para.append(ln)
            elif para:
                paras.append(join_lines(para))
                para = []
        body = "\n\n".join(p for p in paras if p)
        if len(body) < 40:          # table-of-contents entries, empty parents
            continue
        sid = safe_id(s["num"])
        seen[sid] = seen.get(sid, 0) + 1
        if seen[sid] > 1:          # the chapter TOCs repeat numbers: keep the first body
            sid += "_" + str(seen[sid])
        yield {"id": f"{source}-{sid}", "source": source, "lang": lang,
               "title": clean_ws(s["head"])[:200],
               "category": "Debian reference/" + cat_level(s["chapter"]), "body": body}


# ---- output ----------------------------------------------------------------

def md(doc):
    tags = doc["source"]
    return ("---\n"
            f"id: {doc['id']}\n"
            "kind: article\n"
            f"title: {doc['title']}\n"
            f"category: {doc['category']}\n"
            f"tags: {tags}\n"
            f"lang: {doc['lang']}\n"
            "visibility: public\n"
            f"updated: {UPDATED}\n"
            "---\n" + doc["body"] + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    gens = [("lo-zh", "libreoffice-help-zh-cn", lambda: lo_docs("zh-CN", "zh", "lo-zh")),
            ("lo-en", "libreoffice-help-en-us", lambda: lo_docs("en-US", "en", "lo-en")),
            ("man-zh", "manpages-zh", man_docs),
            ("debref-zh", "debian-reference-zh-cn", lambda: debref_docs("zh-cn", "zh", "debref-zh")),
            ("debref-en", "debian-reference-en", lambda: debref_docs("en", "en", "debref-en"))]
    stats = []
    ids = set()
    with open(os.path.join(out, "docs.jsonl"), "w", encoding="utf-8") as js:
        for source, pkg, gen in gens:
            d_out = os.path.join(out, "corpus", source)
            os.makedirs(d_out, exist_ok=True)
            n = nbytes = skipped = 0
            for doc in gen():
                doc["title"] = doc["title"].replace("\n", " ").strip()
                if len(doc["body"]) < 40 or not doc["title"] or doc["id"] in ids:
                    skipped += 1
                    continue
                ids.add(doc["id"])
                text = md(doc)
                with open(os.path.join(d_out, doc["id"] + ".md"), "w", encoding="utf-8") as fh:
                    fh.write(text)
                js.write(json.dumps(doc, ensure_ascii=False) + "\n")
                n += 1
                nbytes += len((doc["title"] + "\n" + doc["body"]).encode("utf-8"))
            stats.append({"source": source, "package": pkg, "docs": n, "skipped": skipped,
                          "text_bytes": nbytes})
    json.dump(stats, sys.stdout, ensure_ascii=False, indent=1)
    print()


if __name__ == "__main__":
    main()
