/* kb_search_snippet: the snippet of a hit. The query's highlight terms are
 * prepared once per search. Each field's first chunk is looked up term by
 * term in the index of the stored snippet source (kb_snipsrc.h) when the
 * index has one; other text is scanned in chunks (Latin terms looked up per
 * token, CJK ones found as substrings of a CJK run, so a hit's text is
 * never segmented by ICU). The window with the most distinct query terms
 * wins, and the text is HTML-escaped with the matches in <mark>. */
#include "kb_search_int.h"
#include "kb_snipsrc.h"
#include "kb_tok.h"
#include "kb_utf8.h"

#include <stdlib.h>
#include <string.h>

/* ---- snippets ------------------------------------------------------------------- */

struct span {
    size_t start, end; /* original byte offsets */
    uint64_t th;       /* hash of the term, to count each term once */
    double w;
};

/* The bucket of the character at s[0] (avail >= 1 bytes left): its bytes,
 * hashed, so that a run is scanned without decoding it. */
static unsigned hl_bucket(const char *s, size_t avail, size_t *clen)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = kb_utf8_seqlen(u[0]);
    if (n > avail)
        n = avail;
    uint32_t v = u[0];
    for (size_t k = 1; k < n; k++)
        v = v << 8 | u[k];
    *clen = n;
    return (v * 2654435761u) >> 24; /* 256 buckets: the top 8 bits */
}

/* The filter bit of a term or token s[0, len) (len >= 1). */
static unsigned hl_latin_bit(const char *s, size_t len)
{
    unsigned a = (unsigned char)s[0], b = len > 1 ? (unsigned char)s[1] : 0;
    return (a * 67u + b) & (HL_LATIN - 1);
}

void kbs_hl_match_init(struct hl_match *hm, kb_map *hl)
{
    memset(hm, 0, sizeof *hm);
    hm->hl = hl;
    for (size_t b = 0; b < HL_BUCKETS; b++)
        hm->bucket[b] = -1;
    hm->v = kb_xmalloc((kb_map_count(hl) ? kb_map_count(hl) : 1) * sizeof *hm->v);
    size_t it = 0;
    const char *key;
    void *val;
    while (kb_map_next(hl, &it, &key, &val)) {
        size_t i = 0, len = strlen(key);
        int32_t first = kb_utf8_next(key, len, &i);
        struct hl_term *t = &hm->v[hm->n];
        t->s = key;
        t->len = len;
        t->th = kb_hash64(key, len);
        t->w = (double)((intptr_t)val - 1) / 1000.0;
        t->cjk = kb_tok_is_cjk(first);
        t->next = -1;
        if (!t->cjk) {
            unsigned bit = hl_latin_bit(key, len);
            hm->latin[bit / 8] |= (uint8_t)(1u << (bit % 8));
            if (key[0] == 'Z' && len > 1) {
                unsigned char z = (unsigned char)key[1];
                hm->zfirst[z / 8] |= (uint8_t)(1u << (z % 8));
            }
        } else {
            size_t clen;
            unsigned b = hl_bucket(key, len, &clen);
            t->next = hm->bucket[b];
            hm->bucket[b] = (int)hm->n;
            hm->ncjk++;
        }
        hm->n++;
    }
}

void kbs_hl_match_fin(struct hl_match *hm)
{
    free(hm->v);
    hm->v = NULL;
}

struct spans {
    struct span *v;
    size_t n, cap;
    const size_t *map; /* normalised -> original offsets; NULL: the same */
    const struct hl_match *hm;
};

#define SPANS_MAX 4000

static void add_span(struct spans *sp, size_t start, size_t end, uint64_t th, double w)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 32;
        sp->v = kb_xrealloc(sp->v, sp->cap * sizeof *sp->v);
    }
    struct span *s = &sp->v[sp->n++];
    s->start = sp->map ? sp->map[start] : start;
    s->end = sp->map ? sp->map[end] : end;
    s->th = th;
    s->w = w;
}

