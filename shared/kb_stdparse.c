/* kb_stdparse: one document per numbered clause of a standard's text; see
 * kb_stdparse.h for what is kept and how the fields are filled.
 *
 * The work is done in passes over an array of lines:
 *   1. sanitise the input (valid UTF-8, no NULs) and split it into lines;
 *   2. classify each line: blank, page furniture, table-of-contents entry,
 *      list bullet, table row, code line, annex heading;
 *   3. find the standard's code and drop its repeated header lines;
 *   4. mark the block under a 目次 heading as table of contents;
 *   5. collect clause-number candidates with a weight for how much they look
 *      like a real heading;
 *   6. keep the best chain of candidates whose numbers follow each other
 *      (dynamic programming over the candidates);
 *   7. find the title, then build and hand out the documents. */
#include "kb_stdparse.h"
#include "kb_doc.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLEV 8           /* deepest clause number kept: 1.2.3.4.5.6.7.8 */
#define DP_WINDOW 256      /* how far back a clause looks for its predecessor */
#define LABEL_MAX 20       /* characters of a derived heading */
#define KB_STD_MAX_TEXT ((size_t)64 << 20) /* longer texts are refused */

/* line flags */
enum {
    LF_BLANK = 1 << 0,
    LF_FURN = 1 << 1,    /* page furniture: never in a body */
    LF_TOC = 1 << 2,     /* table of contents: never a clause, never in a body */
    LF_BULLET = 1 << 3,  /* started with "- " (stripped) */
    LF_TABLE = 1 << 4,   /* tabs or "|": kept as its own line */
    LF_PAGENUM = 1 << 5, /* only 1-4 digits: a page number unless a clause */
    LF_CODE = 1 << 6,    /* looks like a standard's code on its own */
    LF_ANNEX = 1 << 7,   /* 附录 A / 参考文献: the main text ends here */
    LF_ROMAN = 1 << 8,   /* only Roman numerals */
    LF_HEADLIKE = 1 << 9, /* a numbered heading-like line (in a body: its own line) */
};

struct line {
    const char *t; /* trimmed, markdown '#' and bullet stripped */
    size_t n;
    const char *full; /* trimmed, '#' stripped, bullet kept */
    size_t fulln;
    int lineno;
    int hashes;
    unsigned flags;
    int cand; /* index in candidates, -1 if none */
};

struct cnum {
    int v[MAXLEV];
    int k;
};

struct cand {
    int line;
    struct cnum num;
    int weight;
    char *heading;    /* owned */
    const char *rest; /* untitled clause: text after the number, first body piece */
    size_t restn;
    int body_from;    /* first line of the body (after the heading lines) */
    int score;
    int prev;
};

struct parser {
    struct kb_buf clean;
    struct line *lines;
    int nlines;
    struct cand *cands;
    int ncands, capcands;
    char *code;  /* normalised std code or NULL */
    char *title; /* normalised title or NULL */
    char *title_parts[4];
    int ntitle_parts;
};

/* ---- UTF-8 helpers (input is sanitised, so always valid) ---------------- */

/* The code point at s[0..n) (kb_utf8_next) and its length in *adv; 0 with
 * *adv 0 for n 0. */
static uint32_t u8get(const char *s, size_t n, size_t *adv)
{
    size_t i = 0;
    if (n == 0) {
        *adv = 0;
        return 0;
    }
    int32_t cp = kb_utf8_next(s, n, &i);
    *adv = i;
    return cp < 0 ? 0xFFFD : (uint32_t)cp; /* cannot happen on sanitised text */
}

/* Last code point of s[0..n) and where it starts. */
static uint32_t u8last(const char *s, size_t n, size_t *start)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0)
        i--;
    size_t adv;
    *start = i;
    return n ? u8get(s + i, n - i, &adv) : 0;
}

static void u8put(struct kb_buf *b, uint32_t cp)
{
    char t[4];
    kb_buf_add(b, t, kb_utf8_encode((int32_t)cp, t));
}

static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

/* Full-width punctuation and CJK symbols. */
static int is_fwpunct(uint32_t c)
{
    return (c >= 0x3001 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
           (c >= 0xFF5B && c <= 0xFF65) || c == 0x2014 || c == 0x2026 ||
           (c >= 0x2018 && c <= 0x201F);
}

static int is_space_cp(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x3000 || c == 0xA0 || (c >= 0x2000 && c <= 0x200B);
}

static int is_dash_cp(uint32_t c)
{
    return c == '-' || c == 0x2010 || c == 0x2011 || c == 0x2012 || c == 0x2013 ||
           c == 0x2014 || c == 0x2015 || c == 0xFF0D || c == 0x2212;
}

static int has_prefix(const char *s, size_t n, const char *pre)
{
    size_t m = strlen(pre);
    return n >= m && memcmp(s, pre, m) == 0;
}

/* ---- pass 1: sanitise and split ------------------------------------------- */

static void sanitise(const char *in, size_t len, struct kb_buf *out)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)in[0] == 0xEF && (unsigned char)in[1] == 0xBB &&
        (unsigned char)in[2] == 0xBF)
        i = 3;
    kb_buf_add(out, "", 0); /* data never NULL */
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x80) {
            if (c == '\r') {
                if (i + 1 < len && in[i + 1] == '\n') {
                    i++;
                    continue;
                }
                kb_buf_addc(out, '\n');
            } else if (c == '\f' || c == '\v' || c == '\n') {
                kb_buf_addc(out, '\n');
            } else if (c == '\t') {
                kb_buf_addc(out, '\t');
            } else if (c < 0x20 || c == 0x7F) {
                kb_buf_addc(out, ' ');
            } else {
                kb_buf_addc(out, (char)c);
            }
            i++;
            continue;
        }
        size_t next = i;
        int32_t dec = kb_utf8_next(in, len, &next);
        if (dec < 0) { /* an invalid or truncated sequence: one byte at a time */
            u8put(out, 0xFFFD);
            i++;
            continue;
        }
        uint32_t cp = (uint32_t)dec;
        i = next;
        if (cp == 0xFEFF || cp == 0x200B)
            continue;
        if (cp == 0x2028 || cp == 0x2029)
            kb_buf_addc(out, '\n');
        else if (cp < 0xA0)
            kb_buf_addc(out, ' ');
        else
            u8put(out, cp);
    }
}

/* Skips leading / trailing blanks: ASCII space and tab, U+3000, U+00A0,
 * U+2000..U+200B. */
static void trim(const char **s, size_t *n)
{
    const char *p = *s;
    size_t m = *n, adv, st;
    while (m && is_space_cp(u8get(p, m, &adv))) {
        p += adv;
        m -= adv;
    }
    while (m && is_space_cp(u8last(p, m, &st)))
        m = st;
    *s = p;
    *n = m;
}

