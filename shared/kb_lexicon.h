/* kb_lexicon: a set of Chinese domain words, matched on top of ICU's
 * dictionary segmentation so that service-management compounds (知识库,
 * 服务台, 配置管理数据库) index and query as whole words. The built-in list
 * is in kb_lexicon_words.h; more can be loaded from a file of one word per
 * line. Immutable after loading: one lexicon may be shared by threads. */
#ifndef KB_LEXICON_H
#define KB_LEXICON_H

#include <stddef.h>
#include <stdint.h>

typedef struct kb_lexicon kb_lexicon;

/* Returns a lexicon holding the built-in words (caller frees with
 * kb_lexicon_free). Never NULL. */
kb_lexicon *kb_lexicon_new_builtin(void);
/* kb_lexicon_free(NULL) is a no-op. */
void kb_lexicon_free(kb_lexicon *lx);

/* Adds word[0..len) (UTF-8, already normalised). Words of fewer than two
 * characters are ignored. Returns 1 if added, 0 if present or ignored. */
int kb_lexicon_add(kb_lexicon *lx, const char *word, size_t len);

/* Adds every non-empty, non-# line of a UTF-8 file. Returns the number of
 * words added, or -1 with a message in err (invalid UTF-8 names its line;
 * nothing is added then). */
int kb_lexicon_load(kb_lexicon *lx, const char *path, char *err, size_t errlen);

/* Does the set hold word[0..len)? */
int kb_lexicon_has(const kb_lexicon *lx, const char *word, size_t len);

/* The longest word in characters (code points). */
size_t kb_lexicon_maxchars(const kb_lexicon *lx);
/* An upper bound on the length in characters of the words that start with
 * the two characters pair[0..len): 0 when certainly none does (then
 * kb_lexicon_has is false for every text starting with them), else at
 * least the longest such word's length. A filter for the tokenizer, which
 * would otherwise look up every length at every character. */
size_t kb_lexicon_pairmax(const kb_lexicon *lx, const char *pair, size_t len);
size_t kb_lexicon_size(const kb_lexicon *lx);
/* Iteration over the words: start with *it = 0; returns 1 with *word set
 * (owned by the lexicon, NUL-terminated), or 0 at the end. */
int kb_lexicon_next(const kb_lexicon *lx, size_t *it, const char **word);

/* A hash of the built-in word list: part of the index schema id, since the
 * lexicon decides how text is tokenized. */
uint64_t kb_lexicon_builtin_hash(void);

#endif
