/* kb_tok: CJK words (ICU + domain lexicon) and bigrams, Latin words with
 * stems, and codes kept whole. See kb_tok.h for the rules. */
#include "kb_tok.h"
#include "kb_stem.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/ustring.h>
#include <utf8proc.h>

enum cls { C_SEP, C_CJK, C_ALNUM };

/* English stems, cached: the same words recur all through a corpus, and
 * Xapian's stemmer costs more than a lookup. Direct-mapped by the word's
 * hash; a word or stem too long for an entry is stemmed every time. */
#define STEMC_SIZE 16384 /* entries, a power of two */
#define STEMC_WORD 30
#define STEMC_STEM 32
struct stem_ent {
    uint8_t wlen;      /* 0: empty */
    int8_t slen;       /* the stemmer's result: the stem's length, or < 0 */
    char w[STEMC_WORD];
    char s[STEMC_STEM];
};

/* ICU's words of short CJK runs, cached: a run's words depend on its text
 * alone (ubrk_setText starts afresh on each run), and short runs (2字, 选择,
 * 单击) recur all through a corpus. Direct-mapped by the run's hash; an
 * entry holds the run and the set of char indices where its words start
 * (the words are contiguous and end at the run's end). */
#define SEGC_SIZE 8192  /* entries, a power of two */
#define SEGC_BYTES 24   /* longest run cached, in bytes (8 CJK chars) */
_Static_assert(SEGC_BYTES < 32, "a cached run's word starts fit in 32 bits");
struct seg_ent {
    uint8_t len;        /* 0: empty */
    char run[SEGC_BYTES];
    uint32_t starts;    /* bit k: a word starts at char k */
};

struct kb_tok {
    const kb_lexicon *lx;
    UBreakIterator *bi;
    kb_stem *stem;
    /* per-run scratch, grown as needed */
    UChar *u16;
    size_t u16cap;
    size_t *off;       /* byte offset of each CJK char, plus the end */
    int32_t *u16off;   /* UTF-16 offset of each char, plus the end */
    int *icu_end;      /* char index where the ICU word starting here ends, or -1 */
    int *lex_end;      /* same for the longest lexicon word */
    size_t *pairmax;   /* kb_lexicon_pairmax of the two chars starting here */
    unsigned char *covered; /* char lies inside a lexicon word of 2+ chars */
    size_t charcap;
    char stembuf[KB_TOK_MAX_TERM + 2];
    struct stem_ent *stemc; /* owned, STEMC_SIZE entries */
    struct seg_ent *segc;   /* owned, SEGC_SIZE entries */
};

int kb_tok_is_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF) ||
           (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF) ||
           c == 0x3007; /* 〇 */
}

/* [0-9A-Za-z] */
static int ascii_alnum(char c)
{
    unsigned char u = (unsigned char)c;
    return (unsigned)((u | 0x20) - 'a') < 26u || (unsigned)(u - '0') < 10u;
}

static enum cls classify(int32_t c)
{
    if (c < 0x80) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
            return C_ALNUM;
        return C_SEP;
    }
    if (kb_tok_is_cjk(c))
        return C_CJK;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return C_ALNUM;
    default:
        return C_SEP;
    }
}

int kb_tok_new(const kb_lexicon *lx, kb_tok **out, char *err, size_t errlen)
{
    *out = NULL;
    UErrorCode st = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, "zh", NULL, 0, &st);
    if (U_FAILURE(st)) {
        kb_seterr(err, errlen, "[tok][icu] ubrk_open: %s", u_errorName(st));
        return -1;
    }
    kb_stem *stem = kb_stem_new();
    if (!stem) {
        ubrk_close(bi);
        kb_seterr(err, errlen, "[tok][stem] cannot create the English stemmer");
        return -1;
    }
    kb_tok *t = kb_xcalloc(1, sizeof *t);
    t->lx = lx;
    t->bi = bi;
    t->stem = stem;
    t->stemc = kb_xcalloc(STEMC_SIZE, sizeof *t->stemc);
    t->segc = kb_xcalloc(SEGC_SIZE, sizeof *t->segc);
    *out = t;
    return 0;
}

void kb_tok_free(kb_tok *t)
{
    if (!t)
        return;
    ubrk_close(t->bi);
    kb_stem_free(t->stem);
    free(t->u16);
    free(t->off);
    free(t->u16off);
    free(t->icu_end);
    free(t->lex_end);
    free(t->pairmax);
    free(t->covered);
    free(t->stemc);
    free(t->segc);
    free(t);
}

