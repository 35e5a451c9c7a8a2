/* kb_snipsrc: writing and reading the stored snippet source of a
 * document's text fields (the layout is in kb_snipsrc.h). Reading checks
 * every length and offset against the bytes it was given, so a damaged
 * source is an error, never a read out of bounds. */
#include "kb_snipsrc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- varints ------------------------------------------------------------- */

static void put_varint(struct kb_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (char)(v & 0x7F) | (char)0x80;
        v >>= 7;
    }
    tmp[n++] = (char)v;
    kb_buf_add(b, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads a varint at *p (< end) and moves *p past it. Returns 0, or -1. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        r |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* A varint length followed by that many bytes: *s and *n. */
static int get_bytes(const unsigned char **p, const unsigned char *end, const unsigned char **s,
                     size_t *n)
{
    uint64_t v;
    if (get_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
        return -1;
    *s = *p;
    *n = (size_t)v;
    *p += v;
    return 0;
}

/* ---- writing ------------------------------------------------------------- */

static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

size_t kb_snipsrc_chunk_end(const char *text, size_t len, size_t off)
{
    if (len - off <= KB_SNIPSRC_CHUNK)
        return len;
    size_t end = off + KB_SNIPSRC_CHUNK;
    for (size_t k = end; k > end - KB_SNIPSRC_CHUNK / 8; k--)
        if (text[k - 1] == '\n')
            return k;
    return char_start(text, end);
}

struct writer {
    struct kb_buf *b;
    const char *norm;
    size_t prev_start;
};

static int write_token(void *ud, const struct kb_token *t)
{
    struct writer *w = ud;
    put_varint(w->b, t->flags);
    put_varint(w->b, zigzag((int64_t)t->start - (int64_t)w->prev_start));
    put_varint(w->b, t->end - t->start);
    if (t->len == t->end - t->start && t->term == w->norm + t->start) {
        put_varint(w->b, 0);
    } else {
        put_varint(w->b, t->len + 1);
        kb_buf_add(w->b, t->term, t->len);
    }
    w->prev_start = t->start;
    return 0; /* every stem too: the search decides which it wants */
}

int kb_snipsrc_add(kb_analyzer *an, int field, const char *text, size_t len, struct kb_buf *b)
{
    size_t chunk = kb_snipsrc_chunk_end(text, len, 0);
    size_t rawlen = len - chunk <= KB_SNIPSRC_TAIL ? len : char_start(text, chunk + KB_SNIPSRC_TAIL);
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    int ok = kb_analyzer_normalize_map(an, text, chunk, &norm, &nlen, &map, NULL, 0) == 0;
    put_varint(b, (uint64_t)field);
    put_varint(b, (uint64_t)ok);
    put_varint(b, len);
    put_varint(b, chunk);
    put_varint(b, rawlen);
    kb_buf_add(b, text, rawlen);
    if (!ok) {
        put_varint(b, 0); /* norm, map, tokens */
        put_varint(b, 0);
        put_varint(b, 0);
        return rawlen == len;
    }
    put_varint(b, nlen);
    kb_buf_add(b, norm, nlen);
    struct kb_buf mb, tb;
    kb_buf_init(&mb);
    kb_buf_init(&tb);
    size_t last = 0; /* entries before it are written or predicted */
    for (size_t i = 0; i <= nlen; i++) {
        size_t pred = i ? map[i - 1] + 1 : 0;
        if (map[i] == pred)
            continue;
        put_varint(&mb, i - last);
        put_varint(&mb, zigzag((int64_t)map[i] - (int64_t)pred));
        last = i + 1;
    }
    put_varint(b, mb.len);
    kb_buf_add(b, mb.data, mb.len);
    struct writer w = {&tb, norm, 0};
    /* the tokenizer's pointer into norm says whether a term is the text */
    kb_analyzer_tokenize(an, KB_TOK_RUNS, norm, nlen, write_token, &w, NULL, NULL, 0);
    put_varint(b, tb.len);
    kb_buf_add(b, tb.data, tb.len);
    kb_buf_fin(&mb);
    kb_buf_fin(&tb);
    free(norm);
    free(map);
    return rawlen == len;
}

/* ---- reading ------------------------------------------------------------- */

/* Reads one record at *p, moving *p past it. */
static int read_record(const unsigned char **p, const unsigned char *end,
                       struct kb_snipsrc_field *f)
{
    uint64_t field, flags, flen, chunk;
    const unsigned char *raw, *norm;
    if (get_varint(p, end, &field) < 0 || field >= KB_SNIPSRC_NFIELDS ||
        get_varint(p, end, &flags) < 0 || flags > 1 || get_varint(p, end, &flen) < 0 ||
        get_varint(p, end, &chunk) < 0 || get_bytes(p, end, &raw, &f->rawlen) < 0 ||
        get_bytes(p, end, &norm, &f->nlen) < 0 || get_bytes(p, end, &f->map, &f->maplen) < 0 ||
        get_bytes(p, end, &f->tok, &f->toklen) < 0)
        return -1;
    if (f->rawlen > flen || chunk > f->rawlen || flen == 0)
        return -1;
    f->field = (int)field;
    f->analysed = (int)flags;
    f->flen = (size_t)flen;
    f->chunk = (size_t)chunk;
    f->raw = (const char *)raw;
    f->norm = (const char *)norm;
    return 0;
}

int kb_snipsrc_find(const char *src, size_t len, int field, struct kb_snipsrc_field *f)
{
    const unsigned char *p = (const unsigned char *)src, *end = p + len;
    while (p < end) {
        if (read_record(&p, end, f) < 0)
            return KB_SNIPSRC_EDAMAGED;
        if (f->field == field)
            return 1;
    }
    memset(f, 0, sizeof *f);
    return 0;
}

size_t *kb_snipsrc_map(const struct kb_snipsrc_field *f)
{
    size_t n = f->nlen + 1;
    size_t *map = kb_xmalloc(n * sizeof *map);
    const unsigned char *p = f->map, *end = f->map + f->maplen;
    size_t i = 0;
    while (p < end) {
        uint64_t skip, dv;
        if (get_varint(&p, end, &skip) < 0 || get_varint(&p, end, &dv) < 0 || skip >= n - i)
            goto bad;
        for (size_t k = 0; k < skip; k++, i++)
            map[i] = i ? map[i - 1] + 1 : 0;
        int64_t v = (int64_t)(i ? map[i - 1] + 1 : 0) + unzigzag(dv);
        if (v < 0)
            goto bad;
        map[i++] = (size_t)v;
    }
    for (; i < n; i++)
        map[i] = i ? map[i - 1] + 1 : 0;
    for (i = 0; i < n; i++)
        if (map[i] > f->chunk)
            goto bad;
    return map;
bad:
    free(map);
    return NULL;
}

int kb_snipsrc_tokens(const struct kb_snipsrc_field *f, kb_tok_cb cb, void *ud)
{
    const unsigned char *p = f->tok, *end = f->tok + f->toklen;
    size_t start = 0, nostem_at = (size_t)-1;
    while (p < end) {
        uint64_t flags, ds, span, tl;
        if (get_varint(&p, end, &flags) < 0 || get_varint(&p, end, &ds) < 0 ||
            get_varint(&p, end, &span) < 0 || get_varint(&p, end, &tl) < 0)
            return KB_SNIPSRC_EDAMAGED;
        int64_t s = (int64_t)start + unzigzag(ds);
        if (s < 0 || (uint64_t)s > f->nlen || span > f->nlen - (uint64_t)s)
            return KB_SNIPSRC_EDAMAGED;
        struct kb_token t;
        t.start = (size_t)s;
        t.end = t.start + (size_t)span;
        t.pos = 0; /* the snippet has no use for positions */
        t.flags = (unsigned)flags;
        if (tl == 0) {
            t.term = f->norm + t.start;
            t.len = (size_t)span;
        } else {
            if (tl - 1 > (uint64_t)(end - p) || (flags & KB_TOKF_RUN))
                return KB_SNIPSRC_EDAMAGED; /* a run is always the text */
            t.term = (const char *)p;
            t.len = (size_t)(tl - 1);
            p += t.len;
        }
        start = t.start;
        if (t.len == 0)
            return KB_SNIPSRC_EDAMAGED;
        if ((t.flags & KB_TOKF_STEM) && nostem_at == t.start)
            continue; /* the tokenizer would not have made it */
        nostem_at = (size_t)-1;
        int rc = cb(ud, &t);
        if (rc == KB_TOK_NOSTEM) {
            if ((t.flags & (KB_TOKF_WORD | KB_TOKF_CJK)) == KB_TOKF_WORD)
                nostem_at = t.start;
        } else if (rc) {
            return rc;
        }
    }
    return 0;
}
