/* kb_norm: UTF-8 check, utf8proc NFKC + case fold, OpenCC t2s.
 *
 * Why OpenCC rather than a hand-made table: it is packaged in Debian
 * (libopencc), maintained, and converts phrase by phrase, which handles the
 * one-to-many Traditional/Simplified cases a character table gets wrong
 * (乾/干, 著/着). Both index and query pass through it, so any choice it
 * makes is made the same way on both sides. */
#include "kb_norm.h"
#include "kb_norm_dict.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <opencc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Traditional to Simplified characters, phrase-aware (知識庫 → 知识库).
 * Not tw2sp: its Taiwan-to-mainland vocabulary also rewrites Simplified
 * text (建立 → 创建). Regional words (印表机 / 打印机, 软体 / 软件) are
 * glossary synonyms instead. */
#define KB_NORM_OPENCC_CONFIG "t2s.json"

/* Skipping OpenCC. OpenCC only ever changes text where one of its
 * conversions' keys occurs whose value differs from the key (a conversion
 * looks keys up at positions of the text and copies every character no key
 * matches; kb_norm_dict.h says why this holds along a chain). So when no
 * position of a text starts such a key, the conversion is the identity and
 * is skipped. kb_norm_new lists those keys (kb_norm_dict) into:
 *   one[]   code points that are a whole key by themselves (a Traditional
 *           character: its mere presence means "convert");
 *   first[] code points that start a longer key (phrases such as 沈默,
 *           計畫: often common Simplified characters, so the phrase itself
 *           is looked for at that position, in multi[]);
 *   multi   the longer keys, sorted by their bytes, so the keys starting
 *           with one character are adjacent.
 * Keys that convert to themselves (有序) are left out. The check is
 * conservative (a key counts wherever it occurs, even where OpenCC's
 * segmentation would not let it match), so a skipped text is exactly what
 * OpenCC would have returned. If the keys
 * cannot be listed, every text with Han characters goes through OpenCC as
 * before. */
#define KB_NORM_CPMAX 0x30000 /* code points covered by the bitmaps */
#define KB_NORM_PAIRS 65536   /* bits of the two-character filter */

struct norm_key {
    char *s; /* NUL-terminated, owned by the kb_norm */
    size_t len;
};

/* NFKC, case folding, default-ignorables dropped, newlines to LF */
#define NORM_OPTS                                                                        \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |          \
     UTF8PROC_IGNORE | UTF8PROC_NLF2LF)

/* cache of single-character normal forms (see norm_char) */
#define KB_NORM_CACHE 512
#define KB_NORM_CHAR_MAX 12
struct norm_cache_ent {
    int32_t cp;
    uint8_t len; /* 0: empty slot */
    char bytes[KB_NORM_CHAR_MAX];
};

struct kb_norm {
    opencc_t cc;
    struct norm_cache_ent cache[KB_NORM_CACHE];
    int keys_ok;             /* the tables below are complete */
    int hi_one, hi_first;    /* some key character is >= KB_NORM_CPMAX */
    int ascii_first;         /* some key starts with an ASCII character */
    uint8_t one[KB_NORM_CPMAX / 8], first[KB_NORM_CPMAX / 8];
    uint8_t pair[KB_NORM_PAIRS / 8]; /* hashes of longer keys' first two characters */
    struct norm_key *multi;  /* owned array of nmulti keys, sorted */
    size_t nmulti, multicap;
};

static void bit_set(uint8_t *bits, int32_t cp)
{
    bits[cp >> 3] |= (uint8_t)(1u << (cp & 7));
}

static int bit_get(const uint8_t *bits, int32_t cp)
{
    return (bits[cp >> 3] >> (cp & 7)) & 1;
}

/* The filter bit of a key's (or a text position's) first two characters. */
static int32_t pair_bit(int32_t a, int32_t b)
{
    return (int32_t)((((uint32_t)a * 2654435761u) ^ ((uint32_t)b * 40503u)) & (KB_NORM_PAIRS - 1));
}

