/* kb_utf8: strict UTF-8 validation and decoding. Overlong forms, surrogates,
 * code points above U+10FFFF and truncated sequences are errors; nothing is
 * replaced or skipped silently. */
#ifndef KB_UTF8_H
#define KB_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define KB_UTF8_EINVAL (-1) /* an invalid or truncated sequence */
#define KB_UTF8_ENUL   (-2) /* a NUL byte, where the caller forbids it */

/* Checks s[0..len). With allow_nul == 0 a NUL byte is an error too.
 * Returns 0, KB_UTF8_EINVAL or KB_UTF8_ENUL; on error *bad (if not NULL) is
 * the byte offset of the offending sequence. */
int kb_utf8_check(const char *s, size_t len, int allow_nul, size_t *bad);

/* Decodes the code point at s[*i] (i < len), advances *i past it and returns
 * it, or returns -1 (and advances *i by one byte) on an invalid sequence. */
int32_t kb_utf8_next(const char *s, size_t len, size_t *i);

/* Encodes cp into out (at least 4 bytes); returns the byte count, or 0 for a
 * value that is not a Unicode scalar. */
size_t kb_utf8_encode(int32_t cp, char *out);

/* Describes an error code ("invalid UTF-8", ...). */
const char *kb_utf8_strerror(int rc);

#endif
