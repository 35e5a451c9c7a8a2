/* kb_analyzer: the one text pipeline, normalise (kb_norm) then tokenize
 * (kb_tok), used for documents and queries alike. One analyzer per thread;
 * the lexicon may be shared and must outlive the analyzer. */
#ifndef KB_ANALYZER_H
#define KB_ANALYZER_H

#include "kb_lexicon.h"
#include "kb_tok.h"

typedef struct kb_analyzer kb_analyzer;

#define KB_AN_EINPUT (-1) /* text is not valid UTF-8 or holds NUL */
#define KB_AN_EINTERNAL (-2) /* ICU, OpenCC or utf8proc failed */

/* Returns 0 with *out (caller frees with kb_analyzer_free), or
 * KB_AN_EINTERNAL with *out = NULL and a message in err. */
int kb_analyzer_new(const kb_lexicon *lx, kb_analyzer **out, char *err, size_t errlen);
void kb_analyzer_free(kb_analyzer *an);

/* Normalises text[0..len) and tokenizes it, handing each token to cb. Token
 * offsets refer to the normalised text, which stays valid until the next
 * call on this analyzer (kb_analyzer_text returns it). *npos (may be NULL)
 * receives the positions used. Returns 0, a callback's non-zero value, or
 * KB_AN_EINPUT / KB_AN_EINTERNAL with a message in err. */
int kb_analyze(kb_analyzer *an, int mode, const char *text, size_t len, kb_tok_cb cb, void *ud,
               uint32_t *npos, char *err, size_t errlen);

/* The normalised text of the last kb_analyze call (borrowed), and its
 * length. */
const char *kb_analyzer_text(const kb_analyzer *an, size_t *len);

/* Tokenizes text that is already normalised (as kb_analyzer_normalize or
 * kb_norm_text_map produce it), without normalising it again. Returns as
 * kb_analyze. */
int kb_analyzer_tokenize(kb_analyzer *an, int mode, const char *norm, size_t len, kb_tok_cb cb,
                         void *ud, uint32_t *npos, char *err, size_t errlen);

/* As kb_norm_text_map, with this analyzer's normaliser. */
int kb_analyzer_normalize_map(kb_analyzer *an, const char *text, size_t len, char **out,
                              size_t *outlen, size_t **map, char *err, size_t errlen);

/* Normalises only. Returns 0 with *out (caller frees), or an error code as
 * kb_analyze. */
int kb_analyzer_normalize(kb_analyzer *an, const char *text, size_t len, char **out,
                          size_t *outlen, char *err, size_t errlen);

#endif
