/* kb_search_typo: spelling corrections of a query, offered as the answer's
 * suggestion and applied (the answer's "corrected") by kb_search_run.
 *
 * Latin words: a word no document the caller may see holds, that is not
 * an English word either (the system word list, /usr/share/dict, from
 * Debian's wamerican; "offline" is a word, "prnter" is not), is replaced by
 * Xapian's spelling suggestion within one or two edits, from the words of
 * the documents the caller may see (kbs_visible_spelling). Codes, numbers,
 * versions and addresses are never collected as unknown words (see
 * note_unknown in kb_search_query.c), so they are never corrected.
 *
 * Chinese: a typed character that sounds like the intended one
 * (知识哭 → 知识库, 配制管理 → 配置管理). A character is suspect when it
 * stands with one of its Chinese neighbours in no visible document (for a
 * two-character word: with none of them); a window of 2–4 characters
 * holding one, not itself a word of the domain lexicon, has one
 * character (not a function character such as 不 or 了) replaced by a
 * sound-alike (kb_pinyin: the same syllable first, then the near ones) when
 * that makes a lexicon word the visible documents hold (for two characters
 * never seen together, also a pair ten or more documents hold: 管里 →
 * 管理); the longest window wins, then the commoner word. A corrected word
 * of three or more characters is "sure" (one sound away from a specific
 * domain term), and the caller searches with it at once. */
#include "kb_search_int.h"
#include "kb_pinyin.h"
#include "kb_tok.h"
#include "kb_utf8.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the English word list ----------------------------------------------------------- */

static const char *const WORD_FILES[] = {"/usr/share/dict/american-english",
                                         "/usr/share/dict/words"};
static kb_map *words; /* lower-case words; NULL: no list on this machine */
static pthread_once_t words_once = PTHREAD_ONCE_INIT;

static void words_load(void)
{
    FILE *f = NULL;
    for (size_t i = 0; !f && i < sizeof WORD_FILES / sizeof *WORD_FILES; i++)
        f = fopen(WORD_FILES[i], "r");
    if (!f)
        return;
    words = kb_map_new();
    char line[128];
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        for (size_t i = 0; i < n; i++)
            line[i] = (char)tolower((unsigned char)line[i]);
        if (n && !strchr(line, '\''))
            kb_map_put(words, line, words);
    }
    fclose(f);
}

void kbs_typo_init(void)
{
    pthread_once(&words_once, words_load);
}

/* Is the (lower-case) word an English word? Without a word list, none is. */
static int english_word(const char *w, size_t len)
{
    pthread_once(&words_once, words_load);
    return words && kb_map_getn(words, w, len) != NULL;
}

char *kbs_spell(struct build *b, const char *nq)
{
    struct kb_buf out;
    kb_buf_init(&out);
    kb_buf_adds(&out, nq);
    int changed = 0;
    for (size_t i = 0; i < b->unknown.n; i++) {
        const struct tok *t = &b->unknown.v[i];
        if (!(t->flags & KB_TOKF_CJK) && english_word(t->term, t->len))
            continue; /* a real word the documents do not use: not a typo */
        char *fix = NULL;
        unsigned dist = (t->flags & KB_TOKF_CJK) ? 1 : (t->len > 6 ? 2 : 1);
        if ((fix = kbs_visible_spelling(b->s, t->term, dist, b->internal)) &&
            strcmp(fix, t->term) != 0) {
            char *at = strstr(out.data, t->term);
            if (at) {
                struct kb_buf nb;
                kb_buf_init(&nb);
                kb_buf_add(&nb, out.data, (size_t)(at - out.data));
                kb_buf_adds(&nb, fix);
                kb_buf_adds(&nb, at + t->len);
                kb_buf_fin(&out);
                out = nb;
                changed = 1;
            }
        }
        free(fix);
    }
    if (!changed) {
        kb_buf_fin(&out);
        return NULL;
    }
    return kb_buf_take(&out);
}

/* ---- Chinese: sound-alike characters ---------------------------------------------------- */

#define MAX_CHARS 128 /* characters of a query looked at */
#define MAX_ALIKE 256
#define MIN_WIN 2
#define MIN_PAIR_TF 10 /* documents holding a non-lexicon pair it is fixed to */
#define MAX_WIN 6

struct qchars {
    uint32_t cp[MAX_CHARS];
    size_t off[MAX_CHARS + 1]; /* byte offsets in nq; off[n] = end of the last */
    size_t n;
};