static void reserve_chars(kb_tok *t, size_t n)
{
    if (n + 1 <= t->charcap)
        return;
    size_t cap = t->charcap ? t->charcap : 64;
    while (cap < n + 1)
        cap *= 2;
    t->off = kb_xrealloc(t->off, cap * sizeof *t->off);
    t->u16off = kb_xrealloc(t->u16off, cap * sizeof *t->u16off);
    t->icu_end = kb_xrealloc(t->icu_end, cap * sizeof *t->icu_end);
    t->lex_end = kb_xrealloc(t->lex_end, cap * sizeof *t->lex_end);
    t->pairmax = kb_xrealloc(t->pairmax, cap * sizeof *t->pairmax);
    t->covered = kb_xrealloc(t->covered, cap);
    t->charcap = cap;
}

/* Stems word[0..len) into t->stembuf + 1 as kb_stem_word does (same
 * result), through the cache. */
static int stem_cached(kb_tok *t, const char *word, size_t len)
{
    char *out = t->stembuf + 1;
    size_t cap = sizeof t->stembuf - 1;
    if (len == 0 || len > STEMC_WORD)
        return kb_stem_word(t->stem, word, len, out, cap);
    struct stem_ent *e = &t->stemc[kb_hash64(word, len) & (STEMC_SIZE - 1)];
    if (e->wlen == len && memcmp(e->w, word, len) == 0) {
        if (e->slen > 0) {
            memcpy(out, e->s, (size_t)e->slen);
            out[e->slen] = '\0';
        }
        return e->slen;
    }
    int n = kb_stem_word(t->stem, word, len, out, cap);
    if (n < STEMC_STEM) {
        e->wlen = (uint8_t)len;
        memcpy(e->w, word, len);
        e->slen = (int8_t)(n < 0 ? -1 : n);
        if (n > 0)
            memcpy(e->s, out, (size_t)n);
    }
    return n;
}

static int emit(kb_tok_cb cb, void *ud, const char *term, size_t len, uint32_t pos,
                size_t start, size_t end, unsigned flags)
{
    if (len == 0 || len > KB_TOK_MAX_TERM)
        return 0;
    struct kb_token tk = {term, len, pos, start, end, flags};
    int rc = cb(ud, &tk);
    /* KB_TOK_NOSTEM goes back to run_alnum for a Latin word only */
    if (rc == KB_TOK_NOSTEM && (flags & (KB_TOKF_WORD | KB_TOKF_CJK)) != KB_TOKF_WORD)
        return 0;
    return rc;
}

/* Sets t->icu_end for the CJK run text[rs..re) of n chars (t->off filled,
 * t->icu_end all -1): ICU's words, through the cache for a short run.
 * Returns 0, or -1 with a message in err. */
static int icu_words(kb_tok *t, const char *text, size_t rs, size_t re, size_t n, char *err,
                     size_t errlen)
{
    struct seg_ent *e = NULL;
    if (re - rs <= SEGC_BYTES) {
        e = &t->segc[kb_hash64(text + rs, re - rs) & (SEGC_SIZE - 1)];
        if (e->len == re - rs && memcmp(e->run, text + rs, re - rs) == 0) {
            size_t k = 0; /* a word starts at 0 */
            for (size_t j = 1; j <= n; j++)
                if (j == n || (e->starts >> j & 1)) {
                    t->icu_end[k] = (int)j;
                    k = j;
                }
            return 0;
        }
    }
    if (t->u16cap < (re - rs) + 1) {
        t->u16cap = (re - rs) + 1;
        t->u16 = kb_xrealloc(t->u16, t->u16cap * sizeof(UChar));
    }
    int32_t u16len = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = t->off[k];
        int32_t c = kb_utf8_next(text, re, &i);
        t->u16off[k] = u16len;
        if (c >= 0x10000) {
            t->u16[u16len++] = (UChar)(0xD800 + ((c - 0x10000) >> 10));
            t->u16[u16len++] = (UChar)(0xDC00 + ((c - 0x10000) & 0x3FF));
        } else {
            t->u16[u16len++] = (UChar)c;
        }
    }
    t->u16off[n] = u16len;

    UErrorCode st = U_ZERO_ERROR;
    ubrk_setText(t->bi, t->u16, u16len, &st);
    if (U_FAILURE(st)) {
        kb_seterr(err, errlen, "[tok][icu] ubrk_setText: %s", u_errorName(st));
        return -1;
    }
    int32_t prev = ubrk_first(t->bi);
    size_t ci = 0; /* char index of prev */
    for (int32_t b = ubrk_next(t->bi); b != UBRK_DONE; b = ubrk_next(t->bi)) {
        size_t cj = ci;
        while (cj < n && t->u16off[cj] < b)
            cj++;
        if (cj > ci)
            t->icu_end[ci] = (int)cj;
        ci = cj;
        prev = b;
    }
    (void)prev;
    if (!e)
        return 0;
    /* cached only as a chain of words from char 0 to the end (n is at
       most SEGC_BYTES) */
    uint32_t starts = 1;
    size_t k = 0;
    while (k < n && t->icu_end[k] > (int)k) {
        k = (size_t)t->icu_end[k];
        starts |= k < n ? 1u << k : 0;
    }
    if (k == n) {
        e->len = (uint8_t)(re - rs);
        memcpy(e->run, text + rs, re - rs);
        e->starts = starts;
    }
    return 0;
}