static int collect_span(void *ud, const struct kb_token *t)
{
    struct spans *sp = ud;
    const struct hl_match *hm = sp->hm;
    if (t->flags & KB_TOKF_RUN) {
        /* every occurrence of every CJK term in the run */
        if (!hm->ncjk)
            return 0;
        const char *p = t->term;
        for (size_t i = 0, clen; i < t->len && sp->n < SPANS_MAX; i += clen) {
            for (int j = hm->bucket[hl_bucket(p + i, t->len - i, &clen)]; j >= 0; j = hm->v[j].next) {
                const struct hl_term *h = &hm->v[j];
                if (h->len <= t->len - i && memcmp(p + i, h->s, h->len) == 0)
                    add_span(sp, t->start + i, t->start + i + h->len, h->th, h->w);
            }
        }
        return 0;
    }
    /* a word whose first letter starts no stem wants no stem: the
       stemmer keeps a word's first letter */
    unsigned char f = (unsigned char)t->term[0];
    int rc = (t->flags & KB_TOKF_WORD) && !(hm->zfirst[f / 8] >> (f % 8) & 1) ? KB_TOK_NOSTEM
                                                                               : 0;
    unsigned bit = hl_latin_bit(t->term, t->len);
    if (!(hm->latin[bit / 8] >> (bit % 8) & 1))
        return rc; /* no term starts with these two bytes */
    intptr_t w = (intptr_t)kb_map_getn(hm->hl, t->term, t->len);
    if (!w || sp->n >= SPANS_MAX)
        return rc;
    add_span(sp, t->start, t->end, kb_hash64(t->term, t->len), (double)(w - 1) / 1000.0);
    return rc;
}

/* Which spans of sp count towards a window's score: first[i] is 1 when no
 * span before i (in sp's order) has i's term. Caller frees. */
static unsigned char *first_of_term(const struct spans *sp)
{
    unsigned char *first = kb_xcalloc(sp->n ? sp->n : 1, 1);
    size_t size = 16;
    while (size < 2 * sp->n)
        size *= 2;
    uint64_t *seen = kb_xcalloc(size, sizeof *seen);
    unsigned char *used = kb_xcalloc(size, 1);
    for (size_t i = 0; i < sp->n; i++) {
        uint64_t th = sp->v[i].th;
        size_t k = (size_t)(th ^ th >> 29) & (size - 1);
        while (used[k] && seen[k] != th)
            k = (k + 1) & (size - 1);
        if (!used[k]) {
            used[k] = 1;
            seen[k] = th;
            first[i] = 1;
        }
    }
    free(seen);
    free(used);
    return first;
}

/* Scores the window [ws, ws+bytes): the weights of the spans inside it
 * that are the first of their term in sp (sorted by start), from span lo,
 * the first that starts at or after ws. */
static double window_score(const struct spans *sp, const unsigned char *first, size_t lo,
                           size_t ws, size_t bytes)
{
    double score = 0;
    for (size_t i = lo; i < sp->n; i++) {
        const struct span *a = &sp->v[i];
        if (a->start > ws + bytes)
            break; /* so are all after it: none ends inside the window */
        if (a->start < ws || a->end > ws + bytes || !first[i])
            continue;
        score += a->w;
    }
    return score;
}

/* What add_escaped does with a byte: 0 copies it, the rest are below. */
enum { ESC_COPY = 0, ESC_SPACE = 1, ESC_MARKER = 2, ESC_ENTITY = 3 };
static const unsigned char esc_class[256] = {
    ['\n'] = ESC_SPACE, ['\r'] = ESC_SPACE, ['\t'] = ESC_SPACE, [' '] = ESC_SPACE,
    ['*'] = ESC_MARKER,  ['`'] = ESC_MARKER,  ['#'] = ESC_MARKER,  ['&'] = ESC_ENTITY,
    ['<'] = ESC_ENTITY,  ['>'] = ESC_ENTITY,  ['"'] = ESC_ENTITY,  ['\''] = ESC_ENTITY,
};

/* Appends s[0, n) HTML-escaped, white space folded to one space (*space:
 * the last byte written was one) and Markdown markers dropped. */
static void add_escaped(struct kb_buf *b, const char *s, size_t n, int *space)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i; /* bytes copied as they are */
        while (i < n && esc_class[(unsigned char)s[i]] == ESC_COPY)
            i++;
        if (i > run) {
            kb_buf_add(b, s + run, i - run);
            *space = 0;
        }
        if (i == n)
            break;
        char c = s[i++];
        switch (esc_class[(unsigned char)c]) {
        case ESC_SPACE:
            if (!*space)
                kb_buf_addc(b, ' ');
            *space = 1;
            break;
        case ESC_MARKER:
            break;
        default:
            *space = 0;
            switch (c) {
            case '&': kb_buf_add(b, "&amp;", 5); break;
            case '<': kb_buf_add(b, "&lt;", 4); break;
            case '>': kb_buf_add(b, "&gt;", 4); break;
            case '"': kb_buf_add(b, "&quot;", 6); break;
            default: kb_buf_add(b, "&#39;", 5); break;
            }
        }
    }
}

static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? 1 : x->end > y->end ? -1 : 0;
}

/* Sorts sp's spans by cmp_span: insertion sort, stable as glibc's qsort
 * is, with qsort taking over when the spans are far from order. Text
 * analysed here gives them almost in order (the terms found at one place
 * of a run, or a code and its parts, out of order among themselves); a
 * stored index gives a few ascending lists, one a term, which for the
 * twenty-odd spans of a field still costs fewer instructions than qsort. */