/* Length of the whitespace at s (0 if none). */
static size_t space_len(const char *s, size_t n)
{
    size_t adv, i = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (!is_space_cp(c))
            break;
        i += adv;
    }
    return i;
}

/* ---- pass 2: line classification ------------------------------------------ */

/* Copies s without any whitespace into out[cap] (always NUL-terminated);
 * returns the length, or cap if it did not fit. */
static size_t squeeze(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0, adv;
    for (size_t i = 0; i < n; i += adv) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (is_space_cp(c))
            continue;
        if (o + adv >= cap) {
            out[o] = '\0';
            return cap;
        }
        memcpy(out + o, s + i, adv);
        o += adv;
    }
    out[o] = '\0';
    return o;
}

enum { FW_NONE, FW_TOC, FW_FRONT, FW_ANNEX };

/* Front-matter and back-matter words that head a block of their own. */
static int front_word(const char *s, size_t n)
{
    char sq[64];
    size_t m = squeeze(s, n, sq, sizeof sq);
    if (m >= sizeof sq)
        return FW_NONE;
    if (!strcmp(sq, "目次") || !strcmp(sq, "目录") || !strcmp(sq, "Contents") ||
        !strcmp(sq, "CONTENTS") || !strcmp(sq, "TableofContents"))
        return FW_TOC;
    if (!strcmp(sq, "前言") || !strcmp(sq, "引言") || !strcmp(sq, "Foreword") ||
        !strcmp(sq, "Introduction"))
        return FW_FRONT;
    if (!strcmp(sq, "参考文献") || !strcmp(sq, "索引") || !strcmp(sq, "Bibliography"))
        return FW_ANNEX;
    return FW_NONE;
}

/* "附录 A", "附 录 A（规范性附录） 标题", "Annex B": an annex heading. */
static int is_annex_heading(const char *s, size_t n)
{
    char sq[256];
    size_t m = squeeze(s, n, sq, sizeof sq);
    if (m >= sizeof sq || kb_utf8_count(sq, m) > 60)
        return 0;
    /* a sentence mentioning an annex ("附录A中列出了……。") is not one */
    static const char *const stops[] = {"。", "；", "，", ",", ";"};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        if (strstr(sq, stops[i]))
            return 0;
    const char *r;
    if (has_prefix(sq, m, "附录"))
        r = sq + strlen("附录");
    else if (has_prefix(sq, m, "Annex"))
        r = sq + 5;
    else
        return 0;
    if (*r >= 'A' && *r <= 'Z')
        r++;
    else if (*r != '\0' && *r != '(' && !has_prefix(r, strlen(r), "（"))
        return 0;
    if (*r >= 'a' && *r <= 'z')
        return 0;
    static const char *const particles[] = {"中", "的", "所", "和", "与", "及", "或", "等", "给", "列"};
    for (size_t i = 0; i < sizeof particles / sizeof particles[0]; i++)
        if (has_prefix(r, strlen(r), particles[i]))
            return 0;
    return 1;
}

/* Only Roman numerals (a front-matter page number such as "II"). */
static int is_roman(const char *s, size_t n)
{
    if (n == 0 || n > 6)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("IVXivx", s[i]))
            return 0;
    return 1;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "— 3 —", "- 3 -", "第 3 页", "第3页 共10页", "3 / 10". */
static int is_footer(const char *s, size_t n)
{
    size_t i = 0, adv, digits = 0, dashes = 0, other = 0;
    int page = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (c >= '0' && c <= '9')
            digits++;
        else if (is_dash_cp(c))
            dashes++;
        else if (c == 0x7B2C /* 第 */ || c == 0x9875 /* 页 */ || c == 0x5171 /* 共 */)
            page++;
        else if (c == '/')
            page++;
        else if (!is_space_cp(c))
            other++;
        i += adv;
    }
    if (other || digits == 0 || digits > 8)
        return 0;
    if (dashes >= 2 && page == 0)
        return 1;
    return page > 0 && dashes == 0 && (has_prefix(s, n, "第") || has_prefix(s, n, "共") ||
                                       memchr(s, '/', n) != NULL);
}

/* A line made only of rule characters: "_____", "-", "——", "***", "===". */
static int is_rule(const char *s, size_t n)
{
    size_t i = 0, adv;
    if (n == 0)
        return 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (!(is_dash_cp(c) || c == '_' || c == '*' || c == '=' || c == 0xFF3F || c == 0x2500 ||
              c == 0x2501 || c == '~' || c == 0xFF5E || is_space_cp(c)))
            return 0;
        i += adv;
    }
    return 1;
}

/* A run of at least 5 leader dots ('.', '．', '·', '…' counts double) */
static int has_leader(const char *s, size_t n)
{
    size_t i = 0, adv, run = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (c == '.' || c == 0xFF0E || c == 0xB7 || c == 0x22EF)
            run++;
        else if (c == 0x2026)
            run += 2;
        else
            run = 0;
        if (run >= 5)
            return 1;
        i += adv;
    }
    return 0;
}

/* Parses a clause number at the start of s: "8.3.4.1", "4." (trailing dot),
 * with the rest after it. Returns 1 and fills num / *rest / *restn / *sep
 * (1 when whitespace separates number and rest, 0 when the rest follows
 * directly; -1 for a bare number). */
static int parse_num(const char *s, size_t n, struct cnum *num, const char **rest, size_t *restn,
                     int *sep)
{
    size_t i = 0;
    num->k = 0;
    for (;;) {
        size_t d = 0;
        int v = 0;
        while (i + d < n && s[i + d] >= '0' && s[i + d] <= '9' && d < 4) {
            v = v * 10 + (s[i + d] - '0');
            d++;
        }
        if (d == 0 || d > 3 || num->k >= MAXLEV)
            return 0;
        num->v[num->k++] = v;
        i += d;
        if (i + 1 < n && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
            i++;
            continue;
        }
        break;
    }
    if (num->v[0] == 0 || num->v[0] > 99)
        return 0;
    for (int j = 1; j < num->k; j++)
        if (num->v[j] == 0)
            return 0;
    int dot = 0;
    if (i < n && s[i] == '.') {
        dot = 1;
        i++;
    } else if (has_prefix(s + i, n - i, "\xEF\xBC\x8E")) { /* ．*/
        dot = 1;
        i += 3;
    }
    if (i == n) {
        *rest = s + n;
        *restn = 0;
        *sep = -1;
        return 1;
    }
    size_t sp = space_len(s + i, n - i);
    if (sp) {
        *rest = s + i + sp;
        *restn = n - i - sp;
        *sep = 1;
        return 1;
    }
    size_t adv;
    uint32_t c = u8get(s + i, n - i, &adv);
    if (is_cjk(c) && (dot || num->k >= 2)) {
        *rest = s + i;
        *restn = n - i;
        *sep = 0;
        return 1;
    }
    return 0;
}