/* UTF-8 of cps[0..n) with cps[k] replaced by h (k >= n: none), into out. */
static size_t encode(const uint32_t *cps, size_t n, size_t k, uint32_t h, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += kb_utf8_encode((int32_t)(i == k ? h : cps[i]), out + len);
    out[len] = '\0';
    return len;
}

/* Visible documents holding the word cps[0..n) with cps[k] replaced by h. */
/* Characters typed for their grammar, never in place of another: negation,
 * particles, pronouns, question words. */
static const char FUNCTION_CHARS[] = "不没别了的地得着过吗呢吧啊呀么嘛是在有和与或也都就还又很太更最"
                                     "我你他她它们这那哪谁什怎";

static int function_char(uint32_t cp)
{
    char u[5];
    u[kb_utf8_encode((int32_t)cp, u)] = '\0';
    return strstr(FUNCTION_CHARS, u) != NULL;
}

static uint32_t word_tf(struct kb_searcher *s, const uint32_t *cps, size_t n, size_t k, uint32_t h,
                        int internal)
{
    char w[MAX_WIN * 4 + 1];
    encode(cps, n, k, h, w);
    return kbs_visible_tf(s, w, internal);
}

/* The key of the window cps[0..n) with position k's character replaced by
 * one of reading key r: "<n>.<k>.<level><window, '?' at k>.<r>". */
static void sound_key(struct kb_buf *key, const uint32_t *cps, size_t n, size_t k, int level,
                      const char *r)
{
    char u[8];
    key->len = 0;
    snprintf(u, sizeof u, "%zu.%zu.%d", n, k, level);
    kb_buf_adds(key, u);
    for (size_t i = 0; i < n; i++) {
        if (i == k) {
            kb_buf_addc(key, '?');
            continue;
        }
        kb_buf_add(key, u, kb_utf8_encode((int32_t)cps[i], u));
    }
    kb_buf_addc(key, '.');
    kb_buf_adds(key, r);
}

/* The lexicon's words of 2..MAX_WIN Chinese characters, by sound key:
 * each value is the words (newline-separated, owned by the map) that
 * differ from the key's window only in a character read as its key says. */
static void sound_map_build(kb_searcher *s)
{
    s->sound = kb_map_new();
    if (!s->lx)
        return;
    struct kb_buf key;
    kb_buf_init(&key);
    size_t it = 0;
    const char *w;
    while (kb_lexicon_next(s->lx, &it, &w)) {
        uint32_t cps[MAX_WIN];
        size_t n = 0, i = 0, len = strlen(w);
        int ok = 1;
        while (i < len && ok) {
            int32_t c = kb_utf8_next(w, len, &i);
            ok = c > 0 && kb_tok_is_cjk(c) && n < MAX_WIN;
            if (ok)
                cps[n++] = (uint32_t)c;
        }
        if (!ok || n < MIN_WIN)
            continue;
        for (size_t k = 0; k < n; k++)
            for (int level = KB_PINYIN_SAME; level <= KB_PINYIN_NEAR; level++) {
                const char *r[2];
                size_t nr = kb_pinyin_keys(cps[k], (enum kb_pinyin_match)level, r);
                for (size_t j = 0; j < nr; j++) {
                    sound_key(&key, cps, n, k, level, r[j]);
                    char *old = kb_map_get(s->sound, key.data);
                    size_t ol = old ? strlen(old) : 0;
                    char *v = kb_xmalloc(ol + len + 2);
                    if (old) {
                        memcpy(v, old, ol);
                        v[ol++] = '\n';
                    }
                    memcpy(v + ol, w, len + 1);
                    free(kb_map_put(s->sound, key.data, v));
                }
            }
    }
    kb_buf_fin(&key);
}

void kbs_sound_map_free(kb_searcher *s)
{
    kb_map_free(s->sound, free);
    s->sound = NULL;
}

/* The best sound-alike fix of the window cps[0..n) into fix (a lexicon
 * word the caller may see, or for two characters also a common pair), with
 * its word's frequency; 0 when none. */
