/* kb_pinyin: readings and sound-alike characters (see kb_pinyin.h). The
 * data, shared/kb_pinyin.txt, is a line per syllable ("ku 刳哭喾…"); the
 * build embeds it as the symbol kb_pinyin_txt (.incbin below; the Makefile
 * names the file as a dependency of this object), and the first call
 * parses it into the syllables, a table of (character, syllable) sorted by
 * character, and each syllable's characters. The "near" match folds a
 * syllable to a key (zh→z, ch→c, sh→s, l→n at the start; ng→n at the end)
 * and compares keys. */
#include "kb_pinyin.h"
#include "kb_utf8.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

__asm__(".section .rodata\n"
        ".global kb_pinyin_txt\n"
        "kb_pinyin_txt:\n"
        ".incbin \"shared/kb_pinyin.txt\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char kb_pinyin_txt[];

#define MAX_SYL 512
#define SYL_LEN 8

struct pchar {
    uint32_t cp;
    uint16_t syl;
};

static struct {
    char syl[MAX_SYL][SYL_LEN];  /* toneless syllables */
    char key[MAX_SYL][SYL_LEN];  /* their "near" keys */
    uint32_t start[MAX_SYL + 1]; /* syllable i's characters: bysyl[start[i] .. start[i + 1]) */
    size_t nsyl;
    uint32_t *bysyl;
    struct pchar *chars; /* sorted by cp, then syllable */
    size_t nchars;
} T;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fold(const char *s, char *key)
{
    const char *p = s;
    size_t n = 0;
    if ((p[0] == 'z' || p[0] == 'c' || p[0] == 's') && p[1] == 'h') {
        key[n++] = p[0];
        p += 2;
    } else if (p[0] == 'l') {
        key[n++] = 'n';
        p++;
    }
    while (*p && n + 1 < SYL_LEN)
        key[n++] = *p++;
    if (n >= 3 && key[n - 1] == 'g' && key[n - 2] == 'n')
        n--;
    key[n] = '\0';
}

static int cmp_pchar(const void *a, const void *b)
{
    const struct pchar *x = a, *y = b;
    return x->cp < y->cp ? -1 : x->cp > y->cp ? 1 : (int)x->syl - (int)y->syl;
}

static void load(void)
{
    const char *s = kb_pinyin_txt;
    size_t len = strlen(s), total = kb_utf8_count(s, len);
    T.bysyl = malloc(total * sizeof *T.bysyl);
    T.chars = malloc(total * sizeof *T.chars);
    if (!T.bysyl || !T.chars) {
        free(T.bysyl);
        free(T.chars);
        T.bysyl = NULL;
        T.chars = NULL;
        return; /* no readings: every look-up finds nothing */
    }
    size_t i = 0, nb = 0;
    while (i < len && T.nsyl < MAX_SYL) {
        size_t n = 0;
        while (i < len && s[i] != ' ' && s[i] != '\n') {
            if (n + 1 < SYL_LEN)
                T.syl[T.nsyl][n++] = s[i];
            i++;
        }
        T.syl[T.nsyl][n] = '\0';
        fold(T.syl[T.nsyl], T.key[T.nsyl]);
        T.start[T.nsyl] = (uint32_t)nb;
        if (i < len && s[i] == ' ')
            i++;
        while (i < len && s[i] != '\n') {
            int32_t cp = kb_utf8_next(s, len, &i);
            if (cp <= 0)
                break;
            T.bysyl[nb++] = (uint32_t)cp;
            T.chars[T.nchars++] = (struct pchar){(uint32_t)cp, (uint16_t)T.nsyl};
        }
        if (i < len)
            i++; /* the newline */
        T.nsyl++;
    }
    T.start[T.nsyl] = (uint32_t)nb;
    qsort(T.chars, T.nchars, sizeof *T.chars, cmp_pchar);
}

/* The first entry of cp in T.chars, or NULL. */
static const struct pchar *find(uint32_t cp)
{
    size_t lo = 0, hi = T.nchars;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (T.chars[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < T.nchars && T.chars[lo].cp == cp ? &T.chars[lo] : NULL;
}

size_t kb_pinyin_readings(uint32_t cp, const char *out[2])
{
    pthread_once(&once, load);
    const struct pchar *p = find(cp);
    size_t n = 0;
    for (; p && p < T.chars + T.nchars && p->cp == cp && n < 2; p++)
        out[n++] = T.syl[p->syl];
    return n;
}

size_t kb_pinyin_keys(uint32_t cp, enum kb_pinyin_match match, const char *out[2])
{
    pthread_once(&once, load);
    const struct pchar *p = find(cp);
    size_t n = 0;
    for (; p && p < T.chars + T.nchars && p->cp == cp && n < 2; p++)
        out[n++] = match == KB_PINYIN_NEAR ? T.key[p->syl] : T.syl[p->syl];
    return n;
}

static int seen(const uint32_t *out, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] == c)
            return 1;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t kb_pinyin_alike(uint32_t cp, enum kb_pinyin_match match, uint32_t *out, size_t max)
{
    pthread_once(&once, load);
    size_t n = 0;
    for (const struct pchar *p = find(cp); p && p < T.chars + T.nchars && p->cp == cp; p++) {
        for (size_t s = 0; s < T.nsyl; s++) {
            if (s != p->syl && (match != KB_PINYIN_NEAR || strcmp(T.key[s], T.key[p->syl]) != 0))
                continue;
            for (uint32_t k = T.start[s]; k < T.start[s + 1] && n < max; k++)
                if (T.bysyl[k] != cp && !seen(out, n, T.bysyl[k]))
                    out[n++] = T.bysyl[k];
        }
    }
    qsort(out, n, sizeof *out, cmp_u32);
    return n;
}
