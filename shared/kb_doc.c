/* kb_doc: lifecycle of the three document kinds and their JSON form, which
 * is what the index stores as document data and what `indexer show`,
 * searchd's /doc and chatdesk return. */
#include "kb_doc.h"
#include "kb_snipsrc.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* One table drives serialisation both ways, so a new field is one line. */
struct field {
    const char *name;
    size_t off;
    int head; /* stored in the head: what a search hit shows (kb_doc_pack) */
};
#define F(x) { #x, offsetof(struct kb_doc, x), 1 }
#define R(x) { #x, offsetof(struct kb_doc, x), 0 }
static const struct field fields[] = {
    F(id), F(title), R(body), F(visibility), R(source),
    F(category), R(tags), R(product), R(lang), F(updated),
    R(symptom), R(cause), F(workaround), R(resolution), F(service), F(status),
    F(std_code), F(std_title), F(clause), F(heading), F(path),
};
#undef F
#undef R
#define NFIELDS (sizeof fields / sizeof fields[0])

static char **slot(struct kb_doc *d, size_t i)
{
    return (char **)((char *)d + fields[i].off);
}

struct kb_doc *kb_doc_new(enum kb_kind kind)
{
    struct kb_doc *d = kb_xcalloc(1, sizeof *d);
    d->kind = kind;
    return d;
}

void kb_doc_free(struct kb_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < NFIELDS; i++)
        free(*slot(doc, i));
    free(doc);
}

static const char *const kind_names[KB_KIND_COUNT] = {"article", "known_error", "standard"};

const char *kb_kind_name(enum kb_kind kind)
{
    return (unsigned)kind < KB_KIND_COUNT ? kind_names[kind] : "unknown";
}

int kb_kind_valid(const char *name, size_t n)
{
    for (int i = 0; i < KB_KIND_COUNT; i++)
        if (strlen(kind_names[i]) == n && memcmp(name, kind_names[i], n) == 0)
            return 1;
    return 0;
}