static uint32_t fix_window(kb_searcher *s, const uint32_t *cps, size_t n,
                           const unsigned char *suspect, int internal, char *fix)
{
    char w[MAX_WIN * 4 + 1];
    size_t len = encode(cps, n, n, 0, w);
    if (s->lx && kb_lexicon_has(s->lx, w, len))
        return 0; /* already a domain word */
    uint32_t own = n == 2 ? kbs_visible_tf(s, w, internal) : 0;
    uint32_t best = 0;
    struct kb_buf key;
    kb_buf_init(&key);
    for (int level = KB_PINYIN_SAME; level <= KB_PINYIN_NEAR && !best; level++) {
        for (size_t k = 0; k < n; k++) {
            if (suspect[k] < (n == 2 ? 2 : 1) || function_char(cps[k]))
                continue; /* a two-character word is fixed only where nothing fits */
            const char *r[2];
            size_t nr = kb_pinyin_keys(cps[k], (enum kb_pinyin_match)level, r);
            for (size_t j = 0; j < nr; j++) {
                sound_key(&key, cps, n, k, level, r[j]);
                const char *words = kb_map_get(s->sound, key.data);
                while (words && *words) {
                    size_t wl = strcspn(words, "\n");
                    char cand[MAX_WIN * 4 + 1];
                    memcpy(cand, words, wl);
                    cand[wl] = '\0';
                    uint32_t tf = strcmp(cand, w) ? kbs_visible_tf(s, cand, internal) : 0;
                    if (tf > best && tf > own * 20) {
                        best = tf;
                        memcpy(fix, cand, wl + 1);
                    }
                    words += wl + (words[wl] == '\n');
                }
            }
            /* two characters never seen together: a pair of the same sound
               that ten or more documents hold will do (管里 → 管理) */
            if (n == 2 && own == 0 && level == KB_PINYIN_SAME) {
                uint32_t alike[MAX_ALIKE];
                size_t na = kb_pinyin_alike(cps[k], KB_PINYIN_SAME, alike, MAX_ALIKE);
                for (size_t a = 0; a < na; a++) {
                    uint32_t tf = word_tf(s, cps, n, k, alike[a], internal);
                    if (tf >= MIN_PAIR_TF && tf > best) {
                        best = tf;
                        encode(cps, n, k, alike[a], fix);
                    }
                }
            }
        }
    }
    kb_buf_fin(&key);
    return best;
}

char *kbs_sound_alike(struct kb_searcher *s, const char *nq, int internal, int *sure)
{
    *sure = 0;
    if (!s->sound)
        sound_map_build(s);
    struct qchars q;
    q.n = 0;
    size_t len = strlen(nq), i = 0;
    while (i < len && q.n < MAX_CHARS) {
        q.off[q.n] = i;
        int32_t c = kb_utf8_next(nq, len, &i);
        if (c < 0)
            return NULL;
        q.cp[q.n++] = (uint32_t)c;
    }
    q.off[q.n] = i;
    /* a character is suspect (1) when it stands with one of its Chinese
       neighbours in no visible document, and strongly (2) with none */
    unsigned char unseen[MAX_CHARS] = {0}, suspect[MAX_CHARS] = {0};
    for (size_t k = 0; k + 1 < q.n; k++)
        unseen[k] = kb_tok_is_cjk((int32_t)q.cp[k]) && kb_tok_is_cjk((int32_t)q.cp[k + 1]) &&
                    word_tf(s, q.cp + k, 2, 2, 0, internal) == 0;
    int any = 0;
    for (size_t k = 0; k < q.n; k++) {
        int left = k > 0 && kb_tok_is_cjk((int32_t)q.cp[k - 1]);
        int right = k + 1 < q.n && kb_tok_is_cjk((int32_t)q.cp[k + 1]);
        int l = left && unseen[k - 1], r = right && unseen[k];
        suspect[k] = (l || r) ? 1 + ((!left || l) && (!right || r)) : 0;
        any |= suspect[k];
    }
    if (!any)
        return NULL;
    struct kb_buf out;
    kb_buf_init(&out);
    size_t done = 0; /* bytes of nq copied */
    int changed = 0, all_long = 1;
    for (size_t st = 0; st < q.n;) {
        size_t run = 0;
        while (st + run < q.n && run < MAX_WIN && kb_tok_is_cjk((int32_t)q.cp[st + run]))
            run++;
        int fixed = 0;
        for (size_t n = run; n >= MIN_WIN && !fixed; n--) {
            int has = 0;
            for (size_t k = 0; k < n; k++)
                has |= suspect[st + k] >= (n == 2 ? 2 : 1);
            char w[MAX_WIN * 4 + 1];
            if (!has || !fix_window(s, q.cp + st, n, suspect + st, internal, w))
                continue;
            kb_buf_add(&out, nq + done, q.off[st] - done);
            kb_buf_adds(&out, w);
            done = q.off[st + n];
            all_long &= n >= 3;
            changed = fixed = 1;
            st += n;
        }
        if (!fixed)
            st++;
    }
    if (!changed) {
        kb_buf_fin(&out);
        return NULL;
    }
    kb_buf_add(&out, nq + done, len - done);
    *sure = all_long;
    return kb_buf_take(&out);
}