static int toc_line(const char *s, size_t n)
{
    if (has_leader(s, n))
        return 1;
    /* text<TAB>page, text with no other tab, starting like a heading */
    size_t e = n;
    while (e > 0 && s[e - 1] >= '0' && s[e - 1] <= '9')
        e--;
    if (e == n || n - e > 3) {
        e = n;
        while (e > 0 && strchr("IVXivx", s[e - 1]))
            e--;
        if (e == n || n - e > 6)
            return 0;
    }
    size_t q = e;
    int tab = 0;
    size_t sp = 0;
    while (q > 0 && (s[q - 1] == ' ' || s[q - 1] == '\t')) {
        if (s[q - 1] == '\t')
            tab = 1;
        sp++;
        q--;
    }
    if (q == 0 || sp == 0 || memchr(s, '\t', q))
        return 0;
    if (!tab && sp < 2)
        return 0;
    struct cnum num;
    const char *r;
    size_t rn;
    int sep;
    if (parse_num(s, q, &num, &r, &rn, &sep) && sep >= 0)
        return 1;
    if (front_word(s, q) != FW_NONE || is_annex_heading(s, q))
        return 1;
    return 0;
}

/* A standard's code alone on a line: "GB/T 34077.5—2020", "DB21/ T
 * 1799.1—XXXX", "DSIA02012007". */
static int is_code_line(const char *s, size_t n)
{
    if (n < 5 || n > 48 || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    size_t i = 0, adv, upper = 0, digits = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (c >= 'A' && c <= 'Z')
            upper++;
        else if (c >= '0' && c <= '9')
            digits++;
        else if (!(c == '/' || c == '.' || c == ':' || is_space_cp(c) || is_dash_cp(c)))
            return 0;
        i += adv;
    }
    return upper >= 2 && digits >= 3;
}

/* Code with spaces collapsed and removed next to '/' and dashes. */
static char *norm_code(const char *s, size_t n)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    size_t i = 0, adv;
    int pend = 0; /* a space is pending */
    uint32_t last = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (is_space_cp(c)) {
            pend = 1;
        } else {
            if (pend && b.len && !(last == '/' || is_dash_cp(last) || c == '/' || is_dash_cp(c)))
                kb_buf_addc(&b, ' ');
            pend = 0;
            kb_buf_add(&b, s + i, adv);
            last = c;
        }
        i += adv;
    }
    return kb_buf_take(&b);
}

static int is_list_marker(const char *s, size_t n)
{
    size_t adv;
    if (n >= 2 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
        if (s[1] == ')' || has_prefix(s + 1, n - 1, "）"))
            return 1;
    }
    size_t d = 0;
    while (d < n && d < 3 && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d >= 1 && d <= 2 && d < n) {
        if (s[d] == ')' || has_prefix(s + d, n - d, "）") || has_prefix(s + d, n - d, "、"))
            return 1;
        if ((s[d] == '.' && !(d + 1 < n && s[d + 1] >= '0' && s[d + 1] <= '9')) ||
            has_prefix(s + d, n - d, "．"))
            return 1;
    }
    if (s[0] == '(' || has_prefix(s, n, "（")) {
        size_t o = s[0] == '(' ? 1 : 3, e = o;
        while (e < n && e - o < 2 && ((s[e] >= '0' && s[e] <= '9') || (s[e] >= 'a' && s[e] <= 'z')))
            e++;
        if (e > o && e < n && (s[e] == ')' || has_prefix(s + e, n - e, "）")))
            return 1;
    }
    uint32_t c = u8get(s, n, &adv);
    if (c == 0x2022 || c == 0x25CF || c == 0x25C6 || c == 0x25A0 || c == 0x25AA || c == 0x203B ||
        c == 0x2014 || c == 0x2013)
        return 1;
    if (has_prefix(s, n, "注") || has_prefix(s, n, "示例")) {
        size_t o = has_prefix(s, n, "注") ? 3 : 6;
        while (o < n && ((s[o] >= '0' && s[o] <= '9') || s[o] == ' '))
            o++;
        if (o == n || s[o] == ':' || has_prefix(s + o, n - o, "："))
            return 1;
    }
    if ((has_prefix(s, n, "表") || has_prefix(s, n, "图")) && n > 3 && s[3] >= '0' && s[3] <= '9')
        return 1;
    return 0;
}

static void classify(struct parser *P)
{
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        const char *t = L->t;
        size_t n = L->n;
        trim(&t, &n);
        if (n && t[0] == '#') {
            size_t k = 0;
            while (k < n && k < 6 && t[k] == '#')
                k++;
            if (k == n || t[k] == ' ' || t[k] == '\t' || has_prefix(t + k, n - k, "\xE3\x80\x80")) {
                L->hashes = (int)k;
                t += k;
                n -= k;
                trim(&t, &n);
            }
        }
        L->full = t;
        L->fulln = n;
        if (n == 0) {
            L->flags |= LF_BLANK;
            L->t = t;
            L->n = 0;
            continue;
        }
        if (memchr(t, '\t', n))
            L->flags |= LF_TABLE;
        else {
            int bars = 0;
            for (size_t j = 0; j < n; j++)
                bars += t[j] == '|';
            if (bars >= 2)
                L->flags |= LF_TABLE;
        }
        if (is_rule(t, n) || is_footer(t, n))
            L->flags |= LF_FURN;
        else if (all_digits(t, n) && n <= 4)
            L->flags |= LF_PAGENUM;
        else if (is_roman(t, n))
            L->flags |= LF_ROMAN;
        if (toc_line(t, n))
            L->flags |= LF_TOC;
        if (is_code_line(t, n))
            L->flags |= LF_CODE;
        if (!(L->flags & LF_TOC) && (is_annex_heading(t, n) || front_word(t, n) == FW_ANNEX))
            L->flags |= LF_ANNEX;
        if (n >= 2 && (t[0] == '-' || t[0] == '*' || has_prefix(t, n, "•")) &&
            !(L->flags & LF_FURN)) {
            size_t o = t[0] == '-' || t[0] == '*' ? 1 : 3;
            if (o < n && (t[o] == ' ' || t[o] == '\t')) {
                L->flags |= LF_BULLET;
                t += o;
                n -= o;
                trim(&t, &n);
                if ((all_digits(t, n) && n <= 4) || is_roman(t, n))
                    L->flags |= LF_FURN;
            }
        }
        L->t = t;
        L->n = n;
    }
    /* Roman numerals are page numbers unless they are part of text set one
     * character per line (a table header printed vertically). */
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        if (!(L->flags & LF_ROMAN))
            continue;
        int vertical = 0;
        for (int d = -1; d <= 1; d += 2) {
            int j = i + d;
            while (j >= 0 && j < P->nlines && (P->lines[j].flags & LF_BLANK))
                j += d;
            if (j >= 0 && j < P->nlines && kb_utf8_count(P->lines[j].t, P->lines[j].n) == 1 &&
                !(P->lines[j].flags & LF_PAGENUM))
                vertical = 1;
        }
        if (!vertical)
            L->flags |= LF_FURN;
    }
}