/* A CJK run text[rs..re): ICU words, lexicon words and bigrams. */
static int run_cjk(kb_tok *t, const char *text, size_t rs, size_t re, uint32_t pos0,
                   uint32_t *nchars, kb_tok_cb cb, void *ud, char *err, size_t errlen)
{
    /* char offsets */
    size_t n = 0;
    for (size_t i = rs; i < re; n++) {
        reserve_chars(t, n + 1);
        t->off[n] = i;
        kb_utf8_next(text, re, &i);
    }
    reserve_chars(t, n);
    t->off[n] = re;
    *nchars = (uint32_t)n;

    for (size_t k = 0; k <= n; k++) {
        t->icu_end[k] = -1;
        t->lex_end[k] = -1;
        t->covered[k] = 0;
    }
    if (icu_words(t, text, rs, re, n, err, errlen) < 0)
        return -1;

    /* longest lexicon word starting at each char; pairmax[k] bounds the
       length of the lexicon words starting there (0: none), so most
       chars look nothing up */
    for (size_t k = 0; k < n; k++)
        t->pairmax[k] = t->lx && k + 1 < n
                            ? kb_lexicon_pairmax(t->lx, text + t->off[k], t->off[k + 2] - t->off[k])
                            : 0;
    for (size_t k = 0; k + 1 < n; k++) {
        size_t lim = n - k < t->pairmax[k] ? n - k : t->pairmax[k];
        for (size_t l = lim; l >= 2; l--) {
            if (kb_lexicon_has(t->lx, text + t->off[k], t->off[k + l] - t->off[k])) {
                t->lex_end[k] = (int)(k + l);
                for (size_t m = k; m < k + l; m++)
                    t->covered[m] = 1;
                break;
            }
        }
    }

    for (size_t k = 0; k < n; k++) {
        uint32_t pos = pos0 + (uint32_t)k;
        int rc;
        int icu = t->icu_end[k], lex = t->lex_end[k];
        int bigram = k + 1 < n;
        /* ICU word, unless a one-char fragment inside a lexicon word */
        if (icu > 0 && !(icu - (int)k == 1 && t->covered[k] && lex != icu)) {
            unsigned fl = KB_TOKF_WORD | KB_TOKF_CJK;
            if (icu == lex || (icu - (int)k >= 2 && (size_t)(icu - (int)k) <= t->pairmax[k] &&
                               kb_lexicon_has(t->lx, text + t->off[k], t->off[icu] - t->off[k])))
                fl |= KB_TOKF_LEX;
            if (icu - (int)k == 2 && bigram) {
                fl |= KB_TOKF_BIGRAM;
            }
            if ((rc = emit(cb, ud, text + t->off[k], t->off[icu] - t->off[k], pos, t->off[k],
                           t->off[icu], fl)))
                return rc;
        }
        /* every lexicon word starting here, longest first */
        for (int l = lex; l > (int)k + 1; l--) {
            if (l == icu || (l != lex && !kb_lexicon_has(t->lx, text + t->off[k],
                                                          t->off[l] - t->off[k])))
                continue;
            unsigned fl = KB_TOKF_WORD | KB_TOKF_LEX | KB_TOKF_CJK;
            if (l - (int)k == 2)
                fl |= KB_TOKF_BIGRAM;
            if ((rc = emit(cb, ud, text + t->off[k], t->off[l] - t->off[k], pos, t->off[k],
                           t->off[l], fl)))
                return rc;
        }
        int lex2 = lex >= (int)k + 2 &&
                   kb_lexicon_has(t->lx, text + t->off[k], bigram ? t->off[k + 2] - t->off[k] : 0);
        if (bigram && icu != (int)k + 2 && !lex2) {
            if ((rc = emit(cb, ud, text + t->off[k], t->off[k + 2] - t->off[k], pos, t->off[k],
                           t->off[k + 2], KB_TOKF_BIGRAM | KB_TOKF_CJK)))
                return rc;
        }
    }
    return 0;
}

