/* kb_snipsrc: writing and reading the stored snippet source of a
 * document's text fields (the layout is in kb_snipsrc.h). Reading checks
 * every length and offset against the bytes it was given, so a damaged
 * source is an error, never a read out of bounds. */
#include "kb_snipsrc.h"
#include "kb_utf8.h"

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
    const char *text, *norm;
    const size_t *map;
    size_t prev_start, prev_end;
    char prev[KB_TOK_MAX_TERM + 1]; /* the previous token's term */
    size_t prev_len;
    int bad; /* a run not the same bytes at the same offsets in text */
};

static int write_token(void *ud, const struct kb_token *t)
{
    struct writer *w = ud;
    size_t s = w->map[t->start], e = w->map[t->end];
    if (t->flags & KB_TOKF_RUN) {
        /* the search finds terms in a run by offset: its bytes must be the
           original's, one for one (the map is read at character starts) */
        for (size_t k = 0; k < t->len && !w->bad;) {
            w->bad = w->map[t->start + k] != s + k;
            kb_utf8_next(t->term, t->len, &k);
        }
        w->bad |= e != s + t->len;
        if (w->bad || memcmp(t->term, w->text + s, t->len) != 0) {
            w->bad = 1;
            return 1;
        }
    }
    if (t->flags == 0 || t->flags > 0xFF || t->len > KB_TOK_MAX_TERM + 1) {
        w->bad = 1; /* not a token this layout knows */
        return 1;
    }
    if (t->flags == KB_TOKF_STEM && w->prev_len && s == w->prev_start && e == w->prev_end &&
        t->term[0] == 'Z') {
        /* the stem of the word before: its prefix, or its own bytes */
        size_t n = t->len - 1;
        kb_buf_addc(w->b, 0);
        if (n <= w->prev_len && memcmp(t->term + 1, w->prev, n) == 0) {
            put_varint(w->b, 2 * (uint64_t)n);
        } else {
            put_varint(w->b, 2 * (uint64_t)n + 1);
            kb_buf_add(w->b, t->term + 1, n);
        }
        w->prev_len = 0;
        return 0;
    }
    kb_buf_addc(w->b, (char)t->flags);
    put_varint(w->b, zigzag((int64_t)s - (int64_t)w->prev_start));
    put_varint(w->b, e - s);
    if (t->len == e - s && memcmp(t->term, w->text + s, t->len) == 0) {
        put_varint(w->b, 0);
    } else {
        put_varint(w->b, t->len + 1);
        kb_buf_add(w->b, t->term, t->len);
    }
    w->prev_start = s;
    w->prev_end = e;
    w->prev_len = t->len <= KB_TOK_MAX_TERM ? t->len : 0;
    memcpy(w->prev, t->term, w->prev_len);
    return 0; /* every stem too: the search decides which it wants */
}

int kb_snipsrc_add(kb_analyzer *an, int field, const char *text, size_t len, struct kb_buf *b)
{
    size_t chunk = kb_snipsrc_chunk_end(text, len, 0);
    size_t rawlen = len - chunk <= KB_SNIPSRC_TAIL ? len : char_start(text, chunk + KB_SNIPSRC_TAIL);
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    struct kb_buf tb;
    kb_buf_init(&tb);
    int ok = kb_analyzer_normalize_map(an, text, chunk, &norm, &nlen, &map, NULL, 0) == 0;
    if (ok) {
        struct writer w;
        memset(&w, 0, sizeof w);
        w.b = &tb;
        w.text = text;
        w.norm = norm;
        w.map = map;
        kb_analyzer_tokenize(an, KB_TOK_RUNS, norm, nlen, write_token, &w, NULL, NULL, 0);
        ok = !w.bad;
    }
    put_varint(b, (uint64_t)field);
    put_varint(b, (uint64_t)ok);
    put_varint(b, len);
    put_varint(b, chunk);
    put_varint(b, rawlen);
    kb_buf_add(b, text, rawlen);
    put_varint(b, ok ? tb.len : 0);
    if (ok)
        kb_buf_add(b, tb.data, tb.len);
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
    const unsigned char *raw;
    if (get_varint(p, end, &field) < 0 || field >= KB_SNIPSRC_NFIELDS ||
        get_varint(p, end, &flags) < 0 || flags > 1 || get_varint(p, end, &flen) < 0 ||
        get_varint(p, end, &chunk) < 0 || get_bytes(p, end, &raw, &f->rawlen) < 0 ||
        get_bytes(p, end, &f->tok, &f->toklen) < 0)
        return -1;
    if (f->rawlen > flen || chunk > f->rawlen || flen == 0)
        return -1;
    f->field = (int)field;
    f->analysed = (int)flags;
    f->flen = (size_t)flen;
    f->chunk = (size_t)chunk;
    f->raw = (const char *)raw;
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

/* get_varint for the common one-byte case inline */
#define VARINT(p, end, v)                                                                  \
    ((p) < (end) && !(*(p) & 0x80) ? ((v) = *(p)++, 0) : get_varint(&(p), (end), &(v)))

int kb_snipsrc_tokens(const struct kb_snipsrc_field *f, kb_tok_cb cb, void *ud)
{
    const unsigned char *p = f->tok, *end = f->tok + f->toklen;
    size_t start = 0, nostem_at = (size_t)-1;
    struct kb_token prev = {0};
    char stem[KB_TOK_MAX_TERM + 2];
    while (p < end) {
        unsigned flags = *p++;
        struct kb_token t;
        if (flags == 0) { /* the stem of the token before */
            uint64_t code;
            if (!prev.term || VARINT(p, end, code) < 0 || code / 2 > KB_TOK_MAX_TERM)
                return KB_SNIPSRC_EDAMAGED;
            size_t n = (size_t)(code / 2);
            if (code & 1) {
                if (n > (size_t)(end - p))
                    return KB_SNIPSRC_EDAMAGED;
                p += n;
            } else if (n > prev.len) {
                return KB_SNIPSRC_EDAMAGED;
            }
            if (nostem_at == prev.start) { /* the tokenizer would not have made it */
                prev.term = NULL;
                nostem_at = (size_t)-1;
                continue;
            }
            stem[0] = 'Z';
            memcpy(stem + 1, code & 1 ? (const char *)p - n : prev.term, n);
            t = prev;
            t.term = stem;
            t.len = n + 1;
            t.flags = KB_TOKF_STEM;
            prev.term = NULL;
        } else {
            uint64_t ds, span, tl;
            if (VARINT(p, end, ds) < 0 || VARINT(p, end, span) < 0 || VARINT(p, end, tl) < 0)
                return KB_SNIPSRC_EDAMAGED;
            int64_t s = (int64_t)start + unzigzag(ds);
            if (s < 0 || (uint64_t)s > f->chunk || span > f->chunk - (uint64_t)s)
                return KB_SNIPSRC_EDAMAGED;
            t.start = (size_t)s;
            t.end = t.start + (size_t)span;
            t.pos = 0; /* the snippet has no use for positions */
            t.flags = flags;
            if (tl == 0) {
                t.term = f->raw + t.start;
                t.len = (size_t)span;
            } else {
                if (tl - 1 > (uint64_t)(end - p) || (flags & KB_TOKF_RUN))
                    return KB_SNIPSRC_EDAMAGED; /* a run is always the text */
                t.term = (const char *)p;
                t.len = (size_t)(tl - 1);
                p += t.len;
            }
            if (t.len == 0)
                return KB_SNIPSRC_EDAMAGED;
            start = t.start;
            prev = t;
        }
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