static void sort_spans(struct spans *sp)
{
    size_t moves = 0, limit = 8 * sp->n + 64;
    for (size_t i = 1; i < sp->n; i++) {
        struct span x = sp->v[i];
        size_t j = i;
        while (j > 0 && cmp_span(&sp->v[j - 1], &x) > 0) {
            sp->v[j] = sp->v[j - 1];
            j--;
            if (++moves > limit) {
                sp->v[j] = x;
                qsort(sp->v, sp->n, sizeof *sp->v, cmp_span);
                return;
            }
        }
        sp->v[j] = x;
    }
}

#define SNIPPET_SCAN_MAX 262144  /* no match in this many bytes: the start */

/* Adds the matches in text[0, len) (at byte offset off of the field) to sp. */
static int chunk_spans(kb_searcher *s, struct spans *sp, const char *text, size_t len, size_t off)
{
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    if (kb_analyzer_normalize_map(s->an, text, len, &norm, &nlen, &map, NULL, 0) < 0)
        return -1;
    size_t from = sp->n;
    sp->map = map;
    kb_analyzer_tokenize(s->an, KB_TOK_RUNS, norm, nlen, collect_span, sp, NULL, NULL, 0);
    sp->map = NULL;
    for (size_t i = from; i < sp->n; i++) {
        sp->v[i].start += off;
        sp->v[i].end += off;
    }
    free(norm);
    free(map);
    return 0;
}

/* A term's places in a stored source, as spans. */
struct term_spans {
    struct spans *sp;
    const struct hl_term *h;
};

static void emit_span(void *ud, size_t start, size_t end)
{
    struct term_spans *e = ud;
    if (e->sp->n < SPANS_MAX)
        add_span(e->sp, start, end, e->h->th, e->h->w);
}

/* Adds the matches of the stored first chunk f to sp, as chunk_spans would
 * over the same text but term by term (sorted after: spans at the same
 * place are either the same term or count the same, so their order does
 * not matter). Returns 0, or -1 when f is damaged. */
static int stored_spans(struct spans *sp, const struct kb_snipsrc_field *f)
{
    struct kb_snipsrc_index x;
    if (kb_snipsrc_index(f, &x) < 0)
        return -1;
    for (size_t i = 0; i < sp->hm->n; i++) {
        const struct hl_term *h = &sp->hm->v[i];
        struct term_spans e = {sp, h};
        if (kb_snipsrc_term(&x, h->s, h->len, h->th, emit_span, &e) < 0 ||
            (h->cjk && kb_snipsrc_cjk(&x, h->s, h->len, emit_span, &e) < 0))
            return -1; /* offsets: the text's */
    }
    return 0;
}

/* The best snippet of one field text[0, len), its score in *score. Caller
 * frees. With a stored source f, text is f's kept text (avail bytes): NULL
 * with *more set when the snippet needs text past it (or f is damaged). */
