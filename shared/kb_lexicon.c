/* kb_lexicon: an open-addressing hash set of UTF-8 words. */
#include "kb_lexicon.h"
#include "kb_lexicon_words.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEX_PAIRS 65536 /* buckets of the first-two-characters filter */

struct kb_lexicon {
    char **slots;    /* NULL or an owned word */
    size_t cap;      /* power of two */
    size_t n;
    size_t maxchars;
    /* per bucket of a hash of the first two characters' bytes: the longest
       word there, in characters (255: 255 or more), 0 for none */
    uint8_t pairmax[LEX_PAIRS];
};

/* The filter bucket of two characters' UTF-8 bytes s[0..len). */
static size_t pair_bucket(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return (h ^ (h >> 16)) & (LEX_PAIRS - 1);
}

static size_t find_slot(const kb_lexicon *lx, const char *w, size_t len)
{
    size_t mask = lx->cap - 1;
    size_t i = (size_t)kb_hash64(w, len) & mask;
    while (lx->slots[i]) {
        if (strlen(lx->slots[i]) == len && memcmp(lx->slots[i], w, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static void rehash(kb_lexicon *lx, size_t cap)
{
    char **old = lx->slots;
    size_t oldcap = lx->cap;
    lx->slots = kb_xcalloc(cap, sizeof *lx->slots);
    lx->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            lx->slots[find_slot(lx, old[i], strlen(old[i]))] = old[i];
    free(old);
}

kb_lexicon *kb_lexicon_new_builtin(void)
{
    kb_lexicon *lx = kb_xcalloc(1, sizeof *lx);
    lx->cap = 1024;
    lx->slots = kb_xcalloc(lx->cap, sizeof *lx->slots);
    for (size_t i = 0; i < sizeof kb_lexicon_builtin / sizeof kb_lexicon_builtin[0]; i++)
        kb_lexicon_add(lx, kb_lexicon_builtin[i], strlen(kb_lexicon_builtin[i]));
    return lx;
}

void kb_lexicon_free(kb_lexicon *lx)
{
    if (!lx)
        return;
    for (size_t i = 0; i < lx->cap; i++)
        free(lx->slots[i]);
    free(lx->slots);
    free(lx);
}

int kb_lexicon_add(kb_lexicon *lx, const char *word, size_t len)
{
    size_t chars = kb_utf8_count(word, len);
    if (chars < 2)
        return 0;
    size_t i = find_slot(lx, word, len);
    if (lx->slots[i])
        return 0;
    lx->slots[i] = kb_xstrndup(word, len);
    lx->n++;
    if (chars > lx->maxchars)
        lx->maxchars = chars;
    size_t two = 0;
    kb_utf8_next(word, len, &two);
    kb_utf8_next(word, len, &two);
    uint8_t *pm = &lx->pairmax[pair_bucket(word, two)];
    if (chars > *pm)
        *pm = chars > 255 ? 255 : (uint8_t)chars;
    if (lx->n * 2 > lx->cap)
        rehash(lx, lx->cap * 2);
    return 1;
}

int kb_lexicon_has(const kb_lexicon *lx, const char *word, size_t len)
{
    return lx->slots[find_slot(lx, word, len)] != NULL;
}

size_t kb_lexicon_maxchars(const kb_lexicon *lx)
{
    return lx->maxchars;
}

size_t kb_lexicon_pairmax(const kb_lexicon *lx, const char *pair, size_t len)
{
    uint8_t m = lx->pairmax[pair_bucket(pair, len)];
    return m == 255 ? lx->maxchars : m;
}

int kb_lexicon_next(const kb_lexicon *lx, size_t *it, const char **word)
{
    for (; *it < lx->cap; (*it)++)
        if (lx->slots[*it]) {
            *word = lx->slots[(*it)++];
            return 1;
        }
    return 0;
}

size_t kb_lexicon_size(const kb_lexicon *lx)
{
    return lx->n;
}

int kb_lexicon_load(kb_lexicon *lx, const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (kb_read_file(path, &text, &len, err, errlen) < 0)
        return -1;
    size_t bad;
    if (kb_utf8_check(text, len, 0, &bad) < 0) { /* check all before adding any */
        int lineno = 1;
        for (size_t i = 0; i < bad; i++)
            lineno += text[i] == '\n';
        kb_seterr(err, errlen, "[lexicon] %s:%d: invalid UTF-8", path, lineno);
        free(text);
        return -1;
    }
    int added = 0;
    char *line = text;
    while (line < text + len) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        char *w = kb_strip(kb_xstrndup(line, n));
        if (*w && *w != '#')
            added += kb_lexicon_add(lx, w, strlen(w));
        free(w);
        line += n + 1;
    }
    free(text);
    return added;
}

uint64_t kb_lexicon_builtin_hash(void)
{
    uint64_t h = 0;
    for (size_t i = 0; i < sizeof kb_lexicon_builtin / sizeof kb_lexicon_builtin[0]; i++)
        h = h * 31 + kb_hash64(kb_lexicon_builtin[i], strlen(kb_lexicon_builtin[i]));
    return h;
}