static int add_key(void *ud, const char *key, size_t len)
{
    kb_norm *n = ud;
    size_t i = 0;
    if (len == 0)
        return 0;
    if (kb_utf8_check(key, len, 0, NULL) < 0)
        return 1; /* cannot reason about it: give up skipping */
    int32_t cp = kb_utf8_next(key, len, &i);
    int whole = i == len;
    if (cp < 0x80)
        n->ascii_first = 1;
    if (cp >= KB_NORM_CPMAX)
        *(whole ? &n->hi_one : &n->hi_first) = 1;
    else
        bit_set(whole ? n->one : n->first, cp);
    if (whole)
        return 0;
    size_t j = i;
    bit_set(n->pair, pair_bit(cp, kb_utf8_next(key, len, &j)));
    if (n->nmulti == n->multicap) {
        n->multicap = n->multicap ? n->multicap * 2 : 256;
        n->multi = kb_xrealloc(n->multi, n->multicap * sizeof *n->multi);
    }
    n->multi[n->nmulti].s = kb_xstrndup(key, len);
    n->multi[n->nmulti].len = len;
    n->nmulti++;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const struct norm_key *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Does a longer key start at s[0..len), whose first character is c bytes? */
static int multi_at(const kb_norm *n, const char *s, size_t len, size_t c)
{
    /* lower bound of the keys whose first character is s[0..c) */
    size_t lo = 0, hi = n->nmulti;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct norm_key *k = &n->multi[mid];
        if (memcmp(k->s, s, c) < 0) /* keys are longer than one character */
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t j = lo; j < n->nmulti && memcmp(n->multi[j].s, s, c) == 0; j++)
        if (n->multi[j].len <= len && memcmp(n->multi[j].s, s, n->multi[j].len) == 0)
            return 1;
    return 0;
}

/* Could OpenCC change s[0..len) (valid UTF-8)? 0 only when no position of
 * s starts a key of its dictionaries. */
static int needs_opencc(const kb_norm *n, const char *s, size_t len)
{
    if (!n->keys_ok)
        return 1;
    for (size_t i = 0; i < len;) {
        if (!n->ascii_first && (unsigned char)s[i] < 0x80) {
            /* no key starts here: skip ASCII, eight bytes at a time */
            for (uint64_t v; len - i >= 8; i += 8) {
                memcpy(&v, s + i, 8);
                if (v & 0x8080808080808080u)
                    break;
            }
            while (i < len && (unsigned char)s[i] < 0x80)
                i++;
            continue;
        }
        size_t at = i;
        int32_t cp = kb_utf8_next(s, len, &i);
        if (cp < 0)
            return 1;
        if (cp >= KB_NORM_CPMAX) {
            if (n->hi_one || n->hi_first)
                return 1;
            continue;
        }
        if (bit_get(n->one, cp))
            return 1;
        if (bit_get(n->first, cp) && i < len) {
            /* a longer key, if its first two characters may be these */
            size_t j = i;
            int32_t cp2 = kb_utf8_next(s, len, &j);
            if (cp2 < 0 || (bit_get(n->pair, pair_bit(cp, cp2)) &&
                            multi_at(n, s + at, len - at, i - at)))
                return 1;
        }
    }
    return 0;
}

int kb_norm_new(kb_norm **out, char *err, size_t errlen)
{
    *out = NULL;
    opencc_t cc = opencc_open(KB_NORM_OPENCC_CONFIG);
    if (cc == (opencc_t)-1) {
        kb_seterr(err, errlen, "[norm][opencc] cannot load %s: %s", KB_NORM_OPENCC_CONFIG,
                  opencc_error());
        return KB_NORM_EOPENCC;
    }
    kb_norm *n = kb_xcalloc(1, sizeof *n);
    n->cc = cc;
    char kerr[256];
    n->keys_ok = kb_norm_dict_keys(KB_NORM_OPENCC_CONFIG, add_key, n, kerr, sizeof kerr) == 0;
    if (n->keys_ok && n->nmulti)
        qsort(n->multi, n->nmulti, sizeof *n->multi, cmp_key);
    *out = n;
    return 0;
}

void kb_norm_free(kb_norm *n)
{
    if (!n)
        return;
    opencc_close(n->cc);
    for (size_t i = 0; i < n->nmulti; i++)
        free(n->multi[i].s);
    free(n->multi);
    free(n);
}

/* Is there any byte that could be Traditional Chinese (any CJK ideograph)?
 * Pure ASCII / Latin text skips OpenCC entirely. */
static int has_han(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0xE3)
            return 1;
    return 0;
}

/* An ASCII character as utf8proc_map with our options leaves it: A-Z
 * folded, CR (alone: see crlf_at) made LF. */
static char fold_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c == '\r' ? '\n' : c;
}

/* Is text[i] the CR of a CR LF (dropped: the LF stands for both)? */
static int crlf_at(const char *text, size_t len, size_t i)
{
    return text[i] == '\r' && i + 1 < len && text[i + 1] == '\n';
}

