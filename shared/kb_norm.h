/* kb_norm: text normalisation applied identically at index and query time.
 *
 *   1. strict UTF-8 check (invalid bytes and NUL are errors),
 *   2. Unicode NFKC + case folding with utf8proc (full-width Latin and
 *      digits become ASCII, U+3000 becomes a space, default-ignorable
 *      characters such as zero-width spaces are dropped, CR LF becomes LF),
 *   3. Traditional to Simplified Chinese with OpenCC's t2s conversion
 *      (phrase-aware, so 知識庫 → 知识库). Text in which no key of OpenCC's
 *      dictionaries occurs (most Simplified text) skips OpenCC: its
 *      conversion would be the identity, so results are the same.
 *
 * A kb_norm handle is used by one thread at a time; create one per thread. */
#ifndef KB_NORM_H
#define KB_NORM_H

#include <stddef.h>

typedef struct kb_norm kb_norm;

#define KB_NORM_EUTF8  (-1) /* input is not valid UTF-8 */
#define KB_NORM_ENUL   (-2) /* input contains a NUL byte */
#define KB_NORM_EOPENCC (-3) /* OpenCC could not be loaded or failed */
#define KB_NORM_EUTF8PROC (-4) /* utf8proc failed */

/* Creates a normaliser. Returns 0 and *out (caller frees with kb_norm_free),
 * or a negative code with *out = NULL and a message in err. Loads OpenCC's
 * t2s configuration twice (the C API to convert, the C++ API to list its
 * dictionary keys for the skip; if listing fails, nothing is skipped). */
int kb_norm_new(kb_norm **out, char *err, size_t errlen);
/* kb_norm_free(NULL) is a no-op. */
void kb_norm_free(kb_norm *n);

/* Normalises text[0..len). Returns 0 with *out a NUL-terminated heap string
 * (caller frees) and *outlen its length; or a negative code, *out = NULL and
 * a message in err naming the byte offset of bad input. */
int kb_norm_text(kb_norm *n, const char *text, size_t len, char **out, size_t *outlen,
                 char *err, size_t errlen);

/* As kb_norm_text, and also *map (caller frees): map[i] is the byte offset
 * in text of the character that normalised byte i came from, for i in
 * [0, outlen]; map[outlen] == len. Characters are normalised one at a time
 * (exact for all but combining sequences), so highlights found in the
 * normalised text can be placed in the original. */
int kb_norm_text_map(kb_norm *n, const char *text, size_t len, char **out, size_t *outlen,
                     size_t **map, char *err, size_t errlen);

#endif
