/* kb_stdparse_int: what the files of the standards parser share (not a
 * public interface): the line flags, the line / clause-number / candidate
 * / parser structs, UTF-8 helpers over the sanitised text, and the passes
 * each file implements for the others:
 *   kb_stdparse_line.c    passes 1-2: sanitise and split, classify lines
 *                         (page furniture, contents entries, bullets,
 *                         tables, codes, annexes), clause numbers;
 *   kb_stdparse_clause.c  passes 3-6: the standard's code, the table of
 *                         contents, clause-number candidates and the best
 *                         chain of them;
 *   kb_stdparse.c         pass 7 and kb_std_parse: the title, the bodies,
 *                         the documents. */
#ifndef KB_STDPARSE_INT_H
#define KB_STDPARSE_INT_H

#include "kb_stdparse.h"
#include "kb_doc.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLEV 8           /* deepest clause number kept: 1.2.3.4.5.6.7.8 */
#define DP_WINDOW 256      /* how far back a clause looks for its predecessor */
#define LABEL_MAX 20       /* characters of a derived heading */
#define KB_STD_MAX_TEXT ((size_t)64 << 20) /* longer texts are refused */

/* line flags */
enum {
    LF_BLANK = 1 << 0,
    LF_FURN = 1 << 1,    /* page furniture: never in a body */
    LF_TOC = 1 << 2,     /* table of contents: never a clause, never in a body */
    LF_BULLET = 1 << 3,  /* started with "- " (stripped) */
    LF_TABLE = 1 << 4,   /* tabs or "|": kept as its own line */
    LF_PAGENUM = 1 << 5, /* only 1-4 digits: a page number unless a clause */
    LF_CODE = 1 << 6,    /* looks like a standard's code on its own */
    LF_ANNEX = 1 << 7,   /* 附录 A / 参考文献: the main text ends here */
    LF_ROMAN = 1 << 8,   /* only Roman numerals */
    LF_HEADLIKE = 1 << 9, /* a numbered heading-like line (in a body: its own line) */
};

struct line {
    const char *t; /* trimmed, markdown '#' and bullet stripped */
    size_t n;
    const char *full; /* trimmed, '#' stripped, bullet kept */
    size_t fulln;
    int lineno;
    int hashes;
    unsigned flags;
    int cand; /* index in candidates, -1 if none */
};

struct cnum {
    int v[MAXLEV];
    int k;
};

struct cand {
    int line;
    struct cnum num;
    int weight;
    char *heading;    /* owned */
    const char *rest; /* untitled clause: text after the number, first body piece */
    size_t restn;
    int body_from;    /* first line of the body (after the heading lines) */
    int score;
    int prev;
};

struct parser {
    struct kb_buf clean;
    struct line *lines;
    int nlines;
    struct cand *cands;
    int ncands, capcands;
    char *code;  /* normalised std code or NULL */
    char *title; /* normalised title or NULL */
    char *title_parts[4];
    int ntitle_parts;
};


enum { FW_NONE, FW_TOC, FW_FRONT, FW_ANNEX };

/* ---- UTF-8 helpers (input is sanitised, so always valid) ---------------- */

/* The code point at s[0..n) (kb_utf8_next) and its length in *adv; 0 with
 * *adv 0 for n 0. */
static inline uint32_t u8get(const char *s, size_t n, size_t *adv)
{
    size_t i = 0;
    if (n == 0) {
        *adv = 0;
        return 0;
    }
    int32_t cp = kb_utf8_next(s, n, &i);
    *adv = i;
    return cp < 0 ? 0xFFFD : (uint32_t)cp; /* cannot happen on sanitised text */
}

/* Last code point of s[0..n) and where it starts. */
static inline uint32_t u8last(const char *s, size_t n, size_t *start)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0)
        i--;
    size_t adv;
    *start = i;
    return n ? u8get(s + i, n - i, &adv) : 0;
}

static inline void u8put(struct kb_buf *b, uint32_t cp)
{
    char t[4];
    kb_buf_add(b, t, kb_utf8_encode((int32_t)cp, t));
}

static inline int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}

/* Full-width punctuation and CJK symbols. */
static inline int is_fwpunct(uint32_t c)
{
    return (c >= 0x3001 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
           (c >= 0xFF5B && c <= 0xFF65) || c == 0x2014 || c == 0x2026 ||
           (c >= 0x2018 && c <= 0x201F);
}

static inline int is_space_cp(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x3000 || c == 0xA0 || (c >= 0x2000 && c <= 0x200B);
}

static inline int is_dash_cp(uint32_t c)
{
    return c == '-' || c == 0x2010 || c == 0x2011 || c == 0x2012 || c == 0x2013 ||
           c == 0x2014 || c == 0x2015 || c == 0xFF0D || c == 0x2212;
}

static inline int has_prefix(const char *s, size_t n, const char *pre)
{
    size_t m = strlen(pre);
    return n >= m && memcmp(s, pre, m) == 0;
}


/* ---- the passes' entry points, by file ---------------------------------- */

void stp_sanitise(const char *in, size_t len, struct kb_buf *out);
void stp_trim(const char **s, size_t *n);
size_t stp_squeeze(const char *s, size_t n, char *out, size_t cap);
int stp_front_word(const char *s, size_t n);
int stp_is_annex_heading(const char *s, size_t n);
int stp_is_roman(const char *s, size_t n);
int stp_all_digits(const char *s, size_t n);
int stp_parse_num(const char *s, size_t n, struct cnum *num, const char **rest, size_t *restn,
                     int *sep);
char *stp_norm_code(const char *s, size_t n);
int stp_is_list_marker(const char *s, size_t n);
void stp_classify(struct parser *P);
void stp_find_code(struct parser *P);
void stp_num_key(const struct cnum *n, char *out, size_t cap);
void stp_mark_toc(struct parser *P);
void stp_add_collapsed(struct kb_buf *b, const char *s, size_t n, int keep_tabs);
int stp_looks_numbered(const struct line *L);
void stp_find_cands(struct parser *P);
int stp_follows(const struct cnum *a, const struct cnum *b);
int stp_best_chain(struct parser *P);

#endif