/* ASCII-only text: what utf8proc_map with our options does to it (A-Z
 * folded, CR LF and lone CR become LF; nothing else changes), without
 * decoding to UTF-32 and back. Returns NULL if text is not all ASCII;
 * else a heap string (caller frees) and *outlen. */
static char *norm_ascii(const char *text, size_t len, size_t *outlen)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] >= 0x80)
            return NULL;
    char *o = kb_xmalloc(len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (!crlf_at(text, len, i))
            o[k++] = fold_ascii(text[i]);
    o[k] = '\0';
    *outlen = k;
    return o;
}

/* Runs OpenCC on s[0, len). Returns a heap copy of the result (caller
 * frees), or NULL with a message in err. */
static char *convert(kb_norm *n, const char *s, size_t len, char *err, size_t errlen)
{
    char *conv = opencc_convert_utf8(n->cc, s, len);
    if (!conv) {
        kb_seterr(err, errlen, "[norm][opencc] conversion failed: %s", opencc_error());
        return NULL;
    }
    char *r = kb_xstrdup(conv);
    opencc_convert_utf8_free(conv);
    return r;
}

/* Normalising text piece by piece. utf8proc_map decodes the whole text to
 * UTF-32 and back, which costs more than everything else kb_norm does on
 * Chinese text, although NFKC and case folding leave ASCII (but A-Z and
 * CR) and CJK Unified Ideographs as they are. So the text is cut where the
 * normal form of the whole is the normal forms of the pieces one after the
 * other: before a "safe" character, a starter (canonical combining class
 * 0) whose normal form begins with a starter that never composes with what
 * precedes it, so no reordering or composition crosses the cut, and CR LF
 * (both ASCII) is never cut. A safe character followed by another safe one
 * (or the end) is a piece by itself, written straight out (ASCII, CJK) or
 * through norm_char's cache (punctuation); anything else goes to
 * utf8proc_map as a piece that starts at the safe character before it and
 * runs up to the next safe character, so a combining mark or an ignorable
 * stays with what it could combine with (and a CR with an LF after
 * ignorables: such a piece runs on past LF). tests/unit/test_norm_skip.c
 * checks every safe punctuation mark, in context, against utf8proc_map of
 * the whole text.
 *
 * Safe: 2 for ASCII and CJK Unified Ideographs (kept as they are, A-Z
 * folded, CR LF and CR made LF), 1 for the punctuation below (each has no
 * canonical combining class and is no second character of any canonical
 * composition; their compatibility forms are ASCII, CJK or such marks
 * too), 0 for anything else. Ignorables (U+200B..U+200F, U+202A..U+202E,
 * U+2060..) are not safe: they vanish, and what they separated could
 * combine. */
static int safe_class(int32_t cp)
{
    if (cp < 0x80 || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF))
        return 2;
    if ((cp >= 0x3000 && cp <= 0x3029) || (cp >= 0x3030 && cp <= 0x303F) || /* CJK marks */
        (cp >= 0xFF01 && cp <= 0xFF5E) ||                                    /* full width */
        (cp >= 0x2010 && cp <= 0x2027) || (cp >= 0x2030 && cp <= 0x205E))    /* general */
        return 1;
    return 0;
}

/* The code point at text[*i] (valid UTF-8), advancing *i. */
static int32_t next_cp(const char *text, size_t len, size_t *i)
{
    if ((unsigned char)text[*i] < 0x80)
        return (unsigned char)text[(*i)++];
    return kb_utf8_next(text, len, i);
}

static utf8proc_ssize_t norm_char(kb_norm *n, int32_t cp, const char *src, size_t srclen,
                                  char *out, utf8proc_uint8_t **long_out);

/* Appends s[0..sl) to the piece buffer *buf (length *o, capacity *cap). */
static void piece_add(char **buf, size_t *o, size_t *cap, const char *s, size_t sl)
{
    if (*o + sl + 1 > *cap) {
        *cap = (*o + sl + 1) * 2;
        *buf = kb_xrealloc(*buf, *cap);
    }
    memcpy(*buf + *o, s, sl);
    *o += sl;
}

/* What utf8proc_map with NORM_OPTS makes of text[0..len) (valid UTF-8, no
 * NUL), piece by piece as above. Returns a heap string (caller frees) and
 * *outlen, or NULL on a utf8proc error (its code in *uerr). */