static char *field_snippet(kb_searcher *s, const struct hl_match *hm, const char *text,
                           size_t avail, size_t len, const struct kb_snipsrc_field *f,
                           size_t bytes, double *score, int *more)
{
    *score = -1;
    if (!len)
        return NULL;
    struct spans sp = {0};
    sp.hm = hm;
    if (f && (!f->analysed || stored_spans(&sp, f) < 0 || (!sp.n && len > f->chunk))) {
        free(sp.v); /* the first chunk does not say: the next ones are needed */
        *more = 1;
        return NULL;
    }
    /* A long text (a man page, a list of functions) is analysed a piece
       at a time, up to the first piece with a match: the snippet comes
       from the first KB_SNIPSRC_CHUNK bytes that match, and a hit's cost does
       not grow with the length of its body. */
    for (size_t off = 0; !f && off < len && off < SNIPPET_SCAN_MAX && !sp.n;) {
        size_t end = kb_snipsrc_chunk_end(text, len, off);
        if (chunk_spans(s, &sp, text + off, end - off, off) < 0)
            break;
        off = end;
    }
    sort_spans(&sp);
    /* best window start among the matches */
    size_t best_ws = 0;
    double best = 0;
    size_t lead = bytes / 5;
    unsigned char *first = first_of_term(&sp);
    for (size_t i = 0, lo = 0; i < sp.n; i++) {
        size_t ws = sp.v[i].start > lead ? sp.v[i].start - lead : 0; /* never falls */
        while (sp.v[lo].start < ws)
            lo++;
        double sc = window_score(&sp, first, lo, ws, bytes);
        if (sc > best + 1e-9) {
            best = sc;
            best_ws = ws;
        }
    }
    free(first);
    size_t ws = char_start(text, best_ws);
    if (ws > 0 && best > 0) {
        /* start after a sentence end close before the first match */
        size_t first = ws + lead < len ? ws + lead : len;
        for (size_t k = first; k > ws; k--) {
            if (text[k - 1] == '\n' || (k >= 3 && (!memcmp(text + k - 3, "。", 3) ||
                                                   !memcmp(text + k - 3, "；", 3) ||
                                                   !memcmp(text + k - 3, "！", 3) ||
                                                   !memcmp(text + k - 3, "？", 3)))) {
                ws = k;
                break;
            }
        }
    }
    if (avail < len && ws + bytes >= avail) {
        free(sp.v); /* the snippet goes past the kept text */
        *more = 1;
        return NULL;
    }
    size_t we = ws + bytes < len ? char_start(text, ws + bytes) : len;
    for (size_t i = 0; i < sp.n; i++) /* never cut a match in half */
        if (sp.v[i].start < we && sp.v[i].end > we)
            we = sp.v[i].end;
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    if (ws > 0)
        kb_buf_adds(&b, "…");
    int space = 1;
    size_t at = ws;
    for (size_t i = 0; i < sp.n; i++) {
        struct span m = sp.v[i];
        if (m.start < at || m.start >= we)
            continue;
        /* merge overlapping or touching matches */
        while (i + 1 < sp.n && sp.v[i + 1].start <= m.end) {
            if (sp.v[i + 1].end > m.end)
                m.end = sp.v[i + 1].end;
            i++;
        }
        if (m.end > we)
            m.end = we;
        add_escaped(&b, text + at, m.start - at, &space);
        kb_buf_adds(&b, "<mark>");
        space = 0;
        add_escaped(&b, text + m.start, m.end - m.start, &space);
        kb_buf_adds(&b, "</mark>");
        at = m.end;
    }
    if (at < we)
        add_escaped(&b, text + at, we - at, &space);
    while (b.len && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    if (we < len)
        kb_buf_adds(&b, "…");
    *score = best;
    free(sp.v);
    return kb_buf_take(&b);
}

/* The snippet fields of a kind of document, in the order they are tried. */
static size_t snippet_fields(enum kb_kind kind, int *v)
{
    size_t n = 0;
    if (kind == KB_KIND_KNOWN_ERROR) {
        v[n++] = KB_SNIPSRC_SYMPTOM;
        v[n++] = KB_SNIPSRC_WORKAROUND;
        v[n++] = KB_SNIPSRC_CAUSE;
        v[n++] = KB_SNIPSRC_RESOLUTION;
    }
    v[n++] = KB_SNIPSRC_BODY;
    return n;
}

/* Keeps sn in *best when it scores better. */
static void keep_best(char **best, double *best_score, char *sn, double sc)
{
    if (sn && sc > *best_score + 1e-9) {
        free(*best);
        *best = sn;
        *best_score = sc;
    } else {
        free(sn);
    }
}

char *kbs_doc_snippet(kb_searcher *s, const struct hl_match *hm, const struct kb_doc *d,
                         size_t bytes)
{
    const char *text[KB_SNIPSRC_NFIELDS] = {d->body, d->symptom, d->workaround, d->cause,
                                            d->resolution};
    int order[KB_SNIPSRC_NFIELDS];
    size_t n = snippet_fields(d->kind, order);
    char *best = NULL;
    double best_score = -1;
    for (size_t i = 0; i < n; i++) {
        const char *t = text[order[i]];
        if (!t || !*t)
            continue;
        double sc;
        int more = 0;
        size_t len = strlen(t);
        char *sn = field_snippet(s, hm, t, len, len, NULL, bytes, &sc, &more);
        keep_best(&best, &best_score, sn, sc);
    }
    return best ? best : kb_xstrdup("");
}

char *kbs_src_snippet(kb_searcher *s, const struct hl_match *hm, enum kb_kind kind,
                      const char *src, size_t srclen, size_t bytes)
{
    int order[KB_SNIPSRC_NFIELDS];
    size_t n = snippet_fields(kind, order);
    char *best = NULL;
    double best_score = -1;
    for (size_t i = 0; i < n; i++) {
        struct kb_snipsrc_field f;
        int rc = kb_snipsrc_find(src, srclen, order[i], &f);
        if (rc == 0)
            continue; /* the field is empty */
        double sc;
        int more = 0;
        char *sn = rc < 0 ? NULL
                          : field_snippet(s, hm, f.raw, f.rawlen, f.flen, &f, bytes, &sc, &more);
        if (rc < 0 || more) {
            free(best);
            return NULL;
        }
        keep_best(&best, &best_score, sn, sc);
    }
    return best ? best : kb_xstrdup("");
}
