/* kb_stdparse_line: the first passes of the standards parser (see
 * kb_stdparse_int.h): the text sanitised (valid UTF-8, no NULs) and split,
 * and each line classified: blank, page furniture (footers, rules, page
 * numbers), table-of-contents entry, list bullet, table row, a standard's
 * code on its own, annex heading; and the clause numbers (1.2.3) read at
 * the start of a line. */
#include "kb_stdparse_int.h"

/* ---- pass 1: stp_sanitise and split ------------------------------------------- */

void stp_sanitise(const char *in, size_t len, struct kb_buf *out)
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
void stp_trim(const char **s, size_t *n)
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
size_t stp_squeeze(const char *s, size_t n, char *out, size_t cap)
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


/* Front-matter and back-matter words that head a block of their own. */
int stp_front_word(const char *s, size_t n)
{
    char sq[64];
    size_t m = stp_squeeze(s, n, sq, sizeof sq);
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
int stp_is_annex_heading(const char *s, size_t n)
{
    char sq[256];
    size_t m = stp_squeeze(s, n, sq, sizeof sq);
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
int stp_is_roman(const char *s, size_t n)
{
    if (n == 0 || n > 6)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("IVXivx", s[i]))
            return 0;
    return 1;
}

int stp_all_digits(const char *s, size_t n)
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
 * (1 when whitespace separates number and rest, 0 when the rest stp_follows
 * directly; -1 for a bare number). */
int stp_parse_num(const char *s, size_t n, struct cnum *num, const char **rest, size_t *restn,
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
    if (stp_parse_num(s, q, &num, &r, &rn, &sep) && sep >= 0)
        return 1;
    if (stp_front_word(s, q) != FW_NONE || stp_is_annex_heading(s, q))
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
char *stp_norm_code(const char *s, size_t n)
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

int stp_is_list_marker(const char *s, size_t n)
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

void stp_classify(struct parser *P)
{
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        const char *t = L->t;
        size_t n = L->n;
        stp_trim(&t, &n);
        if (n && t[0] == '#') {
            size_t k = 0;
            while (k < n && k < 6 && t[k] == '#')
                k++;
            if (k == n || t[k] == ' ' || t[k] == '\t' || has_prefix(t + k, n - k, "\xE3\x80\x80")) {
                L->hashes = (int)k;
                t += k;
                n -= k;
                stp_trim(&t, &n);
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
        else if (stp_all_digits(t, n) && n <= 4)
            L->flags |= LF_PAGENUM;
        else if (stp_is_roman(t, n))
            L->flags |= LF_ROMAN;
        if (toc_line(t, n))
            L->flags |= LF_TOC;
        if (is_code_line(t, n))
            L->flags |= LF_CODE;
        if (!(L->flags & LF_TOC) && (stp_is_annex_heading(t, n) || stp_front_word(t, n) == FW_ANNEX))
            L->flags |= LF_ANNEX;
        if (n >= 2 && (t[0] == '-' || t[0] == '*' || has_prefix(t, n, "•")) &&
            !(L->flags & LF_FURN)) {
            size_t o = t[0] == '-' || t[0] == '*' ? 1 : 3;
            if (o < n && (t[o] == ' ' || t[o] == '\t')) {
                L->flags |= LF_BULLET;
                t += o;
                n -= o;
                stp_trim(&t, &n);
                if ((stp_all_digits(t, n) && n <= 4) || stp_is_roman(t, n))
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