int kb_kind_parse(const char *name)
{
    for (int i = 0; i < KB_KIND_COUNT; i++)
        if (name && strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

void kb_doc_set(char **field, const char *value)
{
    char *copy = kb_xstrdup(value);
    free(*field);
    *field = copy;
}

char *kb_doc_to_json(const struct kb_doc *doc)
{
    /* written straight out, as Jansson's compact, order-preserving dump of
       the same object would be (test_md compares them); a field that is
       not valid UTF-8 is left out, as Jansson refused it */
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_addc(&b, '{');
    int first = 1;
    const char *kind = kb_kind_name(doc->kind);
    kb_buf_json_key(&b, &first, "kind");
    kb_buf_json_str(&b, kind, strlen(kind));
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = *slot((struct kb_doc *)doc, i);
        size_t n = v ? strlen(v) : 0;
        if (!v || kb_utf8_check(v, n, 0, NULL) < 0)
            continue;
        kb_buf_json_key(&b, &first, fields[i].name);
        kb_buf_json_str(&b, v, n);
    }
    if (doc->source_line) {
        kb_buf_json_key(&b, &first, "source_line");
        kb_buf_json_int(&b, (long long)doc->source_line);
    }
    if (doc->body_composed) {
        kb_buf_json_key(&b, &first, "body_composed");
        kb_buf_add(&b, "true", 4);
    }
    kb_buf_addc(&b, '}');
    return kb_buf_take(&b);
}

/* ---- a fast path for reading back what kb_doc_to_json wrote -------------
 * A search reads the stored JSON of every hit, long bodies included, and
 * jansson builds a tree of it only to have every string copied out again.
 * This reads the flat object kb_doc_to_json writes (string values, an
 * integer, true) straight into the fields. Anything it does not expect
 * (nesting, other numbers, \u0000, invalid UTF-8, bad syntax) makes it give
 * up, and kb_doc_from_json then parses with jansson as before, so the
 * result is always the one jansson gives. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, int32_t *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

/* Parses the string at *pp (at its opening quote) into a new heap string
 * (*out). Returns 0 and moves *pp past it, or -1.
 * The decoded string is never longer than its escaped form, so it is
 * written into one allocation of that size: a long body with a "\n" on
 * every line cost a buffer call (and a growth check) per escape. */
static int fast_string(const char **pp, const char *end, char **out)
{
    const char *p = *pp + 1;
    /* the closing quote: the first '"' after no or an even run of '\' */
    const char *q = p;
    for (;;) {
        const char *quote = memchr(q, '"', (size_t)(end - q));
        if (!quote)
            return -1;
        const char *k = quote;
        while (k > p && k[-1] == '\\')
            k--;
        if ((quote - k) % 2 == 0) {
            q = quote;
            break;
        }
        q = quote + 1;
    }
    char *d = kb_xmalloc((size_t)(q - p) + 1);
    size_t o = 0;
    const char *run = p;
    while (p < q) {
        /* eight bytes at a time while none is a backslash or a control
           character (the quote is q) */
        while (q - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t bs = v ^ (ones * '\\');
            uint64_t special = ((bs - ones) & ~bs) | ((v - ones * 0x20) & ~v);
            if (special & highs)
                break;
            p += 8;
        }
        if (p >= q)
            break;
        unsigned char c = (unsigned char)*p;
        if (c != '\\') {
            if (c < 0x20)
                goto fail;
            p++;
            continue;
        }
        memcpy(d + o, run, (size_t)(p - run));
        o += (size_t)(p - run);
        if (++p >= q)
            goto fail;
        char e = *p++, ch = 0;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            int32_t cp, lo;
            if (hex4(p, q, &cp) < 0)
                goto fail;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, q, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    goto fail;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            char u[4];
            size_t n = cp ? kb_utf8_encode(cp, u) : 0;
            if (!n)
                goto fail; /* \u0000 or a lone surrogate */
            memcpy(d + o, u, n); /* at most 4 bytes from 6 (or 12) */
            o += n;
            break;
        }
        default: goto fail;
        }
        if (ch)
            d[o++] = ch;
        run = p;
    }
    memcpy(d + o, run, (size_t)(q - run));
    o += (size_t)(q - run);
    d[o] = '\0';
    if (kb_utf8_check(d, o, 0, NULL) < 0)
        goto fail;
    *out = d;
    *pp = q + 1;
    return 0;
fail:
    free(d);
    return -1;
}

static struct kb_doc *fast_from_json(const char *json, size_t len)
{
    const char *p = skip_ws(json, json + len), *end = json + len;
    struct kb_doc *d = kb_doc_new(KB_KIND_ARTICLE);
    int kind = -1;
    char *key = NULL;
    if (p >= end || *p++ != '{')
        goto fail;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"' || fast_string(&p, end, &key) < 0)
            goto fail;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            goto fail;
        p = skip_ws(p, end);
        if (p >= end)
            goto fail;
        if (*p == '"') {
            char *v = NULL;
            if (fast_string(&p, end, &v) < 0)
                goto fail;
            char **f = NULL;
            for (size_t i = 0; i < NFIELDS && !f; i++)
                if (!strcmp(key, fields[i].name))
                    f = slot(d, i);
            if (f) {
                free(*f);
                *f = v;
            } else if (!strcmp(key, "kind")) {
                kind = kb_kind_parse(v);
                free(v);
            } else {
                free(v); /* an unknown key is ignored; a string where a
                            number or boolean belongs is left to jansson */
                if (!strcmp(key, "source_line") || !strcmp(key, "body_composed"))
                    goto fail;
            }
        } else if (*p >= '0' && *p <= '9' && !strcmp(key, "source_line")) {
            long v = 0;
            int digits = 0;
            while (p < end && *p >= '0' && *p <= '9' && digits < 9) {
                v = v * 10 + (*p++ - '0');
                digits++;
            }
            if (p < end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
                goto fail;
            d->source_line = (int)v;
        } else if (end - p >= 4 && !memcmp(p, "true", 4) && !strcmp(key, "body_composed")) {
            d->body_composed = 1;
            p += 4;
        } else {
            goto fail;
        }
        free(key);
        key = NULL;
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        goto fail;
    }
done:
    if (kind < 0 || skip_ws(p, end) != end)
        goto fail;
    d->kind = (enum kb_kind)kind;
    return d;
fail:
    free(key);
    kb_doc_free(d);
    return NULL;
}