/* ---- pass 3: the code ------------------------------------------------------- */

#define MAX_CODE_LINES 1000

static void find_code(struct parser *P)
{
    /* normalised code of each code line (the first MAX_CODE_LINES) */
    char *codes[MAX_CODE_LINES];
    int where[MAX_CODE_LINES], early[MAX_CODE_LINES];
    int ncodes = 0, nonblank = 0;
    for (int i = 0; i < P->nlines && ncodes < MAX_CODE_LINES; i++) {
        struct line *L = &P->lines[i];
        if (!(L->flags & LF_BLANK))
            nonblank++;
        if (!(L->flags & LF_CODE) || (L->flags & LF_TOC))
            continue;
        codes[ncodes] = norm_code(L->t, L->n);
        where[ncodes] = i;
        early[ncodes] = nonblank <= 30;
        ncodes++;
    }
    /* the most repeated one wins (a running header); a lone code counts
     * only on the cover */
    int best = -1, best_score = 0;
    for (int q = 0; q < ncodes; q++) {
        int count = 0, dup = 0;
        for (int z = 0; z < ncodes; z++)
            if (!strcmp(codes[q], codes[z])) {
                count++;
                if (z < q)
                    dup = 1;
            }
        if (dup)
            continue;
        int score = count * 2 + (early[q] ? 3 : 0);
        if (score >= 3 && score > best_score) {
            best_score = score;
            best = where[q];
        }
    }
    for (int q = 0; q < ncodes; q++)
        free(codes[q]);
    if (best < 0)
        return;
    P->code = norm_code(P->lines[best].t, P->lines[best].n);
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        if (!(L->flags & LF_CODE))
            continue;
        char *d = norm_code(L->t, L->n);
        if (!strcmp(d, P->code))
            L->flags |= LF_FURN;
        free(d);
    }
    /* a bare number right next to a header line is its page number */
    for (int i = 0; i < P->nlines; i++) {
        if (!(P->lines[i].flags & LF_PAGENUM))
            continue;
        for (int d = -1; d <= 1; d += 2) {
            int j = i, seen = 0;
            while (seen < 2) {
                j += d;
                if (j < 0 || j >= P->nlines)
                    break;
                if (P->lines[j].flags & LF_BLANK)
                    continue;
                seen++;
                if ((P->lines[j].flags & (LF_CODE | LF_FURN)) == (LF_CODE | LF_FURN))
                    P->lines[i].flags |= LF_FURN;
            }
        }
    }
}

/* ---- pass 4: the table of contents ---------------------------------------- */

static void num_key(const struct cnum *n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n->k && o + 5 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? ".%d" : "%d", n->v[i]);
}

static void mark_toc(struct parser *P)
{
    for (int i = 0; i < P->nlines; i++) {
        struct line *H = &P->lines[i];
        if ((H->flags & (LF_TOC | LF_BLANK)) || front_word(H->t, H->n) != FW_TOC)
            continue;
        H->flags |= LF_TOC;
        /* keys of what the block listed: clause numbers and front words */
        char seen[256][32];
        int nseen = 0;
        int j;
        for (j = i + 1; j < P->nlines; j++) {
            struct line *L = &P->lines[j];
            if (L->flags & (LF_BLANK | LF_FURN | LF_PAGENUM | LF_ROMAN))
                continue;
            char key[32] = "";
            struct cnum num;
            const char *r;
            size_t rn;
            int sep;
            int fw = front_word(L->t, L->n);
            const char *s = L->t;
            size_t sn = L->n;
            if (L->flags & LF_TOC) { /* its number, or the word before the leader */
                size_t e = 0, adv;
                while (e < sn && s[e] != '\t' && s[e] != '.') {
                    uint32_t c = u8get(s + e, sn - e, &adv);
                    if (c == 0x2026 || c == 0xB7)
                        break;
                    e += adv;
                }
                if (parse_num(s, sn, &num, &r, &rn, &sep))
                    num_key(&num, key, sizeof key);
                else if (front_word(s, e) != FW_NONE)
                    squeeze(s, e, key, sizeof key);
            } else if (fw != FW_NONE) {
                squeeze(L->t, L->n, key, sizeof key);
            } else if (parse_num(L->t, L->n, &num, &r, &rn, &sep) && kb_utf8_count(r, rn) <= 60 &&
                       !(L->flags & LF_BULLET)) {
                num_key(&num, key, sizeof key);
            } else if (is_annex_heading(L->t, L->n)) {
                squeeze(L->t, L->n, key, sizeof key);
            } else {
                break;
            }
            if (key[0]) {
                int dup = 0;
                for (int q = 0; q < nseen; q++)
                    if (!strcmp(seen[q], key))
                        dup = 1;
                if (dup && !(L->flags & LF_TOC))
                    break;
                if (!dup && nseen < 256) {
                    memcpy(seen[nseen], key, sizeof key);
                    nseen++;
                }
            }
            L->flags |= LF_TOC;
        }
        i = j - 1;
    }
}

/* ---- pass 5: candidates ------------------------------------------------------ */

/* Does s start with a measure word, as after a number in running text
 * ("3 年内", "5 个工作日", "2 倍", "24 小时")? Words that merely start with
 * such a character ("个人信息", "年度计划", "项目管理") do not count. */
static int unit_start(const char *s, size_t n)
{
    static const char units[] = "个年月日天周次项名种位倍秒家台套岁余多小";
    static const char *const words[] = {"个人", "个体", "个性", "年度", "月度", "日常", "日志",
                                        "周期", "项目", "名称", "名词", "位置", "家庭", "台账",
                                        "多租", "多媒", "多层", "多级", "种类", "次要", "余量",
                                        "小型", "小组"};
    size_t adv, un = sizeof units - 1;
    uint32_t c = u8get(s, n, &adv);
    int hit = 0;
    for (size_t i = 0, a2; i < un && !hit; i += a2)
        hit = u8get(units + i, un - i, &a2) == c;
    if (!hit)
        return 0;
    if (c == 0x5C0F /* 小 */ && !has_prefix(s, n, "小时"))
        return 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (has_prefix(s, n, words[i]))
            return 0;
    return 1;
}

/* Does s look like a heading (short, no sentence punctuation)? */
static int heading_like(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    size_t i = 0, adv, cps = 0;
    int latin = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        int last = i + adv == n;
        if (c == 0x3002 || c == 0xFF1B || c == 0xFF0C || c == ',' || c == ';' || c == 0xFF01 ||
            c == 0xFF1F || c == '!' || c == '?')
            return 0;
        if ((c == 0xFF1A || c == ':') && !last)
            return 0;
        if (c == 0x3001 && last)
            return 0;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            latin = 1;
        cps++;
        i += adv;
    }
    return cps <= (latin ? 120u : 40u);
}