static char *norm_pieces(kb_norm *n, const char *text, size_t len, size_t *outlen,
                         utf8proc_ssize_t *uerr)
{
    size_t cap = len + 64, o = 0;
    char *buf = kb_xmalloc(cap);
    for (size_t i = 0; i < len;) {
        size_t at = i;
        int32_t cp = next_cp(text, len, &i);
        int cls = safe_class(cp);
        if (cls) {
            size_t j = i;
            if (j == len || safe_class(next_cp(text, len, &j))) {
                char piece[KB_NORM_CHAR_MAX];
                utf8proc_uint8_t *long_form = NULL;
                utf8proc_ssize_t ml;
                if (cp < 0x80) {
                    if (crlf_at(text, len, at))
                        continue;
                    piece[0] = fold_ascii(text[at]);
                    piece_add(&buf, &o, &cap, piece, 1);
                } else if (cls == 2) {
                    piece_add(&buf, &o, &cap, text + at, i - at);
                } else if ((ml = norm_char(n, cp, text + at, i - at, piece, &long_form)) < 0) {
                    free(buf);
                    *uerr = ml;
                    return NULL;
                } else {
                    piece_add(&buf, &o, &cap, long_form ? (const char *)long_form : piece,
                              (size_t)ml);
                    free(long_form);
                }
                continue;
            }
        }
        /* a piece for utf8proc: up to the next safe character other than
           LF (utf8proc drops ignorables before it joins CR and LF, so a CR
           in the piece may pair with an LF after them) */
        for (size_t j = i; i < len; j = i) {
            int32_t d = next_cp(text, len, &j);
            if (d != '\n' && safe_class(d))
                break;
            i = j;
        }
        utf8proc_uint8_t *mapped = NULL;
        utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)text + at,
                                           (utf8proc_ssize_t)(i - at), &mapped, NORM_OPTS);
        if (ml < 0) {
            free(buf);
            *uerr = ml;
            return NULL;
        }
        piece_add(&buf, &o, &cap, (const char *)mapped, (size_t)ml);
        free(mapped);
    }
    buf[o] = '\0';
    *outlen = o;
    return buf;
}

int kb_norm_text(kb_norm *n, const char *text, size_t len, char **out, size_t *outlen,
                 char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    size_t bad = 0;
    int rc = kb_utf8_check(text, len, 0, &bad);
    if (rc < 0) {
        kb_seterr(err, errlen, "[norm] %s at byte %zu", kb_utf8_strerror(rc), bad);
        return rc == KB_UTF8_ENUL ? KB_NORM_ENUL : KB_NORM_EUTF8;
    }
    if (len == 0) {
        *out = kb_xstrdup("");
        return 0;
    }
    if ((*out = norm_ascii(text, len, outlen)))
        return 0; /* no Han either: OpenCC has nothing to do */
    utf8proc_ssize_t uerr = 0;
    size_t fl = 0;
    char *folded = norm_pieces(n, text, len, &fl, &uerr);
    if (!folded) {
        kb_seterr(err, errlen, "[norm][utf8proc] %s", utf8proc_errmsg(uerr));
        return KB_NORM_EUTF8PROC;
    }
    if (!has_han(folded, fl) || !needs_opencc(n, folded, fl)) {
        *out = folded;
        *outlen = fl;
        return 0;
    }
    char *conv = convert(n, folded, fl, err, errlen);
    free(folded);
    if (!conv)
        return KB_NORM_EOPENCC;
    *outlen = strlen(conv);
    *out = conv;
    return 0;
}

/* The normalised form of one character that is neither ASCII nor a CJK
 * Unified Ideograph (utf8proc_map on that character alone), through a small
 * direct-mapped cache: Chinese text repeats a few dozen punctuation marks.
 * Returns the byte length written to out (at most KB_NORM_CHAR_MAX), or a
 * negative utf8proc error; *long_out (caller frees) receives a form too
 * long for out, which only compatibility ligatures such as U+FDFA have. */
static utf8proc_ssize_t norm_char(kb_norm *n, int32_t cp, const char *src, size_t srclen,
                                  char *out, utf8proc_uint8_t **long_out)
{
    struct norm_cache_ent *e = &n->cache[(uint32_t)cp % KB_NORM_CACHE];
    *long_out = NULL;
    if (e->cp == cp && e->len > 0) {
        memcpy(out, e->bytes, e->len);
        return e->len;
    }
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)src, (utf8proc_ssize_t)srclen,
                                       &mapped, NORM_OPTS);
    if (ml < 0)
        return ml;
    if (ml > KB_NORM_CHAR_MAX) {
        *long_out = mapped;
        return ml;
    }
    memcpy(out, mapped, (size_t)ml);
    free(mapped);
    if (ml > 0) { /* an ignorable character maps to nothing: not cached */
        e->cp = cp;
        e->len = (uint8_t)ml;
        memcpy(e->bytes, out, (size_t)ml);
    }
    return ml;
}