static int is_conn(char c)
{
    return c == '.' || c == '-' || c == '_' || c == '/' || c == '@' || c == ':';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* An alnum token text[s..e) with inner connectors: the whole, its parts,
 * or a word and its stem. */
static int run_alnum(kb_tok *t, const char *text, size_t s, size_t e, uint32_t pos, kb_tok_cb cb,
                     void *ud)
{
    int has_conn = 0, has_digit = 0, has_alpha = 0, numeric = 1, part_start = 1;
    for (size_t i = s; i < e; i++) {
        char c = text[i];
        if (is_conn(c)) {
            has_conn = 1;
            part_start = 1;
            continue;
        }
        if (is_digit(c))
            has_digit = 1;
        else
            has_alpha = 1;
        if (part_start && !is_digit(c))
            numeric = 0;
        part_start = 0;
    }
    int rc;
    if (!has_conn) {
        unsigned fl = KB_TOKF_WORD | (has_digit && has_alpha ? KB_TOKF_CODE : 0);
        int nostem = 0;
        if ((rc = emit(cb, ud, text + s, e - s, pos, s, e, fl))) {
            if (rc != KB_TOK_NOSTEM)
                return rc;
            nostem = 1;
        }
        if (!has_digit && !nostem && e - s <= KB_TOK_MAX_TERM) {
            int n = stem_cached(t, text + s, e - s);
            if (n > 0) {
                t->stembuf[0] = 'Z';
                if ((rc = emit(cb, ud, t->stembuf, (size_t)n + 1, pos, s, e, KB_TOKF_STEM)))
                    return rc;
            }
        }
        return 0;
    }
    if ((rc = emit(cb, ud, text + s, e - s, pos, s, e, KB_TOKF_CODE)))
        return rc;
    if (numeric)
        return 0;
    /* parts: split at - _ / @ always, at '.' and ':' too (not numeric) */
    size_t ps = s;
    for (size_t i = s; i <= e; i++) {
        if (i < e && !is_conn(text[i]))
            continue;
        int alpha = 0;
        for (size_t k = ps; k < i; k++)
            if (!is_digit(text[k]))
                alpha = 1;
        if ((alpha && i - ps >= 2) || (!alpha && i - ps >= 3))
            if ((rc = emit(cb, ud, text + ps, i - ps, pos, ps, i, KB_TOKF_PART)))
                return rc;
        ps = i + 1;
    }
    return 0;
}

int kb_tok_run(kb_tok *t, int mode, const char *text, size_t len, kb_tok_cb cb, void *ud,
               uint32_t *npos, char *err, size_t errlen)
{
    /* documents and queries are tokenized alike; KB_TOK_RUNS leaves CJK
       runs whole */
    uint32_t pos = 0;
    size_t i = 0;
    int rc = 0;
    while (i < len) {
        size_t s = i;
        enum cls k;
        if ((unsigned char)text[i] < 0x80) { /* ASCII without decoding */
            k = ascii_alnum(text[i++]) ? C_ALNUM : C_SEP;
        } else {
            int32_t c = kb_utf8_next(text, len, &i);
            if (c < 0) {
                kb_seterr(err, errlen, "[tok] invalid UTF-8 at byte %zu", s);
                rc = -1;
                break;
            }
            k = classify(c);
        }
        if (k == C_SEP)
            continue;
        if (k == C_CJK) {
            size_t e = i;
            uint32_t nchars = 1;
            while (e < len) {
                size_t nx = e;
                int32_t d = kb_utf8_next(text, len, &nx);
                if (d < 0 || !kb_tok_is_cjk(d)) /* classify(d) != C_CJK */
                    break;
                e = nx;
                nchars++;
            }
            if (mode == KB_TOK_RUNS) {
                struct kb_token tk = {text + s, e - s, pos, s, e, KB_TOKF_CJK | KB_TOKF_RUN};
                if ((rc = cb(ud, &tk)) && rc != KB_TOK_NOSTEM)
                    break;
                rc = 0;
                pos += nchars;
                i = e;
                continue;
            }
            if ((rc = run_cjk(t, text, s, e, pos, &nchars, cb, ud, err, errlen)))
                break;
            pos += nchars;
            i = e;
            continue;
        }
        /* alnum run, with connectors between alnums */
        size_t e = i;
        while (e < len) {
            if (ascii_alnum(text[e])) {
                e++;
                continue;
            }
            size_t nx = e;
            int32_t d = kb_utf8_next(text, len, &nx);
            if (d >= 0 && classify(d) == C_ALNUM) {
                e = nx;
                continue;
            }
            if (d >= 0 && d < 0x80 && is_conn((char)d) && nx < len) {
                size_t nx2 = nx;
                int32_t d2 = kb_utf8_next(text, len, &nx2);
                if (d2 >= 0 && classify(d2) == C_ALNUM &&
                    (d != ':' || (is_digit(text[e - 1]) && is_digit((char)d2)))) {
                    e = nx2;
                    continue;
                }
            }
            break;
        }
        if ((rc = run_alnum(t, text, s, e, pos, cb, ud)))
            break;
        pos++;
        i = e;
    }
    if (npos)
        *npos = pos;
    return rc;
}