/* Can s start a heading? */
static int heading_start(const char *s, size_t n)
{
    size_t adv;
    uint32_t c = u8get(s, n, &adv);
    if (is_cjk(c))
        return 1;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    return c == 0x300A /* 《 */ || c == 0x201C || c == '(' || c == 0xFF08 || c == 0x3010;
}

/* Text that continues a cross-reference rather than a heading: "4.3.2 的规定",
 * "5 章", "6.1 中". */
static int xref_tail(const char *s, size_t n)
{
    static const char particles[] = "的中所条章节款和与或及等至到之";
    size_t adv, pn = sizeof particles - 1;
    uint32_t c = u8get(s, n, &adv);
    for (size_t i = 0, a2; i < pn; i += a2)
        if (u8get(particles + i, pn - i, &a2) == c)
            return !(c == 0x4E2D /* 中 */ && (has_prefix(s, n, "中心") || has_prefix(s, n, "中间")));
    return 0;
}

/* Appends s with whitespace runs collapsed to one space (or kept as one tab
 * when keep_tabs and the run has a tab). */
static void add_collapsed(struct kb_buf *b, const char *s, size_t n, int keep_tabs)
{
    size_t i = 0, adv;
    int pend = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (is_space_cp(c)) {
            if (c == '\t' && keep_tabs)
                pend = 2;
            else if (!pend)
                pend = 1;
        } else {
            if (pend)
                kb_buf_addc(b, pend == 2 ? '\t' : ' ');
            pend = 0;
            kb_buf_add(b, s + i, adv);
        }
        i += adv;
    }
}

static char *norm_heading(const char *s, size_t n)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    trim(&s, &n);
    add_collapsed(&b, s, n, 0);
    for (;;) {
        size_t st;
        uint32_t c = u8last(b.data, b.len, &st);
        if (b.len && (c == 0xFF1A || c == ':' || c == ' ')) {
            b.len = st;
            b.data[b.len] = '\0';
        } else {
            break;
        }
    }
    return kb_buf_take(&b);
}

/* The first phrase of an untitled clause's sentence. */
static char *derive_label(const char *s, size_t n)
{
    size_t i = 0, adv, cps = 0;
    int cut = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (c == 0xFF0C || c == 0x3002 || c == 0xFF1B || c == 0xFF1A || c == ',' || c == ';' ||
            c == ':' || c == 0xFF01 || c == 0xFF1F || c == '!' || c == '?' || c == 0xFF08 ||
            c == '(')
            break;
        if (cps == LABEL_MAX) {
            cut = 1;
            break;
        }
        cps++;
        i += adv;
    }
    char *h = norm_heading(s, i);
    if (cut) {
        size_t m = strlen(h);
        h = kb_xrealloc(h, m + 4);
        memcpy(h + m, "…", 4);
    }
    return h;
}

/* Index of the next line at or after i that is neither blank nor furniture
 * nor TOC, or -1. */
static int next_content(const struct parser *P, int i)
{
    for (; i < P->nlines; i++) {
        unsigned f = P->lines[i].flags;
        if (f & (LF_BLANK | LF_FURN | LF_TOC))
            continue;
        return i;
    }
    return -1;
}

static int looks_numbered(const struct line *L)
{
    struct cnum num;
    const char *r;
    size_t rn;
    int sep;
    return parse_num(L->t, L->n, &num, &r, &rn, &sep);
}

static void add_cand(struct parser *P, const struct cand *c)
{
    if (P->ncands == P->capcands) {
        P->capcands = P->capcands ? P->capcands * 2 : 64;
        P->cands = kb_xrealloc(P->cands, (size_t)P->capcands * sizeof *P->cands);
    }
    P->cands[P->ncands++] = *c;
}

static void find_cands(struct parser *P)
{
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        L->cand = -1;
        if (L->flags & (LF_BLANK | LF_FURN | LF_TOC | LF_BULLET | LF_ANNEX))
            continue;
        struct cand c;
        memset(&c, 0, sizeof c);
        const char *r;
        size_t rn;
        int sep;
        if (!parse_num(L->t, L->n, &c.num, &r, &rn, &sep))
            continue;
        c.line = i;
        c.prev = -1;
        c.body_from = i + 1;
        if (sep < 0) { /* bare number: the heading may be on the next line */
            int j = next_content(P, i + 1);
            const struct line *M = j >= 0 ? &P->lines[j] : NULL;
            int usable = M && !(M->flags & (LF_BULLET | LF_ANNEX | LF_PAGENUM | LF_TABLE | LF_CODE)) &&
                         !looks_numbered(M) && !is_list_marker(M->t, M->n) &&
                         front_word(M->t, M->n) == FW_NONE && heading_start(M->t, M->n);
            if (usable && heading_like(M->t, M->n)) {
                c.heading = norm_heading(M->t, M->n);
                c.body_from = j + 1;
                c.weight = 10;
            } else if (usable && c.num.k >= 2) {
                c.heading = derive_label(M->t, M->n);
                c.body_from = j;
                c.weight = 7;
            } else if (c.num.k >= 2 && !(L->flags & LF_PAGENUM)) {
                c.heading = kb_xstrdup("");
                c.weight = 4;
            } else {
                continue;
            }
        } else {
            if (!heading_start(r, rn) || xref_tail(r, rn))
                continue;
            if (heading_like(r, rn)) {
                c.heading = norm_heading(r, rn);
                c.weight = sep ? 10 : 8;
            } else if (c.num.k >= 2 && sep) { /* "4.3.2的规定执行。": a cross-reference */
                c.heading = derive_label(r, rn);
                c.rest = r;
                c.restn = rn;
                c.weight = sep ? 8 : 6;
            } else {
                continue;
            }
        }
        if (L->hashes)
            c.weight += 3;
        if (sep >= 0 && unit_start(r, rn)) { /* "5 个工作日内完成" */
            if (c.num.k == 1) {
                free(c.heading);
                continue;
            }
            c.weight -= 3;
        }
        /* right after a wrapped line that stops mid-sentence: more likely
         * the sentence going on ("...不超过" / "3 个工作日") */
        for (int j = i - 1; j >= 0; j--) {
            const struct line *Q = &P->lines[j];
            if (Q->flags & (LF_BLANK | LF_FURN | LF_TOC | LF_PAGENUM))
                continue;
            size_t st;
            uint32_t e = u8last(Q->t, Q->n, &st);
            if (Q->cand < 0 && is_cjk(e) && kb_utf8_count(Q->t, Q->n) >= 30)
                c.weight -= 3;
            break;
        }
        L->cand = P->ncands;
        if (!c.rest && sep >= 0)
            L->flags |= LF_HEADLIKE;
        add_cand(P, &c);
    }
    /* A heading directly followed by another heading that is not its first
     * child has no text of its own: typical of a table of contents. */
    for (int i = 0; i < P->ncands; i++) {
        struct cand *c = &P->cands[i];
        if (c->rest)
            continue;
        int j = next_content(P, c->body_from);
        if (j < 0 || P->lines[j].cand < 0)
            continue;
        const struct cnum *a = &c->num, *b = &P->cands[P->lines[j].cand].num;
        int child = b->k == a->k + 1;
        for (int q = 0; child && q < a->k; q++)
            child = a->v[q] == b->v[q];
        if (!child)
            c->weight -= 3;
    }
}