struct kb_doc *kb_doc_from_json(const char *json, size_t len, char *err, size_t errlen)
{
    struct kb_doc *fast = fast_from_json(json, len);
    if (fast)
        return fast;
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    if (!o || !json_is_object(o)) {
        kb_seterr(err, errlen, "[doc][json] %s", o ? "not an object" : je.text);
        json_decref(o);
        return NULL;
    }
    int kind = kb_kind_parse(json_string_value(json_object_get(o, "kind")));
    if (kind < 0) {
        kb_seterr(err, errlen, "[doc][json] missing or unknown kind");
        json_decref(o);
        return NULL;
    }
    struct kb_doc *d = kb_doc_new((enum kb_kind)kind);
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = json_string_value(json_object_get(o, fields[i].name));
        if (v)
            kb_doc_set(slot(d, i), v);
    }
    json_t *line = json_object_get(o, "source_line");
    if (json_is_integer(line))
        d->source_line = (int)json_integer_value(line);
    d->body_composed = json_is_true(json_object_get(o, "body_composed"));
    json_decref(o);
    return d;
}

/* ---- the stored form: zstd-compressed JSON ------------------------------ */

#define PACK_LEVEL 3
#define PACK_MAX ((size_t)1 << 30) /* a frame claiming more is damaged */

/* zstd contexts, one pair per thread (creating one per call would cost a
 * large allocation per document), freed when the thread ends. */
struct zctx {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
};

static pthread_key_t zkey;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;

static void zctx_free(void *p)
{
    struct zctx *z = p;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
    free(z);
}

static void zkey_make(void)
{
    if (pthread_key_create(&zkey, zctx_free) != 0)
        abort();
}

static struct zctx *zctx_get(void)
{
    pthread_once(&zonce, zkey_make);
    struct zctx *z = pthread_getspecific(zkey);
    if (!z) {
        z = kb_xcalloc(1, sizeof *z);
        z->c = ZSTD_createCCtx();
        z->d = ZSTD_createDCtx();
        if (!z->c || !z->d || pthread_setspecific(zkey, z) != 0 ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, PACK_LEVEL)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1)))
            abort(); /* out of memory, as kb_xmalloc */
    }
    return z;
}

static int is_zstd(const char *p, size_t len)
{
    return len >= 4 && (unsigned char)p[0] == 0x28 && (unsigned char)p[1] == 0xB5 &&
           (unsigned char)p[2] == 0x2F && (unsigned char)p[3] == 0xFD;
}

/* in[0, n) as a zstd frame, or a copy when that is not smaller. Caller
 * frees. */
static char *squeeze(const char *in, size_t n, size_t *outlen)
{
    size_t bound = ZSTD_compressBound(n);
    char *out = kb_xmalloc(bound);
    size_t z = ZSTD_compress2(zctx_get()->c, out, bound, in, n);
    if (ZSTD_isError(z) || z >= n) {
        memcpy(out, in, n);
        z = n;
    }
    *outlen = z;
    return out;
}

/* What squeeze wrote (or anything not a zstd frame, as it is), in a new
 * NUL-terminated buffer (*out, caller frees). Returns 0, or -1 with a
 * message in err: a damaged frame. */
