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
 *   7. find the title, then build and hand out the documents.
 *
 * Passes 1-2 are in kb_stdparse_line.c, 3-6 in kb_stdparse_clause.c; this
 * file holds pass 7 (the title, the bodies, the documents) and the driver,
 * kb_std_parse. */
#include "kb_stdparse_int.h"

/* ---- pass 7: title, bodies, documents --------------------------------------- */

static int title_like(const struct line *L)
{
    if (L->flags & (LF_BLANK | LF_FURN | LF_TOC | LF_BULLET | LF_PAGENUM | LF_CODE | LF_TABLE))
        return 0;
    const char *s = L->t;
    size_t n = L->n;
    if (kb_utf8_count(s, n) > 60 || stp_looks_numbered(L) || stp_is_list_marker(s, n) ||
        stp_front_word(s, n) != FW_NONE)
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
    size_t m = stp_squeeze(L->t, L->n, sq, sizeof sq);
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
    stp_add_collapsed(&a, s, n, 0);
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
            if (stp_front_word(L->t, L->n) != FW_NONE)
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
    size_t m = stp_squeeze(P->title, strlen(P->title), want[nw], sizeof want[0]);
    if (m < sizeof want[0] && kb_utf8_count(want[nw], m) >= 4)
        nw++;
    for (int q = 0; q < P->ntitle_parts && nw < 4; q++) {
        m = stp_squeeze(P->title_parts[q], strlen(P->title_parts[q]), want[nw], sizeof want[0]);
        if (m < sizeof want[0] && kb_utf8_count(want[nw], m) >= 4)
            nw++;
    }
    for (int i = from; i < P->nlines; i++) {
        struct line *L = &P->lines[i];
        if ((L->flags & (LF_BLANK | LF_FURN)) || L->n > 600 || L->cand >= 0)
            continue;
        char sq[512];
        m = stp_squeeze(L->full, L->fulln, sq, sizeof sq);
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
    stp_trim(&s, &n);
    if (n == 0)
        return;
    int table = (flags & LF_TABLE) != 0;
    int ref = reference_start(s, n);
    int caps = n >= 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
    int brk = B->b.len == 0 || table || B->last_table || B->last_head || stp_is_list_marker(s, n) ||
              ref || (B->last_ref && caps) || ends_sentence(B->b.data, B->b.len);
    /* a lone number or Roman numeral on a line of its own is a page number;
     * inside running text (a vertical "I" / "T") it is kept */
    if (brk && ((stp_all_digits(s, n) && n <= 4) || stp_is_roman(s, n)))
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
    stp_add_collapsed(&B->b, s, n, table);
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
    stp_sanitise(text ? text : "", len, &P.clean);

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

    stp_classify(&P);
    stp_find_code(&P);
    stp_mark_toc(&P);
    stp_find_cands(&P);
    int last = stp_best_chain(&P);
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
        stp_num_key(&c->num, key, sizeof key);
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

