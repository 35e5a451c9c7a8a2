/* termgen: turns a kb_doc into a Xapian document following kb_schema.h:
 * positional free-text terms from the shared analyzer, boolean filter terms,
 * value slots and the JSON document data; and the words worth adding to the
 * spelling table. */
#ifndef TERMGEN_H
#define TERMGEN_H

#include "kb_analyzer.h"
#include "kb_doc.h"
#include "kb_xapian.h"

/* Words for the spelling table: each distinct one once per document. */
struct termgen_words {
    char **v;          /* owned strings, in the order first seen */
    size_t n, cap;
    size_t *slot;      /* owned: open-addressing index of v (i + 1; 0 empty) */
    size_t nslot;      /* a power of two, at least twice n */
};
void termgen_words_fin(struct termgen_words *w);

/* Does a stored term qualify for the spelling table? Used both when adding
 * a document and, from its stored term list, when removing it. */
int termgen_spelling_term(const char *term, size_t len);

/* Fills a new kbx_doc for doc (*out, caller frees with kbx_doc_free) and,
 * if words is not NULL, appends its spelling words. Returns 0, or -1 with a
 * message in err (text that is not valid UTF-8, a Xapian error). */
int termgen_doc(kb_analyzer *an, const struct kb_doc *doc, kbx_doc **out,
                struct termgen_words *words, char *err, size_t errlen);

/* "8.3.4.1" -> "008003004001"; non-numeric parts are kept as they are.
 * Writes into out (cap bytes, NUL-terminated). */
void termgen_clause_key(const char *clause, char *out, size_t cap);

#endif