static int unsqueeze(const char *data, size_t len, char **out, size_t *outlen, char *err,
                     size_t errlen)
{
    *out = NULL;
    if (!is_zstd(data, len)) {
        *out = kb_xmalloc(len + 1);
        memcpy(*out, data, len);
        (*out)[len] = '\0';
        *outlen = len;
        return 0;
    }
    unsigned long long size = ZSTD_getFrameContentSize(data, len);
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size > PACK_MAX) {
        kb_seterr(err, errlen, "[doc] damaged stored document: bad zstd frame header");
        return -1;
    }
    char *buf = kb_xmalloc((size_t)size + 1);
    size_t n = ZSTD_decompressDCtx(zctx_get()->d, buf, (size_t)size, data, len);
    if (ZSTD_isError(n) || n != size) {
        kb_seterr(err, errlen, "[doc] damaged stored document: %s",
                  ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static void put_u32(struct kb_buf *b, size_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    kb_buf_add(b, (const char *)c, 4);
}

static size_t get_u32(const char *p)
{
    const unsigned char *c = (const unsigned char *)p;
    return (size_t)c[0] | (size_t)c[1] << 8 | (size_t)c[2] << 16 | (size_t)c[3] << 24;
}

/* The text fields with a snippet source, by KB_SNIPSRC_* */
static char **snip_slot(struct kb_doc *d, int k)
{
    switch (k) {
    case KB_SNIPSRC_BODY: return &d->body;
    case KB_SNIPSRC_SYMPTOM: return &d->symptom;
    case KB_SNIPSRC_WORKAROUND: return &d->workaround;
    case KB_SNIPSRC_CAUSE: return &d->cause;
    default: return &d->resolution;
    }
}

static char *pack_json(const struct kb_doc *doc, size_t *len)
{
    char *json = kb_doc_to_json(doc);
    char *out = squeeze(json, strlen(json), len);
    free(json);
    return out;
}

char *kb_doc_pack(const struct kb_doc *doc, kb_analyzer *an, size_t *len)
{
    if (!an)
        return pack_json(doc, len);
    /* the head and the rest: shallow copies of doc's fields */
    struct kb_doc head, rest;
    memset(&head, 0, sizeof head);
    memset(&rest, 0, sizeof rest);
    head.kind = rest.kind = doc->kind;
    for (size_t i = 0; i < NFIELDS; i++)
        *slot(fields[i].head ? &head : &rest, i) = *slot((struct kb_doc *)doc, i);
    head.body_composed = doc->body_composed;
    rest.source_line = doc->source_line;
    struct kb_buf a;
    kb_buf_init(&a);
    char *hj = kb_doc_to_json(&head);
    put_u32(&a, strlen(hj));
    kb_buf_adds(&a, hj);
    free(hj);
    for (int k = 0; k < KB_SNIPSRC_NFIELDS; k++) {
        const char *t = *snip_slot((struct kb_doc *)doc, k);
        size_t n = t ? strlen(t) : 0;
        if (!n || kb_utf8_check(t, n, 0, NULL) < 0)
            continue; /* no snippet from it (the JSON leaves it out) */
        /* a text kept whole in the snippet source is not stored twice
           (the workaround is in the head) */
        if (kb_snipsrc_add(an, k, t, n, &a) && k != KB_SNIPSRC_WORKAROUND)
            *snip_slot(&rest, k) = NULL;
    }
    char *rj = kb_doc_to_json(&rest);
    size_t zal = 0, zrl = 0;
    char *za = squeeze(a.data, a.len, &zal);
    char *zr = squeeze(rj, strlen(rj), &zrl);
    struct kb_buf out;
    kb_buf_init(&out);
    kb_buf_addc(&out, KB_DOC_PACK_SPLIT);
    put_u32(&out, zal);
    kb_buf_add(&out, za, zal);
    kb_buf_add(&out, zr, zrl);
    kb_buf_fin(&a);
    free(rj);
    free(za);
    free(zr);
    *len = out.len;
    return kb_buf_take(&out);
}

/* Part A of the split form, decompressed (caller frees), or NULL with a
 * message in err. */
static char *head_bytes(const char *data, size_t len, size_t *an, char *err, size_t errlen)
{
    size_t al = len >= 5 ? get_u32(data + 1) : 0;
    if (len < 5 || al > len - 5) {
        kb_seterr(err, errlen, "[doc] damaged stored document: cut short");
        return NULL;
    }
    char *a = NULL;
    if (unsqueeze(data + 5, al, &a, an, err, errlen) < 0)
        return NULL;
    return a;
}

/* The head document of part A's bytes a[0..an), the length of its JSON in
 * *hl (the snippet source follows it), or NULL with a message in err. */
static struct kb_doc *head_doc(const char *a, size_t an, size_t *hl, char *err, size_t errlen)
{
    *hl = an >= 4 ? get_u32(a) : 0;
    if (an < 4 || *hl > an - 4) {
        kb_seterr(err, errlen, "[doc] damaged stored document: bad head");
        return NULL;
    }
    return kb_doc_from_json(a + 4, *hl, err, errlen);
}

/* The head document and snippet source of the split form. */
static struct kb_doc *unpack_head(const char *data, size_t len, char **src, size_t *srclen,
                                  char *err, size_t errlen)
{
    *src = NULL;
    *srclen = 0;
    size_t an = 0, hl = 0;
    char *a = head_bytes(data, len, &an, err, errlen);
    struct kb_doc *d = a ? head_doc(a, an, &hl, err, errlen) : NULL;
    if (!d) {
        free(a);
        return NULL;
    }
    memmove(a, a + 4 + hl, an - 4 - hl);
    *src = a;
    *srclen = an - 4 - hl;
    return d;
}

char *kb_doc_head_bytes(const char *data, size_t len, size_t *outlen, char *err, size_t errlen)
{
    *outlen = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!len || data[0] != KB_DOC_PACK_SPLIT)
        return NULL;
    return head_bytes(data, len, outlen, err, errlen);
}

struct kb_doc *kb_doc_head_from_bytes(const char *a, size_t an, char **src, size_t *srclen,
                                      char *err, size_t errlen)
{
    *src = NULL;
    *srclen = 0;
    size_t hl = 0;
    struct kb_doc *d = head_doc(a, an, &hl, err, errlen);
    if (!d)
        return NULL;
    *srclen = an - 4 - hl;
    *src = kb_xmalloc(*srclen + 1);
    memcpy(*src, a + 4 + hl, *srclen);
    (*src)[*srclen] = '\0';
    return d;
}

struct kb_doc *kb_doc_unpack_head(const char *data, size_t len, char **src, size_t *srclen,
                                  char *err, size_t errlen)
{
    if (len && data[0] == KB_DOC_PACK_SPLIT)
        return unpack_head(data, len, src, srclen, err, errlen);
    *src = NULL;
    *srclen = 0;
    return kb_doc_unpack(data, len, err, errlen);
}

struct kb_doc *kb_doc_unpack(const char *data, size_t len, char *err, size_t errlen)
{
    char *json = NULL;
    size_t n = 0;
    if (!len || data[0] != KB_DOC_PACK_SPLIT) {
        if (!is_zstd(data, len))
            return kb_doc_from_json(data, len, err, errlen);
        if (unsqueeze(data, len, &json, &n, err, errlen) < 0)
            return NULL;
        struct kb_doc *d = kb_doc_from_json(json, n, err, errlen);
        free(json);
        return d;
    }
    char *src = NULL;
    size_t srclen = 0;
    struct kb_doc *d = unpack_head(data, len, &src, &srclen, err, errlen), *rest = NULL;
    if (!d)
        return NULL;
    size_t al = get_u32(data + 1);
    if (unsqueeze(data + 5 + al, len - 5 - al, &json, &n, err, errlen) < 0 ||
        !(rest = kb_doc_from_json(json, n, err, errlen)))
        goto fail;
    for (size_t i = 0; i < NFIELDS; i++)
        if (!fields[i].head && *slot(rest, i)) {
            free(*slot(d, i));
            *slot(d, i) = *slot(rest, i);
            *slot(rest, i) = NULL;
        }
    d->source_line = rest->source_line;
    for (int k = 0; k < KB_SNIPSRC_NFIELDS; k++) {
        struct kb_snipsrc_field f;
        int rc = kb_snipsrc_find(src, srclen, k, &f);
        if (rc < 0) {
            kb_seterr(err, errlen, "[doc] damaged stored document: bad snippet source");
            goto fail;
        }
        char **t = snip_slot(d, k);
        if (rc == 1 && !*t && f.rawlen == f.flen) /* kept whole there only */
            *t = kb_xstrndup(f.raw, f.rawlen);
    }
    kb_doc_free(rest);
    free(json);
    free(src);
    return d;
fail:
    kb_doc_free(rest);
    kb_doc_free(d);
    free(json);
    free(src);
    return NULL;
}
