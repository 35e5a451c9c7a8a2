/* kb_util: error buffers, aborting allocators, a growable buffer, file
 * reading and hashing shared by every kbdesk module. */
#include "kb_util.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kb_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void oom(size_t n)
{
    fprintf(stderr, "kbdesk: out of memory allocating %zu bytes\n", n);
    abort();
}

void *kb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *kb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *kb_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *kb_xstrdup(const char *s)
{
    return s ? kb_xstrndup(s, strlen(s)) : NULL;
}

char *kb_xstrndup(const char *s, size_t n)
{
    char *p = kb_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void kb_buf_init(struct kb_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void kb_buf_fin(struct kb_buf *b)
{
    free(b->data);
    kb_buf_init(b);
}

void kb_buf_reset(struct kb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void grow(struct kb_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = kb_xrealloc(b->data, cap);
    b->cap = cap;
}

void kb_buf_add(struct kb_buf *b, const char *s, size_t n)
{
    grow(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void kb_buf_adds(struct kb_buf *b, const char *s)
{
    kb_buf_add(b, s, strlen(s));
}

void kb_buf_addc(struct kb_buf *b, char c)
{
    kb_buf_add(b, &c, 1);
}

void kb_buf_printf(struct kb_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof tmp) {
        kb_buf_add(b, tmp, (size_t)n);
    } else if (n > 0) {
        grow(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *kb_buf_take(struct kb_buf *b)
{
    char *p = b->data ? b->data : kb_xstrdup("");
    kb_buf_init(b);
    return p;
}

/* Whether any of the eight bytes of v is below 0x20, '"' or '\\' (the
 * bytes a JSON string escapes): the has-zero-byte test of "Bit Twiddling
 * Hacks", exact for whether any byte matches. */
static int json_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    return (((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs ? 1 : 0;
}

void kb_buf_json_str(struct kb_buf *b, const char *s, size_t n)
{
    kb_buf_addc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (n - i >= 8) { /* eight plain bytes at a time */
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (!json_special8(v)) {
                i += 7;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        kb_buf_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': kb_buf_add(b, "\\\"", 2); break;
        case '\\': kb_buf_add(b, "\\\\", 2); break;
        case '\b': kb_buf_add(b, "\\b", 2); break;
        case '\f': kb_buf_add(b, "\\f", 2); break;
        case '\n': kb_buf_add(b, "\\n", 2); break;
        case '\r': kb_buf_add(b, "\\r", 2); break;
        case '\t': kb_buf_add(b, "\\t", 2); break;
        default: {
            static const char hex[] = "0123456789ABCDEF";
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            kb_buf_add(b, u, sizeof u);
        }
        }
    }
    kb_buf_add(b, s + run, n - run);
    kb_buf_addc(b, '"');
}

void kb_buf_json_key(struct kb_buf *b, int *first, const char *k)
{
    if (!*first)
        kb_buf_addc(b, ',');
    *first = 0;
    kb_buf_json_str(b, k, strlen(k));
    kb_buf_addc(b, ':');
}

void kb_buf_json_int(struct kb_buf *b, long long v)
{
    char t[24], *p = t + sizeof t;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    kb_buf_add(b, p, (size_t)(t + sizeof t - p));
}

/* %.8g of v into t (at least 32 bytes) without printf, for the values a
 * search answer holds (scores, confidences, times): |v| in [1e-4, 1e8)
 * when the eight rounded digits are certain. Returns the length, or 0 when
 * printf must decide (another range, or v * 10^k so close to a rounding
 * tie that the product's own rounding could tip it). */
static size_t real_8g(double v, char *t)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11};
    static const double from[] = {1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1,
                                  1e2,  1e3,  1e4,  1e5,  1e6, 1e7};
    double a = v < 0 ? -v : v;
    if (!(a >= 1e-4 && a < 1e8))
        return 0;
    int x = -4; /* the decimal exponent: 10^x <= a < 10^(x+1) */
    while (x < 7 && a >= from[x + 5])
        x++;
    double scaled = a * p10[7 - x]; /* the factor is exact */
    if (!(scaled >= 1e7 && scaled < 1e8))
        return 0; /* a power of ten's neighbour: printf knows */
    double fl = floor(scaled), frac = scaled - fl;
    if (frac > 0.5 - 1e-6 && frac < 0.5 + 1e-6)
        return 0;
    unsigned long r = (unsigned long)fl + (frac > 0.5);
    if (r >= 100000000UL) { /* rounded up to the next power of ten */
        if (x == 7)
            return 0; /* 1e8: printf writes an exponent */
        r = 10000000UL;
        x++;
    }
    char d[8];
    for (int i = 7; i >= 0; i--, r /= 10)
        d[i] = (char)('0' + r % 10);
    int nd = 8; /* significant digits left after the trailing zeros */
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (v < 0)
        t[n++] = '-';
    if (x >= 0) {
        for (int i = 0; i <= x; i++)
            t[n++] = d[i];
        if (nd > x + 1) {
            t[n++] = '.';
            for (int i = x + 1; i < nd; i++)
                t[n++] = d[i];
        }
    } else {
        t[n++] = '0';
        t[n++] = '.';
        for (int i = -1; i > x; i--)
            t[n++] = '0';
        for (int i = 0; i < nd; i++)
            t[n++] = d[i];
    }
    t[n] = '\0';
    return n;
}

void kb_buf_json_real(struct kb_buf *b, double v)
{
    char t[64];
    size_t n = real_8g(v, t);
    if (n) {
        kb_buf_add(b, t, n);
        if (!memchr(t, '.', n))
            kb_buf_add(b, ".0", 2);
        return;
    }
    snprintf(t, sizeof t, "%.8g", v);
    if (!strpbrk(t, ".eE")) {
        kb_buf_adds(b, t);
        kb_buf_add(b, ".0", 2);
        return;
    }
    char *e = strpbrk(t, "eE");
    if (!e) {
        kb_buf_adds(b, t);
        return;
    }
    /* 1.5e+07 -> 1.5e7, 1e-07 -> 1e-7 */
    kb_buf_add(b, t, (size_t)(e - t) + 1);
    const char *p = e + 1;
    if (*p == '+')
        p++;
    else if (*p == '-')
        kb_buf_addc(b, *p++);
    while (*p == '0' && p[1])
        p++;
    kb_buf_adds(b, p);
}

int kb_read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        kb_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct kb_buf b;
    kb_buf_init(&b);
    int bad = kb_buf_read(&b, f);
    fclose(f);
    if (bad) {
        kb_seterr(err, errlen, "%s: read error", path);
        kb_buf_fin(&b);
        return -1;
    }
    *len = b.len;
    *out = kb_buf_take(&b);
    return 0;
}

int kb_buf_read(struct kb_buf *b, FILE *f)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        kb_buf_add(b, chunk, n);
    return ferror(f) ? -1 : 0;
}

uint64_t kb_hash64(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

char *kb_strip(char *s)
{
    char *p = s;
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        else if ((unsigned char)p[0] == 0xE3 && (unsigned char)p[1] == 0x80 &&
                 (unsigned char)p[2] == 0x80)
            p += 3;
        else
            break;
    }
    size_t n = strlen(p);
    for (;;) {
        if (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
            n--;
        else if (n >= 3 && (unsigned char)p[n - 3] == 0xE3 &&
                 (unsigned char)p[n - 2] == 0x80 && (unsigned char)p[n - 1] == 0x80)
            n -= 3;
        else
            break;
    }
    memmove(s, p, n);
    s[n] = '\0';
    return s;
}
