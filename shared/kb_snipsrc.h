/* kb_snipsrc: the stored snippet source of a document's text fields, written
 * by the indexer beside the document so that a search builds a hit's
 * snippet without normalising or tokenizing its text again, and without
 * reading the tokens that match no query term.
 *
 * A snippet is taken from the first chunk of a field (about
 * KB_SNIPSRC_CHUNK bytes, ending at a line end when one is near, see
 * kb_snipsrc_chunk_end) that holds a query term. For that first chunk the
 * record keeps an index of the tokens kb_analyzer_tokenize (KB_TOK_RUNS)
 * hands over for its normalised text, with their offsets already mapped
 * back to the original text (what the snippet code would compute through
 * kb_analyzer_normalize_map): the places of each distinct term, and of each
 * character of the CJK runs; and the original text up to KB_SNIPSRC_TAIL
 * bytes past the chunk (the whole field when it is not longer), which the
 * snippet is cut from and which holds the terms that are the same bytes as
 * the text. A CJK run must be its original bytes, one for one (the snippet
 * code finds terms in it by offset); a field where one is not (a
 * traditional character, a compatibility ideograph) is marked not
 * analysed. A search needs the whole field only then, when the first chunk
 * holds no query term and the field goes on, or when a snippet reaches
 * past the kept text.
 *
 * A snippet source is a series of records, one per non-empty field:
 *   varint field (KB_SNIPSRC_*), varint flags (1: analysed), varint flen
 *   (the field's length), varint chunk (end of the first chunk), varint
 *   rawlen + the original text, varint idxlen + the index.
 * The index (numbers little-endian; a field whose counts or lists do not
 * fit in 16 bits is marked not analysed):
 *   u16 nterms, u16 nchars, u16 nruns;
 *   nterms x {u16 hash, u16 at}: the distinct terms of the tokens that are
 *     not CJK runs (every stem too), by hash (the low 16 bits of kb_hash64
 *     of the term), ascending; terms of the same hash are told apart by
 *     their bytes;
 *   nchars x {u16 hash, u16 at}: the distinct characters of the CJK runs,
 *     by hash (the low 16 bits of kb_hash64 of the character's bytes),
 *     ascending;
 *   nruns x {u16 start, u16 len}: the CJK runs, by start;
 *   then the lists that `at` counts from (bytes after the runs):
 *     a term's: varint tl (0: the term is the text at its first place, else
 *     its length + 1 and its bytes), varint count, and count places in the
 *     tokens' order, each varint zigzag (start - the previous start, the
 *     first from 0) and varint (end - start);
 *     a character's: varint count and count varint (start - the previous
 *     start, the first from 0), ascending. */
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
    const unsigned char *idx;     /* the index, encoded */
    size_t idxlen;
};

/* Finds field's record in src[0, len). Returns 1 with *f filled (pointers
 * into src), 0 when the field has no record (it was NULL, empty or not
 * valid UTF-8), or KB_SNIPSRC_EDAMAGED when src is not a snippet source. */
int kb_snipsrc_find(const char *src, size_t len, int field, struct kb_snipsrc_field *f);

/* A field's index, its tables checked against the record once (see
 * kb_snipsrc_index); borrows the record's bytes. */
struct kb_snipsrc_index {
    const struct kb_snipsrc_field *f;
    size_t nterms, nchars, nruns;
    const unsigned char *terms, *chars, *runs, *data, *end;
};

/* Opens f's index (f analysed). Returns 0, or KB_SNIPSRC_EDAMAGED when its
 * tables do not fit the record. x borrows f, which must outlive it. */
int kb_snipsrc_index(const struct kb_snipsrc_field *f, struct kb_snipsrc_index *x);

/* Receives a place [start, end) of the original text. */
typedef void (*kb_snipsrc_emit)(void *ud, size_t start, size_t end);

/* Every place in the field's first chunk where kb_analyzer_tokenize
 * (KB_TOK_RUNS, every stem asked for) makes a token that is not a CJK run
 * and whose term is term[0, len) (hash: kb_hash64 of it), to emit, in the
 * tokens' order. Returns 0, or KB_SNIPSRC_EDAMAGED (places up to the
 * damage emitted). */
int kb_snipsrc_term(const struct kb_snipsrc_index *x, const char *term, size_t len,
                    uint64_t hash, kb_snipsrc_emit emit, void *ud);

/* Every place where term[0, len) (len > 0, valid UTF-8) stands inside one
 * of the field's CJK runs, starting at a character, to emit, ascending.
 * Same returns. */
int kb_snipsrc_cjk(const struct kb_snipsrc_index *x, const char *term, size_t len,
                   kb_snipsrc_emit emit, void *ud);

#endif
