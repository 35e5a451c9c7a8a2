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

/* ---- the index ----------------------------------------------------------- */

static void put_u16(struct kb_buf *b, size_t v)
{
    char t[2] = {(char)(v & 0xFF), (char)(v >> 8 & 0xFF)};
    kb_buf_add(b, t, 2);
}

/* The little-endian 16-bit number at p. */
static uint32_t get_u16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* The 16-bit key the index keeps of a term's or character's kb_hash64. */
static uint32_t key16(uint64_t h)
{
    return (uint32_t)(h & 0xFFFF);
}

/* A distinct term or character while a record is written: its places. */
struct wlist {
    uint64_t h;           /* kb_hash64 of its bytes */
    size_t koff, klen;    /* its bytes, in the table's keys */
    struct kb_buf places; /* a term's head (tl and its bytes) first */
    size_t head, count, prev;
};

/* The distinct terms or characters: lists in order of first place, found
 * through an open-addressing table of their hashes. */
struct wtable {
    uint32_t *slot; /* list index + 1, 0: empty; nslot a power of two */
    size_t nslot;
    struct wlist *v;
    size_t n, cap;
    struct kb_buf keys;
};

static void wtable_init(struct wtable *t)
{
    memset(t, 0, sizeof *t);
    t->nslot = 256;
    t->slot = kb_xcalloc(t->nslot, sizeof *t->slot);
    kb_buf_init(&t->keys);
}

static void wtable_grow(struct wtable *t)
{
    free(t->slot);
    t->nslot *= 2;
    t->slot = kb_xcalloc(t->nslot, sizeof *t->slot);
    for (size_t i = 0; i < t->n; i++) {
        size_t k = (size_t)t->v[i].h & (t->nslot - 1);
        while (t->slot[k])
            k = (k + 1) & (t->nslot - 1);
        t->slot[k] = (uint32_t)(i + 1);
    }
}

/* The list of s[0, n) (hash h) in t, new when it is not there yet. */
static struct wlist *wtable_list(struct wtable *t, const char *s, size_t n, uint64_t h,
                                 int *fresh)
{
    size_t k = (size_t)h & (t->nslot - 1);
    for (; t->slot[k]; k = (k + 1) & (t->nslot - 1)) {
        struct wlist *l = &t->v[t->slot[k] - 1];
        if (l->h == h && l->klen == n && memcmp(t->keys.data + l->koff, s, n) == 0) {
            *fresh = 0;
            return l;
        }
    }
    *fresh = 1;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = kb_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    struct wlist *l = &t->v[t->n++];
    memset(l, 0, sizeof *l);
    l->h = h;
    l->koff = t->keys.len;
    l->klen = n;
    kb_buf_add(&t->keys, s, n);
    kb_buf_init(&l->places);
    t->slot[k] = (uint32_t)t->n;
    if (2 * t->n >= t->nslot)
        wtable_grow(t);
    return l;
}

static void wtable_fin(struct wtable *t)
{
    for (size_t i = 0; i < t->n; i++)
        kb_buf_fin(&t->v[i].places);
    free(t->v);
    free(t->slot);
    kb_buf_fin(&t->keys);
}

struct writer {
    const char *text;
    const size_t *map;
    struct wtable terms, chars;
    struct wrun {
        size_t start, len;
    } *runv; /* the CJK runs */
    size_t nruns, runcap;
    int bad; /* a run not the same bytes at the same offsets in text, or a
                token this layout cannot hold */
};

static int write_token(void *ud, const struct kb_token *t)
{
    struct writer *w = ud;
    size_t s = w->map[t->start], e = w->map[t->end];
    if (t->len == 0) {
        w->bad = 1;
        return 1;
    }
    int fresh;
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
        if (w->nruns == w->runcap) {
            w->runcap = w->runcap ? 2 * w->runcap : 16;
            w->runv = kb_xrealloc(w->runv, w->runcap * sizeof *w->runv);
        }
        w->runv[w->nruns].start = s;
        w->runv[w->nruns++].len = t->len;
        for (size_t k = 0, n; k < t->len; k += n) {
            n = kb_utf8_seqlen((unsigned char)t->term[k]);
            if (n > t->len - k)
                n = t->len - k;
            struct wlist *l =
                wtable_list(&w->chars, t->term + k, n, kb_hash64(t->term + k, n), &fresh);
            put_varint(&l->places, s + k - l->prev);
            l->prev = s + k;
            l->count++;
        }
        return 0;
    }
    struct wlist *l =
        wtable_list(&w->terms, t->term, t->len, kb_hash64(t->term, t->len), &fresh);
    if (fresh) { /* the term's bytes, unless the text at its first place */
        if (t->len == e - s && memcmp(t->term, w->text + s, t->len) == 0) {
            put_varint(&l->places, 0);
        } else {
            put_varint(&l->places, t->len + 1);
            kb_buf_add(&l->places, t->term, t->len);
        }
        l->head = l->places.len;
    }
    put_varint(&l->places, zigzag((int64_t)s - (int64_t)l->prev));
    put_varint(&l->places, e - s);
    l->prev = s;
    l->count++;
    return 0; /* every stem too: a term is found by its bytes alone */
}