/* ---- pass 6: the chain ------------------------------------------------------ */

/* 0: b plausibly follows a; 1: follows it with one heading missing; -1: no. */
static int follows(const struct cnum *a, const struct cnum *b)
{
    int p = 0;
    while (p < a->k && p < b->k && a->v[p] == b->v[p])
        p++;
    if (p == a->k) { /* b is below a */
        if (b->k == a->k + 1 && b->v[p] == 1)
            return 0;
        if (b->k == a->k + 1 && b->v[p] == 2)
            return 1;
        if (b->k == a->k + 2 && b->v[p] == 1 && b->v[p + 1] == 1)
            return 1;
        return -1;
    }
    if (p == b->k) /* b is an ancestor of a, or a itself */
        return -1;
    int step = b->v[p] - a->v[p];
    for (int q = p + 1; q < b->k; q++)
        if (b->v[q] != 1)
            return -1;
    if (step == 1 && b->k == p + 1)
        return 0;
    if (step == 1 && b->k == p + 2)
        return 1;
    if (step == 2 && b->k == p + 1)
        return 1;
    return -1;
}

#define GAP_PENALTY 6
#define START_PENALTY 12

/* Returns the index of the last candidate of the best chain, or -1. */
static int best_chain(struct parser *P)
{
    int best = -1;
    for (int i = 0; i < P->ncands; i++) {
        struct cand *c = &P->cands[i];
        int first = c->num.k == 1 && c->num.v[0] == 1;
        int score = first ? 0 : -START_PENALTY;
        int prev = -1;
        int lo = i > DP_WINDOW ? i - DP_WINDOW : 0;
        for (int j = i - 1; j >= lo; j--) {
            int f = follows(&P->cands[j].num, &c->num);
            if (f < 0)
                continue;
            int s = P->cands[j].score - (f ? GAP_PENALTY : 0);
            if (s > score) { /* strictly better: ties keep the later one */
                score = s;
                prev = j;
            }
        }
        c->score = score + c->weight;
        c->prev = prev;
        if (best < 0 || c->score >= P->cands[best].score)
            best = i;
    }
    if (best >= 0 && P->cands[best].score <= 0)
        return -1;
    return best;
}

/* ---- pass 7: title, bodies, documents --------------------------------------- */

static int title_like(const struct line *L)
{
    if (L->flags & (LF_BLANK | LF_FURN | LF_TOC | LF_BULLET | LF_PAGENUM | LF_CODE | LF_TABLE))
        return 0;
    const char *s = L->t;
    size_t n = L->n;
    if (kb_utf8_count(s, n) > 60 || looks_numbered(L) || is_list_marker(s, n) ||
        front_word(s, n) != FW_NONE)
        return 0;
    static const char *const bad[] = {"。", "；", "，", ",", ";", "本标准", "本规范", "本部分",
                                      "本文件", "起草", "归口"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t m = strlen(bad[i]);
        for (size_t j = 0; j + m <= n; j++)
            if (!memcmp(s + j, bad[i], m))
                return 0;
    }
    size_t st;
    uint32_t last = u8last(s, n, &st);
    if (last == 0xFF1A || last == ':')
        return 0;
    size_t adv, i = 0;
    while (i < n) {
        uint32_t c = u8get(s + i, n - i, &adv);
        if (is_cjk(c))
            return 1;
        i += adv;
    }
    return 0;
}

/* "中华人民共和国国家标准", "大  连  软  件  行  业  规  范": not a title. */
static int category_line(const struct line *L)
{
    char sq[256];
    size_t m = squeeze(L->t, L->n, sq, sizeof sq);
    if (m >= sizeof sq)
        return 0;
    if (strstr(sq, "中华人民共和国"))
        return 1;
    static const char *const ends[] = {"国家标准", "地方标准", "行业标准", "团体标准",
                                       "企业标准", "行业规范", "征求意见稿", "送审稿", "报批稿"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t e = strlen(ends[i]);
        if (m >= e && strstr(sq, ends[i]))
            return 1;
    }
    return 0;
}

static char *norm_title(const char *s, size_t n)
{
    struct kb_buf a, b;
    kb_buf_init(&a);
    kb_buf_init(&b);
    kb_buf_add(&a, "", 0);
    kb_buf_add(&b, "", 0);
    add_collapsed(&a, s, n, 0);
    size_t i = 0, adv;
    uint32_t prev = 0;
    while (i < a.len) {
        uint32_t c = u8get(a.data + i, a.len - i, &adv);
        if (c == ' ') {
            size_t adv2;
            uint32_t next = i + 1 < a.len ? u8get(a.data + i + 1, a.len - i - 1, &adv2) : 0;
            int digit_p = prev >= '0' && prev <= '9', digit_n = next >= '0' && next <= '9';
            if (is_fwpunct(prev) || is_fwpunct(next) || (is_cjk(prev) && digit_n) ||
                (digit_p && is_cjk(next))) {
                i += adv;
                continue;
            }
        }
        kb_buf_add(&b, a.data + i, adv);
        prev = c;
        i += adv;
    }
    kb_buf_fin(&a);
    return kb_buf_take(&b);
}

static void find_title(struct parser *P, int first_line)
{
    int got[3], ngot = 0;
    for (int i = first_line - 1; i >= 0 && ngot < 3; i--) {
        const struct line *L = &P->lines[i];
        if (L->flags & LF_BLANK)
            continue;
        if (!title_like(L) || category_line(L))
            break;
        got[ngot++] = i;
    }
    if (ngot == 0) { /* the cover: a markdown title first, else the first title line */
        int pick = -1;
        for (int i = 0; i < first_line && pick < 0; i++)
            if (P->lines[i].hashes == 1 && title_like(&P->lines[i]) && !category_line(&P->lines[i]))
                pick = i;
        for (int i = 0; i < first_line && pick < 0; i++) {
            const struct line *L = &P->lines[i];
            if (front_word(L->t, L->n) != FW_NONE)
                break;
            if (title_like(L) && !category_line(L))
                pick = i;
        }
        if (pick >= 0)
            got[ngot++] = pick;
    }
    if (ngot == 0)
        return;
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    for (int q = ngot - 1; q >= 0; q--) {
        const struct line *L = &P->lines[got[q]];
        if (b.len)
            kb_buf_addc(&b, ' ');
        kb_buf_add(&b, L->t, L->n);
        if (P->ntitle_parts < 4)
            P->title_parts[P->ntitle_parts++] = norm_title(L->t, L->n);
    }
    P->title = norm_title(b.data, b.len);
    kb_buf_fin(&b);
}

