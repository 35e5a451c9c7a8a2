/* kb_norm: UTF-8 check, utf8proc NFKC + case fold, OpenCC t2s.
 *
 * Why OpenCC rather than a hand-made table: it is packaged in Debian
 * (libopencc), maintained, and converts phrase by phrase, which handles the
 * one-to-many Traditional/Simplified cases a character table gets wrong
 * (乾/干, 著/着). Both index and query pass through it, so any choice it
 * makes is made the same way on both sides. */
#include "kb_norm.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <opencc.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Traditional to Simplified characters, phrase-aware (知識庫 → 知识库).
 * Not tw2sp: its Taiwan-to-mainland vocabulary also rewrites Simplified
 * text (建立 → 创建). Regional words (印表机 / 打印机, 软体 / 软件) are
 * glossary synonyms instead. */
#define KB_NORM_OPENCC_CONFIG "t2s.json"

struct kb_norm {
    opencc_t cc;
};

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
    *out = n;
    return 0;
}

void kb_norm_free(kb_norm *n)
{
    if (!n)
        return;
    opencc_close(n->cc);
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
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t fl = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                       &folded,
                                       UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                           UTF8PROC_CASEFOLD | UTF8PROC_IGNORE |
                                           UTF8PROC_NLF2LF);
    if (fl < 0) {
        kb_seterr(err, errlen, "[norm][utf8proc] %s", utf8proc_errmsg(fl));
        return KB_NORM_EUTF8PROC;
    }
    if (!has_han((const char *)folded, (size_t)fl)) {
        *out = (char *)folded;
        *outlen = (size_t)fl;
        return 0;
    }
    char *conv = opencc_convert_utf8(n->cc, (const char *)folded, (size_t)fl);
    free(folded);
    if (!conv) {
        kb_seterr(err, errlen, "[norm][opencc] conversion failed: %s", opencc_error());
        return KB_NORM_EOPENCC;
    }
    *outlen = strlen(conv);
    *out = kb_xstrndup(conv, *outlen);
    opencc_convert_utf8_free(conv);
    return 0;
}

int kb_norm_text_map(kb_norm *n, const char *text, size_t len, char **out, size_t *outlen,
                     size_t **map, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    *map = NULL;
    size_t bad = 0;
    int rc = kb_utf8_check(text, len, 0, &bad);
    if (rc < 0) {
        kb_seterr(err, errlen, "[norm] %s at byte %zu", kb_utf8_strerror(rc), bad);
        return rc == KB_UTF8_ENUL ? KB_NORM_ENUL : KB_NORM_EUTF8;
    }
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    size_t cap = len + 16, *m = kb_xmalloc(cap * sizeof *m);
    for (size_t i = 0; i < len;) {
        size_t at = i;
        int32_t cp = kb_utf8_next(text, len, &i);
        const char *piece;
        char ascii;
        utf8proc_uint8_t *mapped = NULL;
        size_t plen;
        if (cp < 0x80) {
            ascii = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            if (ascii == '\r' && i < len && text[i] == '\n')
                continue; /* CR LF -> LF */
            if (ascii == '\r')
                ascii = '\n';
            piece = &ascii;
            plen = 1;
        } else {
            utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)text + at,
                                               (utf8proc_ssize_t)(i - at), &mapped,
                                               UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                   UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                                   UTF8PROC_IGNORE | UTF8PROC_NLF2LF);
            if (ml < 0) {
                kb_seterr(err, errlen, "[norm][utf8proc] %s", utf8proc_errmsg(ml));
                kb_buf_fin(&b);
                free(m);
                return KB_NORM_EUTF8PROC;
            }
            piece = (const char *)mapped;
            plen = (size_t)ml;
        }
        if (b.len + plen + 1 > cap) {
            cap = (b.len + plen + 1) * 2;
            m = kb_xrealloc(m, cap * sizeof *m);
        }
        for (size_t k = 0; k < plen; k++)
            m[b.len + k] = at;
        kb_buf_add(&b, piece, plen);
        free(mapped);
    }
    m[b.len] = len;
    if (has_han(b.data, b.len)) {
        char *conv = opencc_convert_utf8(n->cc, b.data, b.len);
        if (!conv) {
            kb_seterr(err, errlen, "[norm][opencc] conversion failed: %s", opencc_error());
            kb_buf_fin(&b);
            free(m);
            return KB_NORM_EOPENCC;
        }
        size_t cl = strlen(conv);
        if (cl == b.len) /* the usual case: character for character */
            memcpy(b.data, conv, cl);
        /* else keep the unconverted text: offsets matter more here */
        opencc_convert_utf8_free(conv);
    }
    *outlen = b.len;
    *out = kb_buf_take(&b);
    *map = m;
    return 0;
}
