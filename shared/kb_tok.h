/* kb_tok: the tokenizer. Turns normalised text (see kb_norm) into index
 * terms; indexing and querying both use it, so they always agree.
 *
 * Shaped like SQLite FTS5's tokenizer: create / free / run, each token handed
 * to a callback as a borrowed (pointer, length) with its position and byte
 * offsets in the input.
 *
 *   - Runs of CJK characters: ICU's dictionary word segmentation ("zh"), with
 *     the domain lexicon (kb_lexicon) laid on top, so 知识库 and 服务台 are
 *     words even where ICU splits them (ICU's own sub-words of two or more
 *     characters are kept beside; its one-character fragments inside a
 *     lexicon word are dropped); and overlapping character bigrams over the
 *     whole run, so words no dictionary knows are still found.
 *   - Latin/digit runs: words as they are (already lower-cased by kb_norm),
 *     plus an English stem with prefix "Z" beside each alphabetic word.
 *   - Codes: letters and digits joined by . - _ / @ (or : between digits)
 *     stay one term: 0x80070005, ora-12154, 8.3.4.1, 192.168.1.10, win10,
 *     tls1.2. Parts joined by - _ / @ (and by '.' unless the code is
 *     numeric, like a version or clause number) are emitted too, at the same
 *     position, when they hold a letter or at least three digits.
 *
 * Positions: one per Latin word or code and one per CJK character; a CJK
 * word or bigram takes the position of its first character. */
#ifndef KB_TOK_H
#define KB_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "kb_lexicon.h"

typedef struct kb_tok kb_tok;

/* Token flags (a token may carry several). */
#define KB_TOKF_WORD   0x01u /* a dictionary, lexicon or Latin word */
#define KB_TOKF_BIGRAM 0x02u /* a CJK character bigram */
#define KB_TOKF_STEM   0x04u /* an English stem, "Z"-prefixed */
#define KB_TOKF_CODE   0x08u /* an error code, version, address, ... whole */
#define KB_TOKF_PART   0x10u /* a part of a code */
#define KB_TOKF_LEX    0x20u /* the word came from the domain lexicon */
#define KB_TOKF_CJK    0x40u /* the token is CJK text */
#define KB_TOKF_RUN    0x80u /* a whole CJK run, unsegmented (KB_TOK_RUNS) */

/* Run modes (as FTS5's document / query flag). */
#define KB_TOK_DOCUMENT 0
#define KB_TOK_QUERY    1
/* CJK runs are not segmented: each is handed whole as one token (flags
 * KB_TOKF_CJK | KB_TOKF_RUN, any length, the position of its first
 * character), Latin runs as in the other modes. For callers that match CJK
 * terms in the text themselves, as snippet highlighting does, without the
 * cost of ICU's dictionary segmentation. */
#define KB_TOK_RUNS     2

/* Terms longer than this many bytes are dropped (Xapian's limit is ~245). */
#define KB_TOK_MAX_TERM 120

struct kb_token {
    const char *term;  /* borrowed: valid only during the callback */
    size_t len;
    uint32_t pos;      /* position, counted from 0 for this run */
    size_t start, end; /* byte offsets of the source text in the input */
    unsigned flags;
};

/* Returns non-zero to stop tokenizing; kb_tok_run then returns that value.
 * Except KB_TOK_NOSTEM, returned for a Latin word: its stem is then neither
 * computed nor handed over, and tokenizing goes on (for any other token it
 * is the same as 0). A caller that knows no stem it wants can start with
 * the word's first byte (an English stem keeps its word's first letter)
 * saves the stemmer. */
typedef int (*kb_tok_cb)(void *ud, const struct kb_token *tok);
#define KB_TOK_NOSTEM 0x5354454d

/* Whether code point c is CJK text (a CJK run's character). */
int kb_tok_is_cjk(int32_t c);

/* Creates a tokenizer over lexicon lx, which must outlive it (lx may be
 * NULL: no domain words). Returns 0 with *out (caller frees with
 * kb_tok_free), or -1 with *out = NULL and a message in err (ICU failed to
 * load its break iterator). One tokenizer per thread. */
int kb_tok_new(const kb_lexicon *lx, kb_tok **out, char *err, size_t errlen);
/* kb_tok_free(NULL) is a no-op. */
void kb_tok_free(kb_tok *t);

/* Tokenizes text[0..len), which must be valid UTF-8 as kb_norm produced it.
 * *npos (if not NULL) receives the number of positions used. Returns 0, a
 * callback's non-zero value, or -1 with a message in err (ICU failure or
 * invalid UTF-8). */
int kb_tok_run(kb_tok *t, int mode, const char *text, size_t len, kb_tok_cb cb, void *ud,
               uint32_t *npos, char *err, size_t errlen);

#endif