/* Running title lines in the main text are furniture. */
static void mark_title_lines(struct parser *P, int from)
{
    if (!P->title)
        return;
    char want[4][512];
    int nw = 0;
    size_t m = squeeze(P->title, strlen(P->title), want[nw], sizeof want[0]);
    if (m < sizeof want[0] && kb_utf8_count(want[nw], m) >= 4)
        nw++;
    for (int q = 0; q < P->ntitle_parts && nw < 4; q++) {
        m = squeeze(P->title_parts[q], strlen(P->title_parts[q]), want[nw], sizeof want[0]);
        if (m < sizeof want[0] && kb_utf8_count(want[nw], m) >= 4)
            nw++;
    }
    for (int i = from; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        if ((L->flags & (LF_BLANK | LF_FURN)) || L->n > 600 || L->cand >= 0)
            continue;
        char sq[512];
        m = squeeze(L->full, L->fulln, sq, sizeof sq);
        if (m >= sizeof sq)
            continue;
        for (int q = 0; q < nw; q++)
            if (!strcmp(sq, want[q]))
                L->flags |= LF_FURN;
    }
}

static int ends_sentence(const char *s, size_t n)
{
    size_t st;
    uint32_t c = u8last(s, n, &st);
    /* look through closing quotes and brackets */
    while (n && (c == 0x201D || c == 0x2019 || c == 0xFF09 || c == ')' || c == 0x300D ||
                 c == 0x300F || c == '"')) {
        n = st;
        c = u8last(s, n, &st);
    }
    if (c == 0x3002 || c == 0xFF1B || c == 0xFF1A || c == 0xFF01 || c == 0xFF1F || c == '!' ||
        c == '?' || c == ';')
        return 1;
    if (c == ':' || c == '.') { /* ASCII punctuation used in Chinese text: "如下:" */
        uint32_t b = u8last(s, st, &st);
        return is_cjk(b) || is_fwpunct(b);
    }
    return 0;
}

/* A reference entry: "GB/T 29264—2012 ...", "ISO/IEC9000: 2000", "DB21/T
 * 1793 ...", "GBT22080 ...", or a line that is only a 《title》. */
static int reference_start(const char *s, size_t n)
{
    size_t i = 0, upper = 0, digits = 0;
    int slash = 0;
    while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9' && upper) ||
                     (s[i] == '/' && upper && !slash))) {
        upper += s[i] >= 'A' && s[i] <= 'Z';
        digits += s[i] >= '0' && s[i] <= '9';
        slash |= s[i] == '/';
        i++;
    }
    if (upper >= 2 && digits >= 3) /* "GBT22080", "ISO/IEC9000" */
        return 1;
    if (upper >= 2 && slash && i + 1 < n && s[i] == ' ' && s[i + 1] >= '0' && s[i + 1] <= '9')
        return 1; /* "GB/T 29264", "T/DSIA 0101" */
    return has_prefix(s, n, "《") && n >= 3 && memcmp(s + n - 3, "》", 3) == 0;
}

struct body {
    struct kb_buf b;
    int last_table;
    int last_ref; /* the current line started as a reference entry */
    int last_head; /* the current line is a heading-like numbered line */
};

static void body_piece(struct body *B, const char *s, size_t n, unsigned flags)
{
    trim(&s, &n);
    if (n == 0)
        return;
    int table = (flags & LF_TABLE) != 0;
    int ref = reference_start(s, n);
    int caps = n >= 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
    int brk = B->b.len == 0 || table || B->last_table || B->last_head || is_list_marker(s, n) ||
              ref || (B->last_ref && caps) || ends_sentence(B->b.data, B->b.len);
    /* a lone number or Roman numeral on a line of its own is a page number;
     * inside running text (a vertical "I" / "T") it is kept */
    if (brk && ((all_digits(s, n) && n <= 4) || is_roman(s, n)))
        return;
    if (B->b.len == 0) {
        B->last_ref = ref;
    } else if (brk) {
        kb_buf_addc(&B->b, '\n');
        B->last_ref = ref || (B->last_ref && caps);
    } else { /* a broken line: join, with a space only between Latin */
        unsigned char l = (unsigned char)B->b.data[B->b.len - 1];
        unsigned char f = (unsigned char)s[0];
        if (l > ' ' && l < 0x7F && f > ' ' && f < 0x7F)
            kb_buf_addc(&B->b, ' ');
    }
    add_collapsed(&B->b, s, n, table);
    B->last_table = table;
    B->last_head = (flags & LF_HEADLIKE) != 0;
}

static char *make_body(const struct parser *P, const struct cand *c, int end)
{
    struct body B;
    kb_buf_init(&B.b);
    kb_buf_add(&B.b, "", 0);
    B.last_table = 0;
    B.last_ref = 0;
    B.last_head = 0;
    if (c->rest)
        body_piece(&B, c->rest, c->restn, P->lines[c->line].flags);
    for (int i = c->body_from; i < end && i < P->nlines; i++) {
        const struct line *L = &P->lines[i];
        if (L->flags & (LF_BLANK | LF_FURN | LF_TOC | LF_PAGENUM))
            continue;
        body_piece(&B, L->t, L->n, L->flags);
    }
    return kb_buf_take(&B.b);
}

/* Lower-case ASCII slug of the code; a placeholder year ("—XXXX") is left
 * out. Empty when there is no code. */
static char *code_slug(const char *code, const char *source)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    if (code) {
        size_t n = strlen(code), i = 0, adv;
        while (i < n) {
            uint32_t c = u8get(code + i, n - i, &adv);
            if (is_dash_cp(c)) {
                /* a placeholder year: dash, then only X's to the end */
                size_t j = i + adv;
                while (j < n && (code[j] == 'X' || code[j] == 'x' || code[j] == ' '))
                    j++;
                if (j == n && j > i + adv)
                    break;
                kb_buf_addc(&b, '-');
            } else if (c >= 'A' && c <= 'Z') {
                kb_buf_addc(&b, (char)(c - 'A' + 'a'));
            } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.') {
                kb_buf_addc(&b, (char)c);
            }
            i += adv;
        }
    }
    if (b.len == 0) {
        const char *base = source ? strrchr(source, '/') : NULL;
        base = base ? base + 1 : (source ? source : "");
        kb_buf_addc(&b, 's');
        for (int k = 0; k < 3 && base[k]; k++) {
            char ch = base[k];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
                kb_buf_addc(&b, ch);
        }
    }
    return kb_buf_take(&b);
}