/* Frees the text map's buffers and reports invalid input rc at byte at. */
static int map_fail(int rc, size_t at, char *buf, size_t *m, char *err, size_t errlen)
{
    free(buf);
    free(m);
    kb_seterr(err, errlen, "[norm] %s at byte %zu", kb_utf8_strerror(rc), at);
    return rc == KB_UTF8_ENUL ? KB_NORM_ENUL : KB_NORM_EUTF8;
}

/* Makes room in the text map's buffer and offsets for need bytes. */
static void reserve(char **buf, size_t **m, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    *cap = need * 2;
    *buf = kb_xrealloc(*buf, *cap + 1);
    *m = kb_xrealloc(*m, (*cap + 1) * sizeof **m);
}

int kb_norm_text_map(kb_norm *n, const char *text, size_t len, char **out, size_t *outlen,
                     size_t **map, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    *map = NULL;
    /* most characters keep their length (ASCII, CJK): room for that, grown
       when a character expands */
    size_t cap = len + 64, o = 0;
    char *buf = kb_xmalloc(cap + 1);
    size_t *m = kb_xmalloc((cap + 1) * sizeof *m);
    for (size_t i = 0; i < len;) {
        size_t at = i;
        /* ASCII and CJK Unified Ideographs (the most of it) written
           straight out; eight ASCII bytes at a time while none is a NUL
           or a CR (A-Z folded, nothing else changes) */
        if (len - i >= 8) {
            uint64_t v;
            memcpy(&v, text + i, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t cr = v ^ (ones * '\r');
            if (!((v | ((v - ones) & ~v) | ((cr - ones) & ~cr)) & highs)) {
                reserve(&buf, &m, &cap, o + 8);
                for (size_t k = 0; k < 8; k++) {
                    char c = text[i + k];
                    m[o + k] = i + k;
                    buf[o + k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
                }
                o += 8;
                i += 8;
                continue;
            }
        }
        if ((unsigned char)text[i] < 0x80) {
            if (text[i++] == '\0')
                return map_fail(KB_UTF8_ENUL, at, buf, m, err, errlen);
            if (crlf_at(text, len, at))
                continue;
            reserve(&buf, &m, &cap, o + 1);
            m[o] = at;
            buf[o++] = fold_ascii(text[at]);
            continue;
        }
        char piece[KB_NORM_CHAR_MAX];
        const char *src = piece;
        utf8proc_uint8_t *long_form = NULL;
        int32_t cp = kb_utf8_next(text, len, &i);
        if (cp < 0) /* the text is checked as it is read */
            return map_fail(KB_UTF8_EINVAL, at, buf, m, err, errlen);
        if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF)) {
            /* CJK Unified Ideographs: no decomposition, no case, not
               ignorable, so NFKC and case folding leave them as they are
               (the unit test checks every one against utf8proc) */
            reserve(&buf, &m, &cap, o + 3);
            m[o] = m[o + 1] = m[o + 2] = at;
            memcpy(buf + o, text + at, 3); /* U+3400..U+9FFF: three bytes */
            o += 3;
            continue;
        }
        utf8proc_ssize_t ml = norm_char(n, cp, text + at, i - at, piece, &long_form);
        if (ml < 0) {
            kb_seterr(err, errlen, "[norm][utf8proc] %s", utf8proc_errmsg(ml));
            free(buf);
            free(m);
            return KB_NORM_EUTF8PROC;
        }
        if (long_form)
            src = (const char *)long_form;
        size_t plen = (size_t)ml;
        reserve(&buf, &m, &cap, o + plen);
        for (size_t k = 0; k < plen; k++)
            m[o + k] = at;
        memcpy(buf + o, src, plen);
        o += plen;
        free(long_form);
    }
    buf[o] = '\0';
    m[o] = len;
    if (has_han(buf, o) && needs_opencc(n, buf, o)) {
        char *conv = convert(n, buf, o, err, errlen);
        if (!conv) {
            free(buf);
            free(m);
            return KB_NORM_EOPENCC;
        }
        if (strlen(conv) == o) /* the usual case: character for character */
            memcpy(buf, conv, o);
        /* else keep the unconverted text: offsets matter more here */
        free(conv);
    }
    *outlen = o;
    *out = buf;
    *map = m;
    return 0;
}
