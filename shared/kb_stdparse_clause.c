/* kb_stdparse_clause: the middle passes of the standards parser (see
 * kb_stdparse_int.h): the standard's code found and its repeated header
 * lines dropped, the block under a 目次 heading marked as table of
 * contents, clause-number candidates collected with a weight for how much
 * they look like a real heading (headings normalised or derived), and the
 * best chain of candidates whose numbers follow each other kept (dynamic
 * programming over the candidates). */
#include "kb_stdparse_int.h"

/* ---- pass 3: the code ------------------------------------------------------- */

#define MAX_CODE_LINES 1000

void stp_find_code(struct parser *P)
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
        codes[ncodes] = stp_norm_code(L->t, L->n);
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
    P->code = stp_norm_code(P->lines[best].t, P->lines[best].n);
    for (int i = 0; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        if (!(L->flags & LF_CODE))
            continue;
        char *d = stp_norm_code(L->t, L->n);
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

void stp_num_key(const struct cnum *n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < n->k && o + 5 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, i ? ".%d" : "%d", n->v[i]);
}

void stp_mark_toc(struct parser *P)
{
    for (int i = 0; i < P->nlines; i++) {
        struct line *H = &P->lines[i];
        if ((H->flags & (LF_TOC | LF_BLANK)) || stp_front_word(H->t, H->n) != FW_TOC)
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
            int fw = stp_front_word(L->t, L->n);
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
                if (stp_parse_num(s, sn, &num, &r, &rn, &sep))
                    stp_num_key(&num, key, sizeof key);
                else if (stp_front_word(s, e) != FW_NONE)
                    stp_squeeze(s, e, key, sizeof key);
            } else if (fw != FW_NONE) {
                stp_squeeze(L->t, L->n, key, sizeof key);
            } else if (stp_parse_num(L->t, L->n, &num, &r, &rn, &sep) && kb_utf8_count(r, rn) <= 60 &&
                       !(L->flags & LF_BULLET)) {
                stp_num_key(&num, key, sizeof key);
            } else if (stp_is_annex_heading(L->t, L->n)) {
                stp_squeeze(L->t, L->n, key, sizeof key);
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
void stp_add_collapsed(struct kb_buf *b, const char *s, size_t n, int keep_tabs)
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
    stp_trim(&s, &n);
    stp_add_collapsed(&b, s, n, 0);
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

int stp_looks_numbered(const struct line *L)
{
    struct cnum num;
    const char *r;
    size_t rn;
    int sep;
    return stp_parse_num(L->t, L->n, &num, &r, &rn, &sep);
}

static void add_cand(struct parser *P, const struct cand *c)
{
    if (P->ncands == P->capcands) {
        P->capcands = P->capcands ? P->capcands * 2 : 64;
        P->cands = kb_xrealloc(P->cands, (size_t)P->capcands * sizeof *P->cands);
    }
    P->cands[P->ncands++] = *c;
}

void stp_find_cands(struct parser *P)
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
        if (!stp_parse_num(L->t, L->n, &c.num, &r, &rn, &sep))
            continue;
        c.line = i;
        c.prev = -1;
        c.body_from = i + 1;
        if (sep < 0) { /* bare number: the heading may be on the next line */
            int j = next_content(P, i + 1);
            const struct line *M = j >= 0 ? &P->lines[j] : NULL;
            int usable = M && !(M->flags & (LF_BULLET | LF_ANNEX | LF_PAGENUM | LF_TABLE | LF_CODE)) &&
                         !stp_looks_numbered(M) && !stp_is_list_marker(M->t, M->n) &&
                         stp_front_word(M->t, M->n) == FW_NONE && heading_start(M->t, M->n);
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

/* 0: b plausibly stp_follows a; 1: stp_follows it with one heading missing; -1: no. */
int stp_follows(const struct cnum *a, const struct cnum *b)
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
int stp_best_chain(struct parser *P)
{
    int best = -1;
    for (int i = 0; i < P->ncands; i++) {
        struct cand *c = &P->cands[i];
        int first = c->num.k == 1 && c->num.v[0] == 1;
        int score = first ? 0 : -START_PENALTY;
        int prev = -1;
        int lo = i > DP_WINDOW ? i - DP_WINDOW : 0;
        for (int j = i - 1; j >= lo; j--) {
            int f = stp_follows(&P->cands[j].num, &c->num);
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