static void parser_fin(struct parser *P)
{
    for (int i = 0; i < P->ncands; i++)
        free(P->cands[i].heading);
    free(P->cands);
    free(P->lines);
    free(P->code);
    free(P->title);
    for (int i = 0; i < P->ntitle_parts; i++)
        free(P->title_parts[i]);
    kb_buf_fin(&P->clean);
}

/* A clause whose own text is empty (a heading whose content is all in its
 * sub-clauses, like 7.8 服务台 over 7.8.1 and 7.8.2) gets as body the text of
 * its direct sub-clauses, each under its title line, so the document reads as
 * the section (deeper levels are left to their own documents). */
static void fill_section_bodies(struct kb_doc **docs, int n)
{
    for (int i = 0; i < n; i++) {
        if (docs[i]->body && docs[i]->body[0])
            continue;
        size_t plen = strlen(docs[i]->clause);
        struct kb_buf b;
        kb_buf_init(&b);
        for (int j = i + 1; j < n; j++) {
            const char *c = docs[j]->clause;
            if (strncmp(c, docs[i]->clause, plen) != 0 || c[plen] != '.')
                break;
            if (strchr(c + plen + 1, '.'))
                continue; /* a grandchild */
            if (b.len)
                kb_buf_addc(&b, '\n');
            kb_buf_adds(&b, docs[j]->title);
            if (docs[j]->body && docs[j]->body[0]) {
                kb_buf_addc(&b, '\n');
                kb_buf_adds(&b, docs[j]->body);
            }
        }
        if (b.len) {
            free(docs[i]->body);
            docs[i]->body = kb_buf_take(&b);
            docs[i]->body_composed = 1;
        }
        kb_buf_fin(&b);
    }
}

int kb_std_parse(const char *text, size_t len, const char *source, kb_std_cb cb, void *ud,
                 char *err, size_t errlen)
{
    const char *src = source ? source : "";
    if (!text && len) {
        kb_seterr(err, errlen, "[std] %s: no text", src);
        return -1;
    }
    if (len > KB_STD_MAX_TEXT) {
        kb_seterr(err, errlen, "[std] %s: text too large", src);
        return -1;
    }
    struct parser P;
    memset(&P, 0, sizeof P);
    kb_buf_init(&P.clean);
    sanitise(text ? text : "", len, &P.clean);

    /* split */
    size_t nl = 1;
    for (size_t i = 0; i < P.clean.len; i++)
        nl += P.clean.data[i] == '\n';
    P.lines = kb_xcalloc(nl, sizeof *P.lines);
    {
        const char *p = P.clean.data, *end = P.clean.data + P.clean.len;
        int k = 0;
        for (;;) {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            if (!e)
                e = end;
            P.lines[k].t = p;
            P.lines[k].n = (size_t)(e - p);
            P.lines[k].lineno = k + 1;
            P.lines[k].cand = -1;
            k++;
            if (e == end)
                break;
            p = e + 1;
        }
        P.nlines = k;
    }

    classify(&P);
    find_code(&P);
    mark_toc(&P);
    find_cands(&P);
    int last = best_chain(&P);
    if (last < 0) {
        kb_seterr(err, errlen, "[std] %s: no numbered clause found", src);
        parser_fin(&P);
        return -1;
    }

    /* the chain, first to last */
    int nchain = 0;
    for (int i = last; i >= 0; i = P.cands[i].prev)
        nchain++;
    int *chain = kb_xmalloc((size_t)nchain * sizeof *chain);
    {
        int k = nchain;
        for (int i = last; i >= 0; i = P.cands[i].prev)
            chain[--k] = i;
    }
    /* the main text ends at the first annex / bibliography heading after
     * clause 1 (a TOC's "附录 A" line does not count) */
    int text_end = P.nlines;
    for (int i = P.cands[chain[0]].line + 1; i < P.nlines; i++)
        if ((P.lines[i].flags & LF_ANNEX) && !(P.lines[i].flags & LF_TOC)) {
            text_end = i;
            break;
        }
    while (nchain > 1 && P.cands[chain[nchain - 1]].line >= text_end)
        nchain--;

    find_title(&P, P.cands[chain[0]].line);
    mark_title_lines(&P, P.cands[chain[0]].line);
    char *slug = code_slug(P.code, src);

    /* ancestors: titles of the open clauses */
    int stack[MAXLEV + 1], depth = 0;
    char **titles = kb_xcalloc((size_t)nchain, sizeof *titles);
    struct kb_doc **docs = kb_xcalloc(nchain > 0 ? (size_t)nchain : 1, sizeof *docs);
    int rc = 0;
    for (int q = 0; q < nchain; q++) {
        struct cand *c = &P.cands[chain[q]];
        char key[64];
        num_key(&c->num, key, sizeof key);
        struct kb_buf t;
        kb_buf_init(&t);
        kb_buf_adds(&t, key);
        if (c->heading[0]) {
            kb_buf_addc(&t, ' ');
            kb_buf_adds(&t, c->heading);
        }
        titles[q] = kb_buf_take(&t);

        while (depth > 0) {
            const struct cnum *a = &P.cands[chain[stack[depth - 1]]].num;
            int anc = a->k < c->num.k;
            for (int z = 0; anc && z < a->k; z++)
                anc = a->v[z] == c->num.v[z];
            if (anc)
                break;
            depth--;
        }
        struct kb_buf path;
        kb_buf_init(&path);
        kb_buf_add(&path, "", 0);
        for (int z = 0; z < depth; z++) {
            if (z)
                kb_buf_adds(&path, " > ");
            kb_buf_adds(&path, titles[stack[z]]);
        }
        if (depth < MAXLEV)
            stack[depth++] = q;

        int end = q + 1 < nchain ? P.cands[chain[q + 1]].line : text_end;
        struct kb_doc *d = kb_doc_new(KB_KIND_STANDARD);
        d->clause = kb_xstrdup(key);
        d->heading = kb_xstrdup(c->heading);
        d->title = kb_xstrdup(titles[q]);
        d->path = kb_buf_take(&path);
        d->body = make_body(&P, c, end);
        d->std_code = kb_xstrdup(P.code ? P.code : "");
        d->std_title = kb_xstrdup(P.title ? P.title : "");
        d->visibility = kb_xstrdup("public");
        d->source = kb_xstrdup(src);
        d->source_line = P.lines[c->line].lineno;
        struct kb_buf id;
        kb_buf_init(&id);
        kb_buf_printf(&id, "std-%s:%s", slug, key);
        d->id = kb_buf_take(&id);
        docs[q] = d;
    }
    fill_section_bodies(docs, nchain);
    for (int q = 0; q < nchain; q++) {
        if (cb && rc == 0) {
            rc = cb(ud, docs[q]);
        } else {
            kb_doc_free(docs[q]);
        }
    }
    free(docs);
    for (int q = 0; q < nchain; q++)
        free(titles[q]);
    free(titles);
    free(slug);
    free(chain);
    parser_fin(&P);
    return rc;
}
