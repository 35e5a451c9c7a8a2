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
 * it, or returns -1 (and advances *i by one byte) on an invalid sequence.
 * Inline for ASCII and for three-byte sequences led by E1..EC or EE..EF
 * (no overlong form or surrogate can start with those), which covers the
 * CJK ideographs; everything else goes to kb_utf8_next_slow. */
int32_t kb_utf8_next_slow(const char *s, size_t len, size_t *i);

static inline int32_t kb_utf8_next(const char *str, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str + *i;
    unsigned c = s[0];
    if (c < 0x80) {
        *i += 1;
        return (int32_t)c;
    }
    if (c >= 0xE1 && c <= 0xEF && c != 0xED && len - *i >= 3 && (s[1] & 0xC0) == 0x80 &&
        (s[2] & 0xC0) == 0x80) {
        *i += 3;
        return (int32_t)(((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu));
    }
    return kb_utf8_next_slow(str, len, i);
}

/* The length of the sequence lead byte c starts (1 for ASCII and for a
 * byte that starts none: for callers that compare bytes of text known to
 * be valid, without decoding it). */
static inline size_t kb_utf8_seqlen(unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Encodes cp into out (at least 4 bytes); returns the byte count, or 0 for a
 * value that is not a Unicode scalar. */
size_t kb_utf8_encode(int32_t cp, char *out);

/* The number of code points in s[0..len) (UTF-8 known to be valid): the
 * bytes that are not continuation bytes. */
size_t kb_utf8_count(const char *s, size_t len);

/* Describes an error code ("invalid UTF-8", ...). */
const char *kb_utf8_strerror(int rc);

#endif