static int cmp_wrun(const void *a, const void *b)
{
    const struct wrun *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The order of t's lists by the 16-bit hash the index keeps, lists of the
 * same hash in order of their first place: a stable counting sort, a pass
 * per byte. Caller frees. */
static uint32_t *sorted_lists(const struct wtable *t)
{
    size_t n = t->n ? t->n : 1;
    uint32_t *a = kb_xmalloc(n * sizeof *a), *b = kb_xmalloc(n * sizeof *b);
    for (size_t i = 0; i < t->n; i++)
        a[i] = (uint32_t)i;
    for (unsigned shift = 0; shift < 16; shift += 8) {
        size_t at[257] = {0};
        for (size_t i = 0; i < t->n; i++)
            at[(key16(t->v[a[i]].h) >> shift & 0xFF) + 1]++;
        for (size_t k = 1; k < 257; k++)
            at[k] += at[k - 1];
        for (size_t i = 0; i < t->n; i++)
            b[at[key16(t->v[a[i]].h) >> shift & 0xFF]++] = a[i];
        uint32_t *x = a;
        a = b;
        b = x;
    }
    free(b);
    return a;
}

/* Writes the table of t into tab and its lists into data. */
static void write_table(struct wtable *t, struct kb_buf *tab, struct kb_buf *data)
{
    uint32_t *order = sorted_lists(t);
    for (size_t i = 0; i < t->n; i++) {
        const struct wlist *l = &t->v[order[i]];
        put_u16(tab, key16(l->h));
        put_u16(tab, data->len);
        /* a term's head goes before the count */
        kb_buf_add(data, l->places.data, l->head);
        put_varint(data, l->count);
        kb_buf_add(data, l->places.data + l->head, l->places.len - l->head);
    }
    free(order);
}

int kb_snipsrc_add(kb_analyzer *an, int field, const char *text, size_t len, struct kb_buf *b)
{
    size_t chunk = kb_snipsrc_chunk_end(text, len, 0);
    size_t rawlen = len - chunk <= KB_SNIPSRC_TAIL ? len : char_start(text, chunk + KB_SNIPSRC_TAIL);
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    struct kb_buf ib;
    kb_buf_init(&ib);
    int ok = kb_analyzer_normalize_map(an, text, chunk, &norm, &nlen, &map, NULL, 0) == 0;
    if (ok) {
        struct writer w;
        memset(&w, 0, sizeof w);
        w.text = text;
        w.map = map;
        wtable_init(&w.terms);
        wtable_init(&w.chars);
        kb_analyzer_tokenize(an, KB_TOK_RUNS, norm, nlen, write_token, &w, NULL, NULL, 0);
        ok = !w.bad;
        if (ok) {
            struct kb_buf tab, data;
            kb_buf_init(&tab);
            kb_buf_init(&data);
            write_table(&w.terms, &tab, &data);
            write_table(&w.chars, &tab, &data);
            /* 16-bit counts and offsets (a chunk is a few KB): a field
               they cannot hold is marked not analysed */
            ok = w.terms.n <= 0xFFFF && w.chars.n <= 0xFFFF && w.nruns <= 0xFFFF &&
                 data.len <= 0xFFFF && chunk <= 0xFFFF;
            if (ok) {
                put_u16(&ib, w.terms.n);
                put_u16(&ib, w.chars.n);
                put_u16(&ib, w.nruns);
                kb_buf_add(&ib, tab.data, tab.len);
                if (w.nruns) /* in the tokens' order, which need not be the text's */
                    qsort(w.runv, w.nruns, sizeof *w.runv, cmp_wrun);
                for (size_t i = 0; i < w.nruns; i++) {
                    put_u16(&ib, w.runv[i].start);
                    put_u16(&ib, w.runv[i].len);
                }
                kb_buf_add(&ib, data.data, data.len);
            }
            kb_buf_fin(&tab);
            kb_buf_fin(&data);
        }
        wtable_fin(&w.terms);
        wtable_fin(&w.chars);
        free(w.runv);
    }
    put_varint(b, (uint64_t)field);
    put_varint(b, (uint64_t)ok);
    put_varint(b, len);
    put_varint(b, chunk);
    put_varint(b, rawlen);
    kb_buf_add(b, text, rawlen);
    put_varint(b, ok ? ib.len : 0);
    if (ok)
        kb_buf_add(b, ib.data, ib.len);
    kb_buf_fin(&ib);
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
        get_bytes(p, end, &f->idx, &f->idxlen) < 0)
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

#define TERM_W 4 /* u16 hash, u16 at */
#define CHAR_W 4 /* u16 hash, u16 at */
#define RUN_W 4  /* u16 start, u16 len */

int kb_snipsrc_index(const struct kb_snipsrc_field *f, struct kb_snipsrc_index *x)
{
    x->f = f;
    if (f->idxlen < 6)
        return KB_SNIPSRC_EDAMAGED;
    x->nterms = get_u16(f->idx);
    x->nchars = get_u16(f->idx + 2);
    x->nruns = get_u16(f->idx + 4);
    size_t need = 6 + TERM_W * x->nterms + CHAR_W * x->nchars + RUN_W * x->nruns;
    if (need > f->idxlen)
        return KB_SNIPSRC_EDAMAGED;
    x->terms = f->idx + 6;
    x->chars = x->terms + TERM_W * x->nterms;
    x->runs = x->chars + CHAR_W * x->nchars;
    x->data = x->runs + RUN_W * x->nruns;
    x->end = f->idx + f->idxlen;
    return 0;
}

/* The first entry of a table of n entries of width bytes whose key (its
 * first two bytes) is not below key. */
static size_t lower_bound(const unsigned char *tab, size_t n, size_t width, uint32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (get_u16(tab + mid * width) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int kb_snipsrc_term(const struct kb_snipsrc_index *x, const char *term, size_t len,
                    uint64_t hash, kb_snipsrc_emit emit, void *ud)
{
    const struct kb_snipsrc_field *f = x->f;
    uint32_t key = key16(hash);
    for (size_t i = lower_bound(x->terms, x->nterms, TERM_W, key);
         i < x->nterms && get_u16(x->terms + TERM_W * i) == key; i++) {
        uint64_t at = get_u16(x->terms + TERM_W * i + 2), tl, count;
        if (at > (uint64_t)(x->end - x->data))
            return KB_SNIPSRC_EDAMAGED;
        const unsigned char *p = x->data + at, *tb = NULL;
        if (VARINT(p, x->end, tl) < 0 || (tl && tl - 1 > (uint64_t)(x->end - p)))
            return KB_SNIPSRC_EDAMAGED;
        if (tl) { /* the term's own bytes */
            tb = p;
            p += tl - 1;
            if (tl - 1 != len || memcmp(tb, term, len) != 0)
                continue; /* another term of the same hash */
        }
        if (VARINT(p, x->end, count) < 0)
            return KB_SNIPSRC_EDAMAGED;
        int64_t start = 0;
        for (uint64_t k = 0; k < count; k++) {
            uint64_t ds, span;
            if (VARINT(p, x->end, ds) < 0 || VARINT(p, x->end, span) < 0)
                return KB_SNIPSRC_EDAMAGED;
            start += unzigzag(ds);
            if (start < 0 || (uint64_t)start > f->chunk || span > f->chunk - (uint64_t)start)
                return KB_SNIPSRC_EDAMAGED;
            if (k == 0 && !tl &&
                (span != len || memcmp(f->raw + start, term, len) != 0))
                break; /* the text at its first place is another term */
            emit(ud, (size_t)start, (size_t)start + (size_t)span);
        }
    }
    return 0;
}

int kb_snipsrc_cjk(const struct kb_snipsrc_index *x, const char *term, size_t len,
                   kb_snipsrc_emit emit, void *ud)
{
    const struct kb_snipsrc_field *f = x->f;
    size_t clen = kb_utf8_seqlen((unsigned char)term[0]);
    if (clen > len)
        clen = len;
    uint32_t key = key16(kb_hash64(term, clen));
    for (size_t i = lower_bound(x->chars, x->nchars, CHAR_W, key);
         i < x->nchars && get_u16(x->chars + CHAR_W * i) == key; i++) {
        uint64_t at = get_u16(x->chars + CHAR_W * i + 2), count;
        if (at > (uint64_t)(x->end - x->data))
            return KB_SNIPSRC_EDAMAGED;
        const unsigned char *p = x->data + at;
        if (VARINT(p, x->end, count) < 0)
            return KB_SNIPSRC_EDAMAGED;
        size_t start = 0;
        for (uint64_t k = 0; k < count; k++) {
            uint64_t ds;
            if (VARINT(p, x->end, ds) < 0 || ds > f->chunk - start)
                return KB_SNIPSRC_EDAMAGED;
            start += (size_t)ds;
            /* the run holding start: the last one starting at or before it */
            size_t run = lower_bound(x->runs, x->nruns, RUN_W, (uint32_t)start + 1);
            if (run == 0)
                return KB_SNIPSRC_EDAMAGED; /* a character before every run */
            uint64_t rs = get_u16(x->runs + RUN_W * (run - 1));
            uint64_t re = rs + get_u16(x->runs + RUN_W * (run - 1) + 2);
            if (re <= start || re > f->chunk)
                return KB_SNIPSRC_EDAMAGED;
            /* the comparison also tells characters of the same hash apart */
            if (len <= re - start && memcmp(f->raw + start, term, len) == 0)
                emit(ud, start, start + len);
        }
    }
    return 0;
}
