/* kb_stem: English stemming (Xapian's Snowball "english" stemmer) for C.
 * No C++ exception leaves this module. One handle per thread. */
#ifndef KB_STEM_H
#define KB_STEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kb_stem kb_stem;

/* Returns a new English stemmer (caller frees with kb_stem_free), or NULL
 * if Xapian cannot create one. */
kb_stem *kb_stem_new(void);
/* kb_stem_free(NULL) is a no-op. */
void kb_stem_free(kb_stem *s);

/* Stems word[0..len) into out (capacity cap, NUL-terminated). Returns the
 * stem's length, or -1 if it does not fit or stemming failed (out is then
 * empty). */
int kb_stem_word(kb_stem *s, const char *word, size_t len, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
