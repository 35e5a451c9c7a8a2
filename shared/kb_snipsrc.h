/* kb_snipsrc: the stored snippet source of a document's text fields, written
 * by the indexer beside the document so that a search builds a hit's
 * snippet without normalising or tokenizing its text again.
 *
 * A snippet is taken from the first chunk of a field (about
 * KB_SNIPSRC_CHUNK bytes, ending at a line end when one is near, see
 * kb_snipsrc_chunk_end) that holds a query term. For that first chunk the
 * record keeps every token kb_analyzer_tokenize (KB_TOK_RUNS) hands over
 * for its normalised text, in order, with the token's offsets already
 * mapped back to the original text (what the snippet code would compute
 * through kb_analyzer_normalize_map); and the original text up to
 * KB_SNIPSRC_TAIL bytes past the chunk (the whole field when it is not
 * longer), which the snippet is cut from and which holds the terms that are
 * the same bytes as the text. A CJK run must be its original bytes, one
 * for one (the snippet code finds terms in it by offset); a field where one
 * is not (a traditional character, a compatibility ideograph) is marked
 * not analysed. A search needs the whole field only then, when the first
 * chunk holds no query term and the field goes on, or when a snippet
 * reaches past the kept text.
 *
 * A snippet source is a series of records, one per non-empty field:
 *   varint field (KB_SNIPSRC_*), varint flags (1: analysed), varint flen
 *   (the field's length), varint chunk (end of the first chunk), varint
 *   rawlen + the original text, varint toklen + tokens.
 * tokens: a byte of flags (KB_TOKF_*), varint zigzag (start - previous
 * start), varint (end - start), varint tl: 0 when the term is the text's
 * [start, end), else its length + 1 followed by its bytes (lower-cased
 * words); or, for the "Z" stem of the token before (same offsets), a 0 byte
 * and varint code: 2n for "Z" + that token's first n bytes, 2n + 1 for "Z"
 * + the n bytes that follow. */
#ifndef KB_SNIPSRC_H
#define KB_SNIPSRC_H

#include <stddef.h>

#include "kb_analyzer.h"
#include "kb_util.h"

#define KB_SNIPSRC_CHUNK 4096 /* bytes analysed at a time */
#define KB_SNIPSRC_TAIL 1024  /* original text kept past the first chunk */

/* the text fields a snippet may come from */
enum {
    KB_SNIPSRC_BODY = 0,
    KB_SNIPSRC_SYMPTOM = 1,
    KB_SNIPSRC_WORKAROUND = 2,
    KB_SNIPSRC_CAUSE = 3,
    KB_SNIPSRC_RESOLUTION = 4,
    KB_SNIPSRC_NFIELDS = 5,
};

#define KB_SNIPSRC_EDAMAGED (-1)

/* Where the chunk of text[0, len) that starts at off ends: len when at most
 * KB_SNIPSRC_CHUNK bytes are left, else just after the last line end in
 * the chunk's last eighth, else at the start of the character at
 * off + KB_SNIPSRC_CHUNK. Never fails. */
size_t kb_snipsrc_chunk_end(const char *text, size_t len, size_t off);

/* Appends the record of field (KB_SNIPSRC_*) for text[0, len) (len > 0) to
 * b, analysed with an. Returns 1 when the record keeps the whole text, else
 * 0. Never fails: text the analyzer refuses gives a record marked not
 * analysed, which makes a search read the whole field. */
int kb_snipsrc_add(kb_analyzer *an, int field, const char *text, size_t len, struct kb_buf *b);

/* One record, borrowing the bytes it was read from. */
struct kb_snipsrc_field {
    int field;
    int analysed;                 /* 0: use the whole field instead */
    size_t flen;                  /* the field's length */
    size_t chunk;                 /* end of the first chunk (<= rawlen) */
    const char *raw;              /* the field's first rawlen bytes */
    size_t rawlen;                /* == flen when the whole field is kept */
    const unsigned char *tok;     /* the tokens, encoded */
    size_t toklen;
};

/* Finds field's record in src[0, len). Returns 1 with *f filled (pointers
 * into src), 0 when the field has no record (it was NULL, empty or not
 * valid UTF-8), or KB_SNIPSRC_EDAMAGED when src is not a snippet source. */
int kb_snipsrc_find(const char *src, size_t len, int field, struct kb_snipsrc_field *f);

/* Hands f's tokens to cb in their order, as kb_analyzer_tokenize did over
 * the normalised chunk, but with offsets in the original text: a stem right after a word for which
 * cb returned KB_TOK_NOSTEM is skipped, as the tokenizer skips it. Returns
 * 0, cb's other non-zero value, or KB_SNIPSRC_EDAMAGED (tokens up to the
 * damage have been handed over). */
int kb_snipsrc_tokens(const struct kb_snipsrc_field *f, kb_tok_cb cb, void *ud);

#endif
